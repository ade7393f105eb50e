import ArgumentParser
import Foundation
import Tutela
import TutelaSQLite

struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "What is due, held or under review — from labels alone.",
        subcommands: [Check.self, Hold.self, Release.self, Review.self, Certificates.self])

    struct RowJSON: Encodable {
        let record: String
        let label: String
        let `class`: String
        let learner: String
        let dueOn: String?
        let standing: String
        let flagged: Bool
        let rule: String
        let note: String?

        init(_ s: RetentionStatus) {
            record = s.label.record.text
            label = s.label.envelopeText
            `class` = s.label.recordClass.rawValue
            learner = s.label.learner.text
            dueOn = s.dueOn?.description
            standing = s.standing.rawValue
            flagged = s.flagged
            rule = s.rule
            note = s.note
        }
    }

    struct CheckJSON: Encodable {
        let asOf: String
        let due: [RowJSON]
        let held: [RowJSON]
        let review: [RowJSON]
        let upcoming: [RowJSON]
        let undetermined: [RowJSON]
        let counts: [String: [String: Int]]
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "What is due, held, under review and coming due in the next 90 days, by class.")
        @Option(help: "Evaluate on this date (YYYY-MM-DD) instead of today.") var asOf: String?
        @Option(help: "Also write every record's standing to this CSV file.") var csv: String?
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            guard let csv else { return try await check(writing: nil) }
            // The file is claimed before anything else, and removed if the check fails.
            try await OutputFile.writing(csv) { try await check(writing: $0) }
        }

        /// Streams the check: every status goes to the CSV file as it comes, and only the
        /// standings shown are kept, so a million records never sit in memory at once.
        func check(writing csv: OutputFile?) async throws {
            let session = try await actor.unlock(try vault.open())
            let date =
                try asOf.map { try parseDate($0, option: "--as-of") } ?? session.vault.clock.today
            var listing = RetentionReport.actionable
            if output.json { listing.insert(.undetermined) }
            try csv?.write("record,label,class,learner,standing,due_on,flagged,rule,note\n")
            let report = try await session.retention.report(
                asOf: date, listing: listing, csv.map { csv in { try csv.write(Self.csvLine($0)) } }
            )
            func rows(_ s: RetentionStatus.Standing) -> [RowJSON] {
                report.records(s).map(RowJSON.init)
            }
            let standings = RetentionStatus.Standing.allCases
            let classes = report.classes.sorted { $0.rawValue < $1.rawValue }
            if output.json {
                var counts: [String: [String: Int]] = [:]
                for c in classes {
                    for s in standings where report.count(c, s) > 0 {
                        counts[c.rawValue, default: [:]][s.rawValue] = report.count(c, s)
                    }
                }
                try Terminal.json(
                    CheckJSON(
                        asOf: date.description, due: rows(.due), held: rows(.held),
                        review: rows(.review),
                        upcoming: rows(.upcoming), undetermined: rows(.undetermined), counts: counts
                    ))
                return
            }
            Terminal.out("Retention as of \(date): \(report.total) records")
            Terminal.out(
                Table.render(
                    header: ["CLASS"] + standings.map { $0.rawValue.uppercased() },
                    rows: classes.map { c in
                        [c.rawValue] + standings.map { "\(report.count(c, $0))" }
                    }))
            for (title, standing) in [
                ("Due for destruction", RetentionStatus.Standing.due), ("Due for review", .review),
                ("Held", .held), ("Coming due in 90 days", .upcoming),
            ] {
                let list = rows(standing)
                guard !list.isEmpty else { continue }
                Terminal.out("\n\(title):")
                Terminal.out(
                    Table.render(
                        header: ["RECORD", "LABEL", "LEARNER", "DUE", "NOTE"],
                        rows: list.map {
                            [$0.record, $0.label, $0.learner, $0.dueOn ?? "-", $0.note ?? ""]
                        }))
            }
        }

        /// One status as a CSV line.
        static func csvLine(_ s: RetentionStatus) -> String {
            func field(_ s: String) -> String {
                let needsQuotes = s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" })
                let escaped = s.replacingOccurrences(of: "\"", with: "\"\"")
                // A leading =, +, - or @ would be a formula in a spreadsheet.
                let safe =
                    ["=", "+", "-", "@"].contains(where: escaped.hasPrefix)
                    ? "'" + escaped : escaped
                return needsQuotes ? "\"\(safe)\"" : safe
            }
            return [
                s.label.record.text, s.label.envelopeText, s.label.recordClass.rawValue,
                s.label.learner.text,
                s.standing.rawValue, s.dueOn?.description ?? "", s.flagged ? "yes" : "no",
                s.rule, s.note ?? "",
            ].map(field).joined(separator: ",") + "\n"
        }
    }

    struct Hold: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Place a legal or inquiry hold: nobody can destroy it.")
        @Argument(help: "The record id.") var record: String
        @OptionGroup var reason: ReasonOption
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let record = try RecordID(self.record)
            let why = try reason.required(for: "place a hold")
            let session = try await actor.unlock(try vault.open())
            try await session.retention.setHold(record, active: true, reason: why)
            try output.done(
                "\(record) is held: it cannot be destroyed until the hold is released.",
                ["record": "\(record)", "held": true])
        }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Release a hold.")
        @Argument(help: "The record id.") var record: String
        @Option(help: "Why the hold ends.") var reason: String = "hold released"
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let record = try RecordID(self.record)
            let session = try await actor.unlock(try vault.open())
            try await session.retention.setHold(record, active: false, reason: reason)
            try output.done(
                "Released the hold on \(record).", ["record": "\(record)", "held": false])
        }
    }

    struct Review: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Decide a record whose period ended: --outcome keep --until DATE, or --outcome destroy."
        )
        @Argument(help: "The record id.") var record: String
        @Option(help: "keep or destroy.") var outcome: String
        @Option(help: "With keep: review again on this date.") var until: String?
        @OptionGroup var reason: ReasonOption
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let record = try RecordID(self.record)
            let why = try reason.required(for: "record a retention review")
            var keep: CalendarDate?
            switch outcome {
            case "keep":
                guard let until else {
                    throw TutelaError(.usage, "--outcome keep needs --until DATE")
                }
                keep = try parseDate(until, option: "--until")
            case "destroy":
                guard until == nil else {
                    throw TutelaError(.usage, "--until goes with --outcome keep only")
                }
            default:
                throw TutelaError(.usage, "--outcome must be keep or destroy")
            }
            let session = try await actor.unlock(try vault.open())
            try await session.retention.reviewRetention(record, keepUntil: keep, reason: why)
            var fields: [String: JSONField] = ["record": "\(record)", "outcome": "\(outcome)"]
            if let keep { fields["keepUntil"] = "\(keep)" }
            try output.done(
                keep.map { "\(record) is kept until \($0), then reviewed again." }
                    ?? "\(record) is now due for destruction.", fields)
        }
    }
}

