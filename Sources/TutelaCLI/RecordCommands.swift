// Over 400 lines: the record commands (tutorial, note, records, import) share their JSON shapes
// and the progress line, and read best together.
import ArgumentParser
import Foundation
import Tutela

/// Reads a form file, refusing one too large to be a form before reading it.
func readFormFile(_ path: String) throws -> [UInt8] {
    let url = URL(fileURLWithPath: path)
    guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path) else {
        throw TutelaError(.notFound, "cannot read the form file \(path)")
    }
    if let size = attributes[.size] as? Int, size > 1 << 20 {
        throw TutelaError(
            .invalidInput, "\(path) is \(size) bytes; a form is never larger than 1 MiB")
    }
    guard let data = FileManager.default.contents(atPath: url.path) else {
        throw TutelaError(.notFound, "cannot read the form file \(path)")
    }
    return [UInt8](data)
}

struct TutorialCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tutorial", abstract: "Write, seal and open tutorials.",
        subcommands: [New.self, Seal.self, Open.self])

    struct Seal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Seal a progress-review form (JSON or YAML); prints the new record id.",
            discussion: """
                'tutela tutorial new' writes the form as a template to fill in. Its fields, one \
                per box of the paper form (docs/FORM.md); only learner, date and course are \
                required, and a box left empty is not filled in:

                """ + FormTemplate.helpText(FormTemplate.progressReview))

        @Argument(help: "The form file.") var form: String
        @OptionGroup var confidentiality: ConfidentialOption
        @Option(help: "The planned tutorial this record is for (tutela plan list): marked held.")
        var plan: String?
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            // The form is checked before any passphrase is asked for: a bad form stores nothing.
            let review = try ProgressReview.parse(readFormFile(form), source: form)
            let plan = try self.plan.map { try PlanID($0) }
            let session = try await actor.unlock(try await vault.open())
            if let plan {
                try await session.planning.checkHeld(
                    plan, learner: review.learner, day: review.date)
            }
            let label = try await session.seal(review, confidential: confidentiality.confidential)
            try output.show(sealed: label)
            // The record is sealed whatever follows: a plan step that fails says so, as a note
            // (an error would invite sealing it again); only damage is an error.
            let followUp: SealFollowUp
            do {
                followUp = try await session.planning.afterSeal(
                    label, plan: plan, nextTutorial: review.nextTutorial)
            } catch let error as TutelaError where error.kind != .tampered {
                return Terminal.note(
                    "\(label.record) is sealed, but it was not marked as the planned tutorial: "
                        + error.message)
            }
            guard !output.json else { return }
            if let held = followUp.held { Terminal.note("\(held.id) is held: \(label.record).") }
            if let problem = followUp.nextProblem {
                Terminal.note("The next tutorial was not planned: \(problem)")
            }
            if let next = followUp.next {
                Terminal.note(
                    "Planned the next tutorial, \(next.plan.id), for \(next.plan.day) (time and "
                        + "place to agree: tutela plan change \(next.plan.id) --at HH:MM --place …)."
                )
            }
        }
    }

    struct Open: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open a record you are allowed to read; prints the form.")

        @Argument(help: "The record id.") var record: String
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let record = try RecordID(self.record)
            let session = try await actor.unlock(try await vault.open())
            let opened = try await session.open(record)
            try output.show(opened, session: session)
            try await session.settle()
        }
    }
}

struct NoteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "note", abstract: "Record informal support conversations as a minimum entry.",
        subcommands: [New.self, Seal.self])

    struct Seal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Seal an informal note (JSON or YAML: learner, date, summary, …); prints the record id.",
            discussion: "Its fields ('tutela note new' writes a template):\n\n"
                + FormTemplate.helpText(FormTemplate.informalNote))

        @Argument(help: "The note file.") var note: String
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let parsed = try InformalNote.parse(readFormFile(note), source: note)
            let session = try await actor.unlock(try await vault.open())
            let label = try await session.seal(.informalNote(parsed), as: .informalNote)
            try output.show(sealed: label)
        }
    }
}

