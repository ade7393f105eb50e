import Foundation
import Testing
import TutelaTesting

@testable import TutelaSQLite

@Suite("The store contract: the embedded SQLite store")
struct SQLiteStoreContractTests {
    @Test("every store keeps the contract", arguments: StoreContract.checks)
    func contract(_ check: StoreContract.Check) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tutela-contract-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try await check.run(
            SQLiteVaultStore(directory: root.appendingPathComponent("vault"), create: true))
    }
}
