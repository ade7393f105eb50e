import Foundation
import PostgresNIO
import Synchronization
import Testing
import Tutela
import TutelaTesting

@testable import TutelaPostgres

/// The state map's checks hold on PostgreSQL, where a transaction reads its rows ahead
/// (``VaultTransaction/prefetch(kind:ids:)``) rather than one at a time.
@Suite("Tampering on PostgreSQL", .enabled(if: TestServer.available, "no test server"))
struct PostgresTamperTests {
    /// Runs `sql` on the vault's schema (`{S}`) as the vault's own user: staff with an account and
    /// write access to the database.
    static func edit(_ store: PostgresVaultStore, _ sql: String) async throws {
        let statement = sql.replacingOccurrences(of: "{S}", with: store.vault.schema)
        try await store.vault.client.withConnection { connection in
            try await connection.fetch("BEGIN")
            do {
                // Never left waiting for ever on a row the vault's own transaction holds.
                try await connection.fetch("SET LOCAL lock_timeout = '5s'")
                try await connection.fetch(PostgresQuery(unsafeSQL: statement))
                try await connection.fetch("COMMIT")
            } catch {
                _ = try? await connection.fetch("ROLLBACK")
                throw error
            }
        }
    }

    @Test(
        "state rows deleted under a session that proved them: its next seal is refused, nothing lands"
    )
    func provenRowsDeleted() async throws {
        try await TestServer.withStore { store in
            let centre = try await Centre.make(store: store)
            let session = try centre.session("price")
            // The session proves the buckets of sam's and price's filings as it seals.
            _ = try await session.seal(Centre<AnyStore>.form(marker: "first"), confidential: false)
            let before = try await store.links(.audit)
            try await Self.edit(store, "DELETE FROM {S}.objects WHERE kind = 'state-bucket'")
            do {
                _ = try await session.seal(
                    Centre<AnyStore>.form(marker: "second"), confidential: false)
                Issue.record("a seal over deleted state rows was accepted")
            } catch let error as TutelaError {
                #expect(error.kind == .tampered, "\(error.kind): \(error.message)")
                #expect(!error.message.contains("second"))
            }
            #expect(try await store.links(.audit) == before, "no audit entry landed")
            #expect(try await store.recordCount() == 1, "no record landed")
        }
    }

    @Test("a state node edited under an import: the import is refused, nothing of it lands")
    func nodeEdited() async throws {
        try await TestServer.withStore { store in
            let centre = try await Centre.make(store: store)
            let session = try centre.session("price")
            _ = try await session.sealBatch(
                (0..<40).map { (try! Centre<AnyStore>.form(marker: "batch \($0)"), false) })
            let before = try await store.links(.audit)
            // Every node row below the root swaps in another node's body: each still decodes.
            try await Self.edit(
                store,
                """
                UPDATE {S}.objects o SET body = (
                    SELECT body FROM {S}.objects WHERE kind = 'state-node' AND id = '/')
                WHERE kind = 'state-node' AND id <> '/'
                """)
            do {
                _ = try await session.sealBatch(
                    (0..<40).map { (try! Centre<AnyStore>.form(marker: "more \($0)"), false) })
                Issue.record("a batch over edited state nodes was accepted")
            } catch let error as TutelaError {
                #expect(error.kind == .tampered, "\(error.kind): \(error.message)")
            }
            #expect(try await store.links(.audit) == before, "no audit entry landed")
            #expect(try await store.recordCount() == 40, "no record of the batch landed")
        }
    }

    /// An open reads its record with its slots in one statement, and its facts by key read ahead
    /// (``VaultTransaction/prefetch(kinds:keys:)``): each edit below is still tampering.
    @Test(
        "an open over a deleted or moved flag, a planted void or a deleted envelope: 65",
        arguments: [
            "DELETE FROM {S}.objects WHERE kind = 'flag'",
            "UPDATE {S}.objects SET key = '{OTHER}' WHERE kind = 'flag'",
            """
            INSERT INTO {S}.objects (kind, id, key, body)
            SELECT 'void', '{RECORD}', '{RECORD}', body FROM {S}.objects WHERE kind = 'flag'
            """,
            """
            DELETE FROM {S}.envelopes
            WHERE id = (SELECT id FROM {S}.labels WHERE record = '{RECORD}')
            """,
        ])
    func openOverEditedRows(_ sql: String) async throws {
        try await TestServer.withStore { store in
            let centre = try await Centre.make(store: store)
            let price = try centre.session("price")
            let flagged = try await price.seal(
                Centre<AnyStore>.form(marker: "worrying"), confidential: false)
            let other = try await price.seal(
                Centre<AnyStore>.form(marker: "other"), confidential: false)
            try await price.safeguarding.flag(flagged.record, reason: "CPOMS 1")
            _ = try await price.open(flagged.record)
            try await Self.edit(
                store,
                sql.replacingOccurrences(of: "{RECORD}", with: flagged.record.text)
                    .replacingOccurrences(of: "{OTHER}", with: other.record.text))
            do {
                _ = try await price.open(flagged.record)
                Issue.record("a record opened over edited rows")
            } catch let error as TutelaError {
                #expect(error.kind == .tampered, "\(error.kind): \(error.message)")
                #expect(!error.message.contains("worrying"))
            }
        }
    }

