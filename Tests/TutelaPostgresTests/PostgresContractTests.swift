import Testing
import Tutela
import TutelaTesting

@testable import TutelaPostgres

@Suite("The store contract: PostgreSQL", .enabled(if: TestServer.available, "no test server"))
struct PostgresStoreContractTests {
    @Test("every store keeps the contract", arguments: StoreContract.checks)
    func contract(_ check: StoreContract.Check) async throws {
        try await TestServer.withStore { store in try await check.run(store) }
    }
}

@Suite("Opening a PostgreSQL store", .enabled(if: TestServer.available, "no test server"))
struct PostgresOpeningTests {
    @Test("a key store signing in as the vault's own user is refused, and nothing is made")
    func sameUser() async throws {
        let schemas = TestServer.schemas()
        do {
            let store = try await PostgresVaultStore.open(
                TestServer.location(schemas.vault), password: TestServer.password,
                keyStore: TestServer.location(schemas.keys), keyStorePassword: TestServer.password,
                create: true)
            await store.close()
            Issue.record("a key store with the vault's credentials was accepted")
        } catch let error as TutelaError {
            #expect(error.kind == .usage)
            #expect(error.message.contains("own"))
        }
        do {
            _ = try await TestServer.open(schemas)
            Issue.record("a refused store was made all the same")
        } catch let error as TutelaError {
            #expect(error.kind == .notFound)
        }
    }

    @Test("a schema named by a reserved word works; one that is not plain is refused")
    func schemaNames() async throws {
        let store = try await TestServer.open(("user", TestServer.schemas().keys), create: true)
        _ = try await Centre.make(store: store)
        try await store.vault.client.withConnection { connection in
            try await connection.fetch("DROP SCHEMA \"user\" CASCADE")
        }
        await store.close()
        for bad in ["Tutela", "a-b", "x;drop", "1abc", ""] {
            #expect(throws: TutelaError.self) { try TestServer.location(bad) }
        }
    }

    @Test("a failed copy is emptied out: no vault, no keys, and the store takes a new one")
    func discard() async throws {
        let schemas = TestServer.schemas()
        let store = try await TestServer.open(schemas, create: true)
        _ = try await Centre.make(store: store)
        try await store.discard()
        await #expect(throws: TutelaError.self) { _ = try await store.meta() }
        #expect(try await store.shredKeyIDs().isEmpty)
        #expect(try await store.objectKinds().isEmpty)
        _ = try await Centre.make(store: store)
        await store.close()
    }

    @Test("every connection commits durably and waits a bounded time for the writer lock")
    func sessionSettings() async throws {
        try await TestServer.withStore { store in
            let settings = try await store.vault.client.withConnection { connection in
                try await connection.fetch(
                    """
                    SELECT current_setting('synchronous_commit'), current_setting('lock_timeout'),
                        current_setting('statement_timeout'),
                        current_setting('idle_in_transaction_session_timeout')
                    """
                ).decode((String, String, String, String).self)
            }
            #expect(settings.first?.0 == "on")
            #expect(settings.first?.1 == "30s")
            #expect(settings.first?.2 == "1min")
            #expect(settings.first?.3 == "1min")
        }
    }
}