struct DestroyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "destroy",
        abstract:
            "Propose, or agree to, crypto-shredding a record that is due: the first record keeper proposes, a second keeper or a head of centre agrees; prints the certificate."
    )
    @Argument(help: "The record id.") var record: String?
    @Flag(help: "Destroy every record due today, with progress.") var due = false
    @Flag(help: "With --due: list what this run would propose or destroy, and change nothing.")
    var dryRun = false
    @Flag(help: "With --due: go ahead without asking (scripts; check with --dry-run first).")
    var yes = false
    @OptionGroup var actor: ActorOptions
    @OptionGroup var vault: VaultOptions
    @OptionGroup var output: OutputOptions

    struct CertificateJSON: Encodable {
        let record: String
        let labelHash: String
        let ciphertextHash: String
        let rule: String
        let time: String
        let authorisedBy: String
        let proposedBy: String?
        /// The directory position the signature was made under: which key of the authoriser's
        /// must verify it.
        let directoryPosition: Int64
        let signature: String

        init(_ c: DestructionCertificate) {
            record = c.record.text
            labelHash = c.labelHash
            ciphertextHash = c.ciphertextHash
            rule = c.rule
            time = Timestamp.iso(c.time)
            authorisedBy = c.authoriser.text
            proposedBy = c.proposer?.text
            directoryPosition = c.madeUnder
            signature = c.signature.map { String(format: "%02x", $0) }.joined()
        }
    }

    struct ResultJSON: Encodable {
        let record: String
        let certificate: CertificateJSON?
        let proposedBy: String?
        /// Set when this run proposed the destruction and a second person must agree.
        let pending: PendingJSON?
    }

    struct PendingJSON: Encodable {
        let record: String
        let proposedBy: String
    }

    func validate() throws {
        guard (record != nil) != due else {
            throw ValidationError("give a RECORD, or --due for every record due today")
        }
        guard due || (!dryRun && !yes) else {
            throw ValidationError("--dry-run and --yes go with --due")
        }
    }

    /// One due record as `--dry-run` shows it.
    struct PlannedJSON: Encodable {
        let record: String
        let label: String
        let learner: String
        let dueOn: String?
        /// `propose`, `destroy` (agreeing to another keeper's proposal) or `waiting` (this
        /// person's own proposal, for a second person to agree to).
        let action: String
        let proposedBy: String?
    }

    func run() async throws {
        let record = try self.record.map { text throws(TutelaError) in try RecordID(text) }
        let session = try await actor.unlock(try vault.open())
        var ids: [RecordID]
        if let record {
            ids = [record]
        } else {
            // Only the records due are kept from the check, soonest due first.
            let today = session.vault.clock.today
            let due = try await session.retention.report(asOf: today, listing: [.due])
                .records(.due)
            guard !due.isEmpty else {
                if output.json {
                    try Terminal.json(["destroyed": [ResultJSON]()])
                } else {
                    Terminal.out("No records are due for destruction today (\(today)).")
                }
                return
            }
            if dryRun { return try await plan(due, session: session) }
            try confirm(due)
            ids = due.map(\.label.record)
        }
        let progress = Progress(
            total: ids.count, enabled: Terminal.stderrIsTerminal && !output.json && due)
        var results: [ResultJSON] = []
        for (i, id) in ids.enumerated() {
            switch try await session.retention.destroy(id) {
            case .destroyed(let certificate):
                try session.retention.verify(certificate)
                results.append(
                    ResultJSON(
                        record: id.text, certificate: CertificateJSON(certificate),
                        proposedBy: certificate.proposer?.text, pending: nil))
                if !output.json { Terminal.out(certificate.text) }
            case .proposed(let by):
                results.append(
                    ResultJSON(
                        record: id.text, certificate: nil, proposedBy: by.text,
                        pending: PendingJSON(record: id.text, proposedBy: by.text)))
                if !output.json {
                    Terminal.out(
                        "Proposed the destruction of \(id); it is destroyed when a second record "
                            + "keeper or a head of centre runs the same command.")
                }
            }
            progress.update(i + 1)
        }
        progress.finish()
        if output.json {
            if let only = results.first, record != nil {
                try Terminal.json(only)
            } else {
                try Terminal.json(["destroyed": results])
            }
        } else if due {
            let done = results.filter { $0.certificate != nil }.count
            Terminal.out(
                "\(done) records destroyed; \(results.count - done) proposed, waiting for a second "
                    + "person to agree.")
        }
    }
}