    @Test("a row planted while a seal holds the writer lock is reported, not overwritten")
    func plantedDuringSeal() async throws {
        let postgres = try await TestServer.open(TestServer.schemas(), create: true)
        let store = PlantingStore(postgres)
        let centre = try await Centre.make(store: store)
        let session = try centre.session("price")
        let before = try await postgres.links(.audit)
        let next = (before.last?.sequence ?? -1) + 1
        let name = String(repeating: "0", count: 20 - String(next).count) + String(next)
        // Someone with write access, who takes no lock, files where the next seal's entry is
        // while the seal is being written.
        store.plantNext(
            """
            INSERT INTO {S}.objects (kind, id, key, body)
            VALUES ('audit-made', '\(name)', 'R-PLANTED', '\\x01'::bytea)
            """)
        do {
            _ = try await session.seal(
                Centre<AnyStore>.form(marker: "planted"), confidential: false)
            Issue.record("a seal over a planted row was accepted")
        } catch let error as TutelaError {
            #expect(error.kind == .tampered, "\(error.kind): \(error.message)")
            #expect(error.message.contains("a row appeared"), "\(error.message)")
        }
        #expect(try await postgres.links(.audit) == before, "no audit entry landed")
        #expect(try await postgres.recordCount() == 0, "no record landed")
        let planted = try await postgres.objects(kind: "audit-made", ids: [name])
        #expect(planted.map(\.key) == ["R-PLANTED"], "the planted row is left as evidence")
        await postgres.close()
    }

    @Test("an audit entry planted at the next number while a seal holds the lock: refused, 75")
    func linkPlantedDuringSeal() async throws {
        let postgres = try await TestServer.open(TestServer.schemas(), create: true)
        let store = PlantingStore(postgres)
        let centre = try await Centre.make(store: store)
        let session = try centre.session("price")
        let before = try await postgres.links(.audit)
        let next = (before.last?.sequence ?? -1) + 1
        store.plantNext(
            """
            INSERT INTO {S}.audit (seq, prev_hash, signer, body, signature, hash)
            VALUES (\(next), '\\x00'::bytea, 'price', '\\x01'::bytea, '\\x02'::bytea, '\\x03'::bytea)
            """)
        do {
            _ = try await session.seal(
                Centre<AnyStore>.form(marker: "planted"), confidential: false)
            Issue.record("a seal over a planted audit entry was accepted")
        } catch let error as TutelaError {
            #expect(error.kind == .tryAgain, "\(error.kind): \(error.message)")
            #expect(error.message.contains("the audit log moved on"), "\(error.message)")
        }
        #expect(try await postgres.recordCount() == 0, "no record landed")
        let links = try await postgres.links(.audit)
        #expect(links.count == before.count + 1 && links.last?.body == [1], "only the planted one")
        await postgres.close()
    }
}

/// The PostgreSQL store with a statement run from another connection — someone writing to the
/// tables without the writer lock — while its next transaction holds the lock, before it commits.
final class PlantingStore: ForwardingStore, @unchecked Sendable {
    let store: PostgresVaultStore
    var forwarded: any VaultStore { store }
    private let planned = Mutex<String?>(nil)

    init(_ store: PostgresVaultStore) { self.store = store }

    func plantNext(_ sql: String) { planned.withLock { $0 = sql } }

    func transaction<T: Sendable>(
        _ body: @escaping @Sendable (any VaultTransaction) async throws -> T
    ) async throws -> T {
        let sql = planned.withLock { planned in
            defer { planned = nil }
            return planned
        }
        let store = store
        return try await store.transaction { tx in
            let value = try await body(tx)
            if let sql { try await PostgresTamperTests.edit(store, sql) }
            return value
        }
    }
}
