import Foundation
import Testing
import Tutela
import TutelaPostgres

/// The throwaway PostgreSQL server `scripts/test` starts (scripts/test-postgres), named by
/// `$TUTELA_TEST_POSTGRES` and `$TUTELA_TEST_POSTGRES_PASSWORD`. Each store a test makes lives in
/// schemas of its own (`v_…` for the vault, `k_…` for its key store), so tests run side by side.
enum TestServer {
    static let environment = ProcessInfo.processInfo.environment

    /// Whether a server was started for these tests; without one the suites say so and skip.
    static let available = environment["TUTELA_TEST_POSTGRES"] != nil

    static var address: String { environment["TUTELA_TEST_POSTGRES"] ?? "" }
    static var password: String? { environment["TUTELA_TEST_POSTGRES_PASSWORD"] }

    /// Fresh schema names for one store.
    static func schemas() -> (vault: String, keys: String) {
        let tag = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        return ("v_\(tag)", "k_\(tag)")
    }

    /// The key store's own user on the test server.
    static var keysAddress: String { environment["TUTELA_TEST_POSTGRES_KEYS"] ?? "" }

    /// The location of `schema` on the test server, as the vault's user or the key store's.
    static func location(_ schema: String, keys: Bool = false) throws -> PostgresLocation {
        try PostgresLocation(
            "\(keys ? keysAddress : address)&schema=\(schema)", defaultSchema: "tutela")
    }

    /// Opens (creating with `create`) the store in `schemas`.
    static func open(_ schemas: (vault: String, keys: String), create: Bool = false)
        async throws -> PostgresVaultStore
    {
        try await PostgresVaultStore.open(
            location(schemas.vault), password: password,
            keyStore: location(schemas.keys, keys: true),
            keyStorePassword: password, create: create)
    }

    /// Runs `body` with a new store, closed afterwards.
    static func withStore<T>(_ body: (PostgresVaultStore) async throws -> T) async throws -> T {
        let store = try await open(schemas(), create: true)
        do {
            let value = try await body(store)
            await store.close()
            return value
        } catch {
            await store.close()
            throw error
        }
    }
}
