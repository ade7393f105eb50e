import ArgumentParser
import Foundation
import Tutela

/// A change that would leave records with no reader goes ahead only when confirmed: with
/// `--confirm`, or by answering yes on a terminal after being shown which records and why.
enum Confirmation {
    static func run<T>(_ confirmed: Bool, _ body: (Bool) async throws -> T) async throws -> T {
        do {
            return try await body(confirmed)
        } catch let error as TutelaError
            where !confirmed && error.needsConfirmation
        {
            guard isatty(STDIN_FILENO) == 1, Terminal.stderrIsTerminal else { throw error }
            Terminal.note(Terminal.printable(error.message))
            FileHandle.standardError.write(Data("Go ahead anyway? [y/N] ".utf8))
            guard let answer = readLine(), ["y", "yes"].contains(answer.lowercased()) else {
                throw TutelaError(.usage, "nothing was changed")
            }
            return try await body(true)
        }
    }
}

extension LearnerCommand {
    struct Reassign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move learners to another tutor: named ones, or a whole caseload (--from).",
            discussion: """
                Each move is a signed statement. The new tutor is granted what the policy gives an \
                assigned tutor at the next command of someone who can open each record (the \
                author, or the learner); until then 'tutela policy regrant --pending' lists them. \
                A move that would leave a record with no reader is shown first and needs --confirm.
                """)

        @Argument(help: "The learners to move (or use --from).") var learners: [String] = []
        @Option(help: "Move every learner whose tutor this is (a leaver's tutees).") var from:
            String?
        @Option(help: "The new tutor.") var tutor: String
        @Flag(help: "Go ahead even if some records would be left with no reader.")
        var confirm = false
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard learners.isEmpty != (from == nil) else {
                throw ValidationError("name the learners, or give --from TUTOR (not both)")
            }
        }

        func run() async throws {
            let tutor = try PrincipalID(self.tutor)
            let named = try learners.map { try LearnerID($0) }
            let from = try self.from.map { try PrincipalID($0) }
            let session = try await actor.unlock(try await vault.open())
            let learners = from.map { session.administration.caseload(of: $0) } ?? named
            guard !learners.isEmpty else {
                return try output.done(
                    "\(from?.text ?? "No one") has no learners to move.",
                    ReassignedJSON(tutor: tutor, moved: []))
            }
            let moved = try await Confirmation.run(confirm) { confirmed in
                try await session.administration.reassign(learners, to: tutor, confirmed: confirmed)
            }
            guard !moved.isEmpty else {
                return try output.done(
                    "Every learner named is with \(tutor) already.",
                    ReassignedJSON(tutor: tutor, moved: []))
            }
            try output.done(
                "Moved \(moved.map(\.text).joined(separator: ", ")) to \(tutor). Their records are "
                    + "granted to \(tutor) at the next command of someone who can open them (the "
                    + "former tutor, the author, or the learner).",
                ReassignedJSON(tutor: tutor, moved: moved))
        }
    }
}
