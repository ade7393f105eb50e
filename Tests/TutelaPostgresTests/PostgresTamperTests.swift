import Foundation
import PostgresNIO
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
            try await connection.fetch(PostgresQuery(unsafeSQL: statement))
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
}
