import Testing
import TutelaPostgres
import TutelaTesting

@Suite("The store contract: PostgreSQL", .enabled(if: TestServer.available, "no test server"))
struct PostgresStoreContractTests {
    @Test("every store keeps the contract", arguments: StoreContract.checks)
    func contract(_ check: StoreContract.Check) async throws {
        try await TestServer.withStore { store in try await check.run(store) }
    }
}
