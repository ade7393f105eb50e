import Foundation
import Synchronization
import Testing
import Tutela
import TutelaCrypto
import TutelaTesting

@testable import TutelaPostgres

@Suite("Many writers on one PostgreSQL", .enabled(if: TestServer.available, "no test server"))
struct ManyWritersTests {
    /// Seals `count` records as `who`, trying again (as a person would) when told to.
    static func seal(_ count: Int, as who: PrincipalID, in vault: Vault) async throws -> [Label] {
        let session = try await vault.unlock(who, passphrase: Centre<AnyStore>.passphrase(who))
        var labels: [Label] = []
        var retries = 0
        while labels.count < count {
            do {
                let learner: LearnerID = who == "price" ? "sam" : "alex"
                labels.append(
                    try await session.seal(
                        Centre<AnyStore>.form(learner: learner, marker: "\(who) \(labels.count)"),
                        confidential: false))
            } catch let error as TutelaError where error.kind == .tryAgain {
                retries += 1
                #expect(retries < 50, "told to try again \(retries) times")
            }
        }
        return labels
    }

    @Test("two servers sealing at once: one log, one state, every acknowledged record kept")
    func twoServers() async throws {
        let schemas = TestServer.schemas()
        let first = try await TestServer.open(schemas, create: true)
        let centre = try await Centre.make(store: first)
        // A second server: its own pool over the same vault, as another process would have.
        let second = try await TestServer.open(schemas)
        let other = Vault(store: second, clock: centre.vault.clock)
        let perWriter = 6
        let sealed = try await withThrowingTaskGroup(of: [Label].self) { group in
            group.addTask { try await Self.seal(perWriter, as: "price", in: centre.vault) }
            group.addTask { try await Self.seal(perWriter, as: "jones", in: other) }
            group.addTask { try await Self.seal(perWriter, as: "jones", in: centre.vault) }
            group.addTask { try await Self.seal(perWriter, as: "price", in: other) }
            var all: [Label] = []
            for try await labels in group { all += labels }
            return all
        }
        #expect(sealed.count == 4 * perWriter)
        // A third process, opened afresh, sees every acknowledged record, and one log that
        // verifies from its first entry to its head.
        let third = try await TestServer.open(schemas)
        let fresh = Vault(store: third, clock: centre.vault.clock)
        #expect(try await third.recordCount() == sealed.count)
        let report = try await fresh.verifyAudit(checkpoint: nil)
        #expect(report.entries == Int64(try await third.links(.audit).count))
        let price = try await fresh.unlock(
            "price", passphrase: Centre<AnyStore>.passphrase("price"))
        for label in sealed where label.learner == "sam" {
            let opened = try await price.open(label.record)
            #expect(opened.label == label)
        }
        // The log's sequence numbers run without a gap or a repeat.
        let sequences = try await third.links(.audit).map(\.sequence)
        #expect(sequences == Array(0..<Int64(sequences.count)))
        for store in [first, second, third] { await store.close() }
    }
}

/// The PostgreSQL store with the connection of its next transaction cut (the server process
/// serving it terminated) just before `COMMIT` is sent: a connection lost mid-request.
final class CuttingStore: ForwardingStore, @unchecked Sendable {
    let store: PostgresVaultStore
    var forwarded: any VaultStore { store }
    private let armed = Mutex(false)

    init(_ store: PostgresVaultStore) { self.store = store }

    /// Cuts the next transaction's connection before it commits.
    func cutNext() { armed.withLock { $0 = true } }

    func transaction<T: Sendable>(
        _ body: @escaping @Sendable (any VaultTransaction) async throws -> T
    ) async throws -> T {
        let cut = armed.withLock { armed in
            defer { armed = false }
            return armed
        }
        let store = store
        return try await store.transaction { tx in
            let value = try await body(tx)
            if cut, let tx = tx as? PostgresVaultStore.Transaction {
                var pid: Int32 = 0
                for try await id in try await tx.connection.query(
                    "SELECT pg_backend_pid()", logger: PostgresDatabase.logger
                ).decode(Int32.self) {
                    pid = id
                }
                // From another connection, as an administrator or a crash would; then wait
                // until this side has seen the connection close.
                try await store.vault.client.withConnection { other in
                    try await other.fetch("SELECT pg_terminate_backend(\(pid), 5000)")
                }
                for _ in 0..<500 where !tx.connection.isClosed {
                    try await Task.sleep(for: .milliseconds(10))
                }
            }
            return value
        }
    }
}

@Suite("A connection lost mid-transaction", .enabled(if: TestServer.available, "no test server"))
struct LostConnectionTests {
    @Test("a seal whose commit is cut is refused and leaves nothing; the store goes on")
    func sealCut() async throws {
        let schemas = TestServer.schemas()
        let postgres = try await TestServer.open(schemas, create: true)
        let store = CuttingStore(postgres)
        let centre = try await Centre.make(store: store)
        let before = try await postgres.links(.audit)
        store.cutNext()
        do {
            _ = try await centre.session("price").seal(
                Centre<AnyStore>.form(marker: "never acknowledged"), confidential: false)
            Issue.record("a seal whose commit was cut reported success")
        } catch let error as TutelaError {
            #expect(error.kind == .tryAgain, "\(error.kind): \(error.message)")
            #expect(!error.message.contains("never acknowledged"))
        }
        #expect(try await postgres.links(.audit) == before, "no audit entry landed")
        #expect(try await postgres.recordCount() == 0, "no record landed")
        // The pool replaces the lost connection: the next seal lands and the log verifies.
        let label = try await centre.session("price").seal(
            Centre<AnyStore>.form(marker: "after"), confidential: false)
        #expect(try await postgres.record(label.record) != nil)
        _ = try await centre.vault.verifyAudit(checkpoint: nil)
        await postgres.close()
    }

    @Test("an open whose audit entry's commit is cut releases nothing")
    func openCut() async throws {
        let schemas = TestServer.schemas()
        let postgres = try await TestServer.open(schemas, create: true)
        let store = CuttingStore(postgres)
        let centre = try await Centre.make(store: store)
        let label = try await centre.session("price").seal(
            Centre<AnyStore>.form(marker: "kept sealed"), confidential: false)
        let before = try await postgres.links(.audit)
        let session = try await centre.vault.unlock(
            "price", passphrase: Centre<AnyStore>.passphrase("price"))
        store.cutNext()
        do {
            let opened = try await session.open(label.record)
            Issue.record("released \(opened.label.record) without a committed audit entry")
        } catch let error as TutelaError {
            #expect(error.kind == .tryAgain, "\(error.kind): \(error.message)")
        }
        #expect(try await postgres.links(.audit) == before, "the release was not logged")
        // Once the database answers again, the same person opens it, logged.
        _ = try await session.open(label.record)
        #expect(try await postgres.links(.audit).count == before.count + 1)
        await postgres.close()
    }
}
