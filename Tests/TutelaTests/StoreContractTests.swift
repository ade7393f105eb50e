import Testing
import TutelaTesting

@testable import Tutela

@Suite("The store contract: the in-memory store")
struct MemoryStoreContractTests {
    @Test("every store keeps the contract", arguments: StoreContract.checks)
    func contract(_ check: StoreContract.Check) async throws {
        try await check.run(MemoryVaultStore())
    }
}