struct RecordsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "records",
        abstract: "List records by their labels; copies for learners and parents.",
        subcommands: [
            List.self, Export.self, AddendumCommand.self, VoidCommand.self, DestroyCommand.self,
            Certificate.self,
        ])

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A copy of a learner's records for the learner or their parents or carers.",
            discussion: """
                The copy holds only what the policy lets its recipient read, whoever makes it, and \
                never a flagged record; it carries no trace that anything was left out. Staff who \
                make a copy are told on the error stream (never in the copy) what was left out and \
                why; the audit log records it. A learner or parent makes copies for themselves.
                """)

        @Option(help: "The learner whose records to export.") var learner: String
        @Option(
            name: .customLong("for"),
            help: "Who the copy is for: learner or parents-carers (staff must say).")
        var recipient: String?
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let learner = try LearnerID(self.learner)
            let recipient = try self.recipient.map { text throws(TutelaError) in
                guard let r = CopyRecipient(rawValue: text) else {
                    throw TutelaError(
                        .usage, "--for must be learner or parents-carers, not '\(text)'")
                }
                return r
            }
            let session = try await actor.unlock(try await vault.open())
            let copy = try await session.export(learner: learner, for: recipient)
            // The copy is complete only once this machine's pin has caught up with its entries.
            try await session.settle()
            // Told to the member of staff who made the copy, on the error stream: never in the copy.
            if !copy.leftOut.isEmpty {
                Terminal.note(
                    "Left out of this copy for \(copy.recipient.rawValue) (not mentioned in it):")
                for (record, reason) in copy.leftOut { Terminal.note("  \(record): \(reason)") }
            }
            if output.json {
                try Terminal.json(
                    CopyJSON(learner: learner, copy))
                return
            }
            for record in copy.records {
                Terminal.out(FormText.render(record))
                Terminal.out("")
            }
            Terminal.out("\(copy.records.count) records for \(learner).")
        }
    }
}

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Seal many forms from a JSON-lines file with one unlock.",
        discussion: """
            Every line is checked first; if any is wrong nothing is stored and the error names \
            the line. Then the forms are sealed in batches of \(ImportCommand.batchSize), each one transaction. \
            A form you imported into this vault before (the same content) is recognised and \
            skipped, so an import can be run again safely; the summary lists what was skipped.
            """)

    static let batchSize = 500

    @Argument(help: "A file with one form (a JSON object) per line.") var file: String
    @Flag(help: "Seal every form as a confidential tutorial.") var confidential = false
    @Option(help: "Forms per transaction.") var batchSize: Int = ImportCommand.batchSize
    @OptionGroup var actor: ActorOptions
    @OptionGroup var vault: VaultOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard (1...10_000).contains(batchSize) else {
            throw ValidationError("--batch-size must be 1–10000")
        }
    }

    func run() async throws {
        // Pass 1: check every line, keeping nothing but the count. A bad line stores nothing.
        if Terminal.stderrIsTerminal, !output.json { Terminal.note("Checking \(file)…") }
        let total = try FormImport.check(file)
        // Pass 2: one unlock, then batches, each one transaction with its audit entries.
        let session = try await actor.unlock(try await vault.open())
        let progress = Progress(total: total, enabled: Terminal.stderrIsTerminal && !output.json)
        progress.update(0)
        var labels: [Label] = []
        var skipped: [SkippedForm] = []
        let sealed = try await session.importForms(
            file, confidential: confidential, batchSize: batchSize,
            onBatch: { batch in
                // Only JSON output lists the records; otherwise nothing is kept per record.
                if output.json { labels += batch }
                progress.update(progress.done + batch.count)
            },
            onSkip: { form in
                skipped.append(form)
                progress.update(progress.done + 1)
            })
        progress.finish()
        skipped.sort { $0.line < $1.line }
        if output.json {
            try Terminal.json(
                ImportJSON(
                    records: labels.map(LabelJSON.init),
                    skipped: skipped.map {
                        SkippedJSON(line: $0.line, record: $0.record.text, destroyed: $0.destroyed)
                    }))
            return
        }
        Terminal.out("Sealed \(sealed) records from \(file).")
        guard !skipped.isEmpty else { return }
        Terminal.out(
            "\(skipped.count) \(skipped.count == 1 ? "form was" : "forms were") sealed before and "
                + "skipped: "
                + skipped.prefix(10).map { "line \($0.line) (\($0.record))" }.joined(
                    separator: ", ")
                + (skipped.count > 10 ? ", …" : "") + ".")
    }

    struct ImportJSON: Encodable {
        let records: [LabelJSON]
        let skipped: [SkippedJSON]
    }

    struct SkippedJSON: Encodable {
        let line: Int
        let record: String
        let destroyed: Bool
    }
}

/// A one-line progress display on a terminal: count, rate and time left.
final class Progress: @unchecked Sendable {
    let total: Int
    let enabled: Bool
    let started = Date()
    private(set) var done = 0

