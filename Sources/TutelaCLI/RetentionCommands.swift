import ArgumentParser
import Foundation
import Tutela
import TutelaSQLite

struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "What is due, held or under review — from labels alone.",
        subcommands: [Check.self, Hold.self, Release.self, Review.self, Certificates.self])

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
            let session = try await actor.unlock(try await vault.open())
            let date =
                try asOf.map { try parseDate($0, option: "--as-of") } ?? session.vault.clock.today
            var listing = RetentionReport.actionable
            if output.json { listing.insert(.undetermined) }
            try csv?.write(RetentionStatus.csvHeader)
            let report = try await session.retention.report(
                asOf: date, listing: listing, csv.map { csv in { try csv.write($0.csvLine) } }
            )
            let standings = RetentionStatus.Standing.allCases
            let classes = report.classes.sorted { $0.rawValue < $1.rawValue }
            if output.json {
                return try Terminal.json(RetentionCheckJSON(report, asOf: date))
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
                let list = report.records(standing).map(RetentionRowJSON.init)
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
            let session = try await actor.unlock(try await vault.open())
            try await session.retention.setHold(record, active: true, reason: why)
            try output.done(
                "\(record) is held: it cannot be destroyed until the hold is released.",
                HoldJSON(record, held: true))
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
            let session = try await actor.unlock(try await vault.open())
            try await session.retention.setHold(record, active: false, reason: reason)
            try output.done(
                "Released the hold on \(record).", HoldJSON(record, held: false))
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
            let session = try await actor.unlock(try await vault.open())
            try await session.retention.reviewRetention(record, keepUntil: keep, reason: why)
            try output.done(
                keep.map { "\(record) is kept until \($0), then reviewed again." }
                    ?? "\(record) is now due for destruction.",
                RetentionReviewedJSON(record, keepUntil: keep))
        }
    }
}

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract:
            "A consistent online copy of the vault database, or (--keystore) of the key store.",
        discussion: """
            Keep vault backups as long as you need them; keep key-store backups only for a short \
            cycle. A record destroyed after a vault backup cannot be opened from it once no \
            key-store backup from before the destruction remains (see SECURITY.md).
            """)
    @Option(help: "The file to write (refused if it exists).") var out: String
    @Flag(help: "Back up the key store (shred keys) instead of the vault database.") var keystore =
        false
    @OptionGroup var vault: VaultOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        guard try PostgresChoice.read(in: vault.url) == nil else {
            throw TutelaError(
                .usage, "this vault is on PostgreSQL: back it up with PostgreSQL's own tools",
                hint:
                    "pg_dump or pg_basebackup of the vault's database, and of the key store's on its short cycle (docs/OPERATIONS.md)"
            )
        }
        let store = try vault.sqlite(create: false)
        let url = URL(fileURLWithPath: out)
        if keystore { try store.backupKeyStore(to: url) } else { try store.backup(to: url) }
        try output.done(
            "Wrote a consistent copy of the \(keystore ? "key store" : "vault database") to \(out).",
            ["backup": "\(out)", "of": keystore ? "key-store" : "vault"])
    }
}
