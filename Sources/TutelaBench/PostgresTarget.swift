import Foundation
import Tutela
import TutelaPostgres

/// The PostgreSQL server a benchmark measures on: each run gets fresh schemas of its own.
struct PostgresTarget: Sendable {
    let address: String
    let keys: String
    let password: String?

    static func fromEnvironment() throws -> PostgresTarget {
        let environment = ProcessInfo.processInfo.environment
        guard let address = environment["TUTELA_TEST_POSTGRES"],
            let keys = environment["TUTELA_TEST_POSTGRES_KEYS"]
        else {
            throw BenchError(
                "--store postgres needs a server: scripts/test-postgres start DIR; . DIR/env")
        }
        return PostgresTarget(
            address: address, keys: keys, password: environment["TUTELA_TEST_POSTGRES_PASSWORD"])
    }

    /// A new, empty store in schemas of its own.
    func open() async throws -> PostgresVaultStore {
        let tag = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
        return try await PostgresVaultStore.open(
            PostgresLocation("\(address)&schema=bench_\(tag)", defaultSchema: "tutela"),
            password: password,
            keyStore: PostgresLocation("\(keys)&schema=bench_keys_\(tag)", defaultSchema: "k"),
            keyStorePassword: password, create: true)
    }

    /// Row counts made exact and dead rows cleared, before the storage is measured.
    func analyze(_ store: PostgresVaultStore) async throws {
        try await store.analyze()
    }
}