extension DestroyCommand {
    /// `--dry-run`: what this run would do to each due record, changing nothing.
    func plan(_ due: [RetentionStatus], session: Session) async throws {
        var planned: [PlannedJSON] = []
        for status in due {
            let id = status.label.record
            let by = try await session.retention.proposer(of: id, label: status.label)
            let action =
                by == nil ? "propose" : by == session.principal.id ? "waiting" : "destroy"
            planned.append(
                PlannedJSON(
                    record: id.text, label: status.label.envelopeText,
                    learner: status.label.learner.text, dueOn: status.dueOn?.description,
                    action: action, proposedBy: by?.text))
        }
        if output.json { return try Terminal.json(DryRunJSON(dryRun: true, due: planned)) }
        for p in planned {
            let what =
                switch p.action {
                case "propose": "would be proposed (a second person must then agree)"
                case "destroy": "would be destroyed (proposed by \(p.proposedBy ?? "?"))"
                default: "proposed by you; a second record keeper or a head of centre must agree"
                }
            Terminal.out(
                "\(p.record)  \(p.label), learner \(p.learner), due \(p.dueOn ?? "?"): \(what)")
        }
        Terminal.out(
            "\(Self.summary(due)) are due. Nothing was changed (--dry-run); run it again without "
                + "--dry-run to go ahead.")
    }

    /// "3 records of 2 learners (kim, lee)".
    static func summary(_ due: [RetentionStatus]) -> String {
        let learners = Array(Set(due.map(\.label.learner.text))).sorted()
        let records = due.count == 1 ? "1 record" : "\(due.count) records"
        let of = learners.count == 1 ? "1 learner" : "\(learners.count) learners"
        return "\(records) of \(of) (\(learners.joined(separator: ", ")))"
    }

    /// Asks before destroying every due record, unless `--yes`: the person types the number of
    /// records. Without a terminal to ask on, refuses (64).
    func confirm(_ due: [RetentionStatus]) throws {
        guard !yes else { return }
        guard Terminal.stdinIsTerminal, !output.json else {
            throw TutelaError(
                .usage,
                "destroying every due record needs a confirmation: \(Self.summary(due)) are due",
                hint: "see them with --dry-run, then run it again with --yes")
        }
        Terminal.note(
            "This proposes or agrees to destroying \(Self.summary(due)). Destroyed records cannot "
                + "be opened again, from this vault or its backups.")
        Terminal.note("Type \(due.count) to go on, anything else to stop: ")
        guard readLine()?.trimmingCharacters(in: .whitespaces) == "\(due.count)" else {
            throw TutelaError(.usage, "stopped: nothing was proposed or destroyed")
        }
    }

    struct DryRunJSON: Encodable {
        let dryRun: Bool
        let due: [PlannedJSON]
    }
}

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract:
            "A consistent online copy of the vault database, or (--keystore) of the key store.",
        discussion: """
            Keep vault backups as long as you need them; keep key-store backups only for a short cycle.
            A record destroyed after a vault backup cannot be opened from it once no key-store backup
            from before the destruction remains (see SECURITY.md).
            """)
    @Option(help: "The file to write (refused if it exists).") var out: String
    @Flag(help: "Back up the key store (shred keys) instead of the vault database.") var keystore =
        false
    @OptionGroup var vault: VaultOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let store = try vault.store(create: false)
        let url = URL(fileURLWithPath: out)
        if keystore { try store.backupKeyStore(to: url) } else { try store.backup(to: url) }
        try output.done(
            "Wrote a consistent copy of the \(keystore ? "key store" : "vault database") to \(out).",
            ["backup": "\(out)", "of": keystore ? "key-store" : "vault"])
    }
}
