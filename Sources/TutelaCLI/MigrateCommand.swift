import ArgumentParser
import Foundation
import Tutela

#if TUTELA_SERVER
    import TutelaPostgres
#endif

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Copy an embedded vault into PostgreSQL, and prove the copy before saying so.",
        discussion: """
            Stop every server and command on the old vault first. The copy is checked as `audit \
            verify` checks a vault (every signature, both logs, the whole state) and then row by \
            row against the old vault; only then does migrate report success. A copy that fails is \
            removed. The old vault is then marked as moved (moved.json), and every command refuses \
            it: keep it, untouched, until the new one is in use and backed up.
            """)

    @Option(help: "The embedded vault to copy (its folder).") var from: String
    @Option(
        name: .customLong("vault"),
        help:
            "The new, empty folder to create for the PostgreSQL vault (it holds where the vault is; no records)."
    )
    var newVault: String
    @OptionGroup var postgres: PostgresStoreOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        var vault = VaultOptions()
        vault.vault = newVault
        guard let choice = try postgres.choice(required: true) else { return }
        var source = VaultOptions()
        source.vault = from
        guard try PostgresChoice.read(in: source.url) == nil else {
            throw TutelaError(.usage, "\(from) is a PostgreSQL vault already")
        }
        let old = Vault(store: try source.sqlite(create: false), pins: VaultOptions.pins)
        try PostgresChoice.requireNew(vault.url)
        let target = try await VaultOptions.postgres(choice, create: true)
        // Checked here as well as by the copy: only a store found empty is emptied on failure.
        try await Self.requireEmpty(target)
        let report: CopyReport
        do {
            report = try await old.copy(to: target)
        } catch {
            // Whatever of the copy landed (it is not to be used) is removed, the keys with it.
            guard try await Self.discard(target), let error = error as? TutelaError else {
                throw error
            }
            // What the failure's own hint says stands; that the copy is gone is added to it.
            let removed = "the failed copy was removed from PostgreSQL"
            throw TutelaError(
                error.kind, error.message,
                hint: error.hint.map { "\($0); \(removed)" } ?? removed)
        }
        try choice.write(in: vault.url)
        let moved = MovedVault(
            movedTo: vault.url.path, at: ISO8601DateFormatter().string(from: Date()))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let marked = FileManager.default.createFile(
            atPath: source.url.appendingPathComponent(MovedVault.fileName).path,
            contents: try encoder.encode(moved), attributes: [.posixPermissions: 0o600])
        if !marked {
            Terminal.note(
                "the old vault could not be marked as moved (\(MovedVault.fileName)): do not use it again; commands on it would fork the vault"
            )
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
                "oldVaultMarkedMoved": "\(marked)",
            ])
    }

    /// Refuses a target holding a vault or any shred key.
    static func requireEmpty(_ target: any VaultStore) async throws {
        let hasVault: Bool
        do {
            _ = try await target.meta()
            hasVault = true
        } catch let error as TutelaError where error.kind == .notFound {
            hasVault = false
        }
        guard !hasVault, try await target.shredKeyIDs().isEmpty else {
            throw TutelaError(
                .exists,
                "the PostgreSQL store holds a vault (or keys) already; migrate fills an empty one")
        }
    }

    /// Empties the target after a failed copy; says so if it cannot.
    /// - Returns: whether it was emptied.
    static func discard(_ target: any VaultStore) async throws -> Bool {
        #if TUTELA_SERVER
            guard let target = target as? PostgresVaultStore else { return false }
            do {
                try await target.discard()
                return true
            } catch {
                Terminal.note(
                    "the failed copy could not be removed: empty the new database and key store by hand before migrating again"
                )
            }
        #endif
        return false
    }
}
