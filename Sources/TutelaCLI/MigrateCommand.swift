import ArgumentParser
import Foundation
import Tutela

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Copy an embedded vault into PostgreSQL, and prove the copy before saying so.",
        discussion: """
            Stop every server and command on the old vault first. The copy is checked as `audit
            verify` checks a vault (every signature, both logs, the whole state) and then row by row
            against the old vault; only then does migrate report success. The old vault is left as
            it was: keep it until the new one is in use and backed up.
            """)

    @Option(help: "The embedded vault to copy (its directory).") var from: String
    @OptionGroup var vault: VaultOptions
    @OptionGroup var postgres: PostgresStoreOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        guard let choice = try postgres.choice(required: true) else { return }
        var source = VaultOptions()
        source.vault = from
        guard try PostgresChoice.read(in: source.url) == nil else {
            throw TutelaError(.usage, "\(from) is a PostgreSQL vault already")
        }
        let old = Vault(store: try source.sqlite(create: false), pins: VaultOptions.pins)
        let target = try await VaultOptions.postgres(choice, create: true)
        try choice.write(in: vault.url)
        let report: CopyReport
        do {
            report = try await old.copy(to: target)
        } catch {
            // The new folder names a copy that is not to be used.
            try? FileManager.default.removeItem(
                at: vault.url.appendingPathComponent(PostgresChoice.fileName))
            rmdir(vault.url.path)
            throw error
        }
        try output.done(
            """
            Copied \(report.records) records (and \(report.tombstones) destroyed records' labels), \
            \(report.auditEntries) audit entries and \(report.shredKeys) shred keys into \
            PostgreSQL, and proved the copy.
            The new vault is \(vault.url.path); point every server and command at it.
            """,
            [
                "vault": vault.url.path, "records": "\(report.records)",
                "tombstones": "\(report.tombstones)", "auditEntries": "\(report.auditEntries)",
                "shredKeys": "\(report.shredKeys)", "objects": "\(report.objects)",
                "identities": "\(report.identities)", "proved": "true",
            ])
    }
}
