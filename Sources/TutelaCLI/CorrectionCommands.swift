import ArgumentParser
import Foundation
import Tutela

extension RecordsCommand {
    struct AddendumCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "addendum",
            abstract: "Add a dated, signed addendum to a record you wrote; prints its record id.",
            discussion: """
                The record itself is never changed: the addendum is a record of its own, for the \
                same learner, of the same class and copies (so the same people read it), and \
                opening the record lists it. Only the record's author adds to it. Write the text \
                with --text, or put it in a file (--file); at most 5,000 characters.
                """)

        @Argument(help: "The record to add to.") var record: String
        @Option(help: "What you add or correct.") var text: String?
        @Option(help: "A file holding the text (UTF-8).") var file: String?
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let record = try RecordID(self.record)
            let body: String
            switch (text, file) {
            case (let text?, nil): body = text
            case (nil, let file?):
                guard let read = String(validating: try readFormFile(file), as: UTF8.self) else {
                    throw TutelaError(.invalidInput, "\(file) is not UTF-8 text")
                }
                body = read
            default:
                throw TutelaError(
                    .usage, "give the addendum's text with --text TEXT or --file FILE, not both"
                )
            }
            let session = try await actor.unlock(try await vault.open())
            let label = try await session.corrections.addendum(to: record, text: body)
            if output.json {
                try Terminal.json(LabelJSON(label))
            } else {
                Terminal.out(label.record.text)
                Terminal.note(
                    "Sealed \(label.record), an addendum to \(record); opening \(record) lists it.")
            }
        }
    }

    struct VoidCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "void",
            abstract: "Mark a record sealed by mistake as void (its author, or a head of centre).",
            discussion: """
                Nothing is deleted: the record is kept, and read by the same staff, until its \
                retention ends, and shown as void everywhere. As it may be about another \
                learner, a learner or family is never shown it (nor an addendum to it). The \
                reason is shown to staff who may open the record. A void cannot be undone.
                """)

        @Argument(help: "The record id.") var record: String
        @OptionGroup var reason: ReasonOption
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let record = try RecordID(self.record)
            let why = try reason.required(for: "void a record")
            let session = try await actor.unlock(try await vault.open())
            let statement = try await session.corrections.void(record, reason: why)
            try output.done(
                "Marked \(record) void. It is kept until its retention ends, and shown as void.",
                [
                    "record": "\(record)", "void": true, "by": "\(statement.voidedBy)",
                    "time": "\(Timestamp.iso(statement.time))",
                ])
        }
    }
}
