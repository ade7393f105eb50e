import Foundation
import Testing
import TutelaCrypto
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

extension Envelope {
    /// For attacks: a re-seal of new `content` (behind a fresh commitment key, as a forger would
    /// have to make it), signed by `author` as its sealer.
    static func seal(
        _ content: SecretBytes, label: Label, author: Identity, shredKey: SecretBytes,
        resealing: (generation: Int, sealedAt: Int64, authorship: Authorship)
    ) throws -> (Envelope, SecretBytes) {
        let whole = try SecretBytes.random(count: 32).appending(content)
        return try reseal(
            whole, label: label, sealer: author, shredKey: shredKey,
            generation: resealing.generation, sealedAt: resealing.sealedAt,
            authorship: resealing.authorship)
    }
}

extension Centre {
    /// For attacks: someone holding `stale`'s key (a leaver's, or one a re-key replaced) who runs
    /// their own code against the directory as it stands now.
    func forger(_ stale: Session) async throws -> Session {
        let office = try session("office")
        try await office.refresh()
        let directory = office.directory
        guard let principal = directory.principals[stale.principal.id] else {
            throw TutelaError(.notFound, "\(stale.principal.id) was never enrolled")
        }
        return Session(
            vault: vault, meta: stale.meta, directory: directory, principal: principal,
            identity: stale.identity)
    }
}