    init(total: Int, enabled: Bool) {
        self.total = total
        self.enabled = enabled
    }

    func update(_ done: Int) {
        self.done = done
        guard enabled else { return }
        let elapsed = max(Date().timeIntervalSince(started), 0.001)
        let rate = Double(done) / elapsed
        let left = rate > 0 ? Double(total - done) / rate : 0
        let text =
            done == 0
            ? "\rsealing \(total) forms…   "
            : String(format: "\rforms %d/%d  %.0f/s  %.0fs left   ", done, total, rate, left)
        FileHandle.standardError.write(Data(text.utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }
}

/// Plain-text tables for people.
enum Table {
    /// Columns padded to their widest cell; every cell is made printable first.
    static func render(header: [String], rows: [[String]]) -> String {
        let header = header.map(Terminal.printable)
        let rows = rows.map { $0.map(Terminal.printable) }
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                i == cells.count - 1
                    ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }.joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}

/// The form as a person reads it, box by box.
enum FormText {
    /// - Parameter time: how a time is shown (the session's, in the centre's time zone).
    static func render(
        _ opened: OpenedRecord, time: (Int64) -> String = { Timestamp.iso($0) }
    ) -> String {
        let l = opened.label
        var lines = [
            Terminal.printable("\(l.envelopeText)  (\(l.record))"),
            Terminal.printable(
                "Learner \(l.learner) · written by \(l.author) · sealed \(l.created) · policy v\(l.policyVersion)"
                    + (opened.resealedBy.map { " · re-sealed under fresh keys by \($0)" } ?? "")
            ),
            "",
        ]
        func add(_ name: String, _ value: String?) {
            guard let value, !value.isEmpty else { return }
            let padded = name + String(repeating: " ", count: max(0, 24 - name.count))
            let rest = value.split(separator: "\n", omittingEmptySubsequences: false).map {
                Terminal.printable(String($0))
            }
            lines.append(padded + (rest.first ?? ""))
            for more in rest.dropFirst() { lines.append(String(repeating: " ", count: 24) + more) }
        }
        func yesNo(_ b: Bool?) -> String? { b.map { $0 ? "yes" : "no" } }
        if let void = opened.void {
            lines.insert(
                Terminal.printable(
                    "VOID — sealed by mistake: voided \(time(void.time)) by \(void.voidedBy): \(void.reason)"
                ),
                at: 0)
        }
        switch opened.content {
        case .addendum(let a):
            add("Addendum to:", l.amends?.text)
            add("Written:", a.date.description)
            add("Text:", a.text)
        case .informalNote(let n):
            add("Date:", n.date.description)
            add("Summary:", n.summary)
            add("Follow-up:", n.followUp)
            add("Recorded on the ILR:", yesNo(n.recordedOnILR))
            add("Copies to:", n.copiesTo?.map(\.rawValue).joined(separator: ", "))
        case .progressReview(let f):
            add("Date:", f.date.description)
            add("Course / subject:", f.course)
            add("School:", f.school)
            add("Form tutor:", f.formTutor)
            add("Year of course:", f.yearOfCourse.map(String.init))
            add(
                "Attendance:", f.attendance.map { "\($0.lessons) lessons, \($0.absences) absences" }
            )
            add("Punctuality:", f.punctuality?.rawValue)
            add("Working towards:", f.workingTowards)
            add("On target:", yesNo(f.onTarget))
            add("Comments:", f.comments)
            add("Learner comments:", f.learnerComments)
            add("Tutor comments:", f.tutorComments)
            add("Previous targets met:", yesNo(f.previousTargetsMet))
            add("If not, why not:", f.previousTargetsNote)
            for t in f.targets ?? [] {
                add("Target:", t.target + (t.byWhen.map { " (by \($0))" } ?? ""))
            }
            for a in f.agreedActions ?? [] { add("Agreed action:", a) }
            add("Next tutorial:", f.nextTutorial?.description)
            add("Copies to:", f.copiesTo?.map(\.rawValue).joined(separator: ", "))
            add("Signed (learner):", f.signedByLearner?.description)
            add("Signed (tutor):", f.signedByTutor?.description)
        }
        for addendum in opened.addenda {
            add(
                "Addendum:",
                "\(addendum.record), written \(addendum.tutorialDate) (open it to read it)")
        }
        return lines.joined(separator: "\n")
    }
}
