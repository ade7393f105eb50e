import Foundation
import GRDB
import Testing

@testable import Tutela
@testable import TutelaSQLite

/// Someone with write access to `vault.sqlite` can put a cell of another type in any row: a
/// number where bytes belong, text in an integer column. Each is tampering, reported as 65 by the
/// read that meets it — never a crash of the process that reads it (promise 3).
@Suite("Cells of the wrong type in the vault database")
struct CellTypeTests {
    /// A table's cell, what to write into it, and the store read that meets it.
    struct Edit: CustomTestStringConvertible, Sendable {
        let sql: String
        let read: @Sendable (SQLiteVaultStore, RecordID) async throws -> Void
        let testDescription: String

        init(
            _ description: String, _ sql: String,
            read: @escaping @Sendable (SQLiteVaultStore, RecordID) async throws -> Void
        ) {
            self.testDescription = description
            self.sql = sql
            self.read = read
        }
    }

    static let record: @Sendable (SQLiteVaultStore, RecordID) async throws -> Void = {
        _ = try await $0.record($1)
    }
    static let labels: @Sendable (SQLiteVaultStore, RecordID) async throws -> Void = { s, _ in
        _ = try await s.labels(learner: nil)
    }
    static let audit: @Sendable (SQLiteVaultStore, RecordID) async throws -> Void = { s, _ in
        _ = try await s.links(.audit, from: 0, limit: 1_000_000)
    }

    static let edits: [Edit] = [
        Edit("an envelope's body", "UPDATE envelopes SET body = 7", read: record),
        Edit("a label's bytes", "UPDATE labels SET label = 7", read: record),
        Edit("a label's learner, in a list", "UPDATE labels SET learner = x'00ff'", read: labels),
        Edit("a key slot's box", "UPDATE slots SET box = 7", read: record),
        Edit(
            "a key slot's recipient",
            "UPDATE slots SET recipient = x'00ff' WHERE recipient = 'price'", read: record),
        Edit("a break-glass share's body", "UPDATE shares SET body = 7") { s, r in
            _ = try await s.shares(record: r)
        },
        Edit("an audit entry's hash", "UPDATE audit SET hash = 7", read: audit),
        Edit("an audit entry's signer", "UPDATE audit SET signer = x'00ff'", read: audit),
        Edit("a directory entry's signature", "UPDATE directory SET signature = 7") { s, _ in
            _ = try await s.lastLink(.directory)
        },
        Edit("an identity's salt", "UPDATE identities SET salt = 7") { s, _ in
            _ = try await s.sealedIdentity("price")
        },
        Edit("an identity's cost", "UPDATE identities SET ops = 'cheap'") { s, _ in
            _ = try await s.sealedIdentity("price")
        },
        Edit("the vault's creation time", "UPDATE vault SET created_at = 'then'") { s, _ in
            _ = try await s.meta()
        },
        Edit("an object's body", "UPDATE objects SET body = 7") { s, _ in
            _ = try await s.objects(kind: "audit-made", key: nil)
        },
    ]

    @Test("a cell of the wrong type is tampering (65), not a crash", arguments: edits)
    func wrongType(_ edit: Edit) async throws {
        let disk = try await DiskVault()
        let price = try await disk.session("price")
        let label = try await price.seal(disk.form("cells"), confidential: false)
        let db = try DatabaseQueue(path: disk.directory.appendingPathComponent("vault.sqlite").path)
        try await db.write { db in try db.execute(sql: edit.sql) }
        try db.close()
        do {
            try await edit.read(disk.store, label.record)
            Issue.record("\(edit.testDescription): a cell of the wrong type was read")
        } catch let error as TutelaError {
            #expect(error.kind == .tampered, "\(error.message)")
        }
    }
}
