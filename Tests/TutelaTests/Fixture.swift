import Foundation
import Testing
@_exported import TutelaTesting

@testable import Tutela

/// The shared centre (`TutelaTesting`), in memory behind a fault-injecting store.
typealias Fixture = Centre<FaultInjectingStore<MemoryVaultStore>>

/// Expects `body` to throw a TutelaError of `kind`, and returns it.
@discardableResult
func expectError<T>(
    _ kind: TutelaError.Kind, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> T
) async -> TutelaError? {
    do {
        _ = try await body()
        Issue.record("expected a \(kind) error, got success", sourceLocation: sourceLocation)
    } catch let error as TutelaError {
        #expect(error.kind == kind, "\(error.message)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected TutelaError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}
