import ArgumentParser
import Foundation
import Tutela

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Read, checkpoint and verify the tamper-evident audit log.",
        subcommands: [
            Log.self, Checkpoint.self, Verify.self, AcceptRestore.self, CorrectClock.self,
        ])

    struct Log: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Who did what, when and why (verified before it is shown).")

        @Option(help: "Only entries about this record.") var record: String?
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let record = try self.record.map { text throws(TutelaError) in try RecordID(text) }
            let session = try await actor.unlock(try await vault.open())
            let entries = try await session.auditLog(record: record)
            if output.json {
                try Terminal.json(["entries": entries.map(EntryJSON.init)])
            } else {
                Terminal.out(
                    Table.render(
                        header: [
                            "#", "TIME", "ACTOR", "ACTION", "SUBJECT", "OUTCOME", "WHY",
                        ],
                        rows: entries.map {
                            [
                                "\($0.sequence)", session.localTime($0.entry.time),
                                $0.entry.actor.text,
                                $0.entry.action.rawValue, $0.entry.subject ?? "-",
                                $0.entry.outcome.rawValue,
                                $0.entry.reason ?? "",
                            ]
                        }))
            }
        }
    }

    struct Checkpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a signed checkpoint of the log, to keep outside the vault.")

        @Option(help: "The file to write (refused if it exists).") var out: String
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            // The file is claimed first, so one that exists stops the command before it asks
            // for a passphrase; it is removed again if the checkpoint cannot be made.
            let checkpoint = try await OutputFile.writing(out) { file in
                let session = try await actor.unlock(try await vault.open())
                let checkpoint = try await session.checkpoint()
                try file.write(checkpoint.text)
                return checkpoint
            }
            if output.json {
                try Terminal.json([
                    "file": out, "entries": "\(checkpoint.entries)",
                    "signer": checkpoint.signer.text,
                    "time": Timestamp.iso(checkpoint.time),
                ])
            } else {
                Terminal.out(
                    "Wrote a checkpoint of \(checkpoint.entries) entries, signed by \(checkpoint.signer), to \(out)."
                )
                Terminal.out("Keep it outside the vault: print it, or send it to the governors.")
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute the chain and check every signature (no passphrase needed).")

        @Option(help: "A checkpoint file whose prefix the log must still hold.") var checkpoint:
            String?
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            var parsed: Tutela.Checkpoint?
            if let checkpoint {
                guard let data = FileManager.default.contents(atPath: checkpoint),
                    let text = String(data: data, encoding: .utf8)
                else { throw TutelaError(.notFound, "cannot read the checkpoint \(checkpoint)") }
                parsed = try Tutela.Checkpoint.parse(text)
            }
            let report = try await vault.open().verifyAudit(checkpoint: parsed)
            let json = AuditReportJSON(report, checkpoint: parsed)
            if output.json {
                try Terminal.json(json)
            } else {
                Terminal.out(
                    "The audit log verifies: \(report.entries) entries, "
                        + "\(json.first ?? "?") to \(json.last ?? "?"), every signature checked.")
                if let parsed {
                    Terminal.out(
                        "It still holds the \(parsed.entries) entries of the checkpoint signed by "
                            + "\(parsed.signer) at \(Timestamp.iso(parsed.time)).")
                }
                if let seen = report.pinnedEntries {
                    Terminal.out("It extends the \(seen) entries this machine saw last.")
                }
            }
        }
    }

    struct CorrectClock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "correct-clock",
            abstract:
                "Set the log's time back to this machine's clock after a clock was set wrongly forward (administrators only)."
        )

        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let session = try await actor.unlock(try await vault.open())
            let (from, to) = try await session.correctClock()
            try await session.settle()
            try output.done(
                "Corrected the vault's clock: its last entry was at \(Timestamp.iso(from)); "
                    + "entries go on from \(Timestamp.iso(to)).",
                ["from": "\(Timestamp.iso(from))", "to": "\(Timestamp.iso(to))"])
        }
    }

    struct AcceptRestore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "accept-restore",
            abstract:
                "Accept, on purpose, a vault restored from an older copy (administrators only).")

        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let session = try await actor.unlock(try await vault.open(), acceptingRestore: true)
            let report = try await session.acceptRestore()
            try output.done(
                "Accepted the vault as it is: \(report.entries) entries; this machine now expects it to grow from here.",
                ["accepted": true, "entries": .number(Int(report.entries))])
        }
    }
}
