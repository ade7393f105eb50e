import Foundation
import Testing

@testable import Tutela

/// A small centre: the office (authority), two tutors, a record keeper, a safeguarding officer, and
/// two learners — Sam (enrolled as a principal, tutor Price) and Alex (not a principal, tutor Jones).
struct Fixture {
    let store: MemoryVaultStore
    let vault: Vault
    let sessions: [String: Session]

    static func passphrase(_ who: String) throws -> Passphrase {
        try Passphrase("test passphrase for \(who)")
    }

    /// A shipped policy file, read from the source tree.
    static func shippedPolicy(_ name: String = "school.yaml") throws -> (
        text: [UInt8], source: String
    ) {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("KeyPolicies/\(name)")
        return ([UInt8](try Data(contentsOf: url)), name)
    }

    static func make(clock: Clock = Clock { 1_795_000_000 }) async throws -> Fixture {
        let store = MemoryVaultStore()
        try await Vault.create(
            store: store, authorityID: "office", authorityName: "Centre office",
            passphrase: passphrase("office"), kdf: .interactive, clock: clock,
            policy: shippedPolicy())
        let vault = Vault(store: store, clock: clock)
        let office = try await vault.unlock("office", passphrase: passphrase("office"))
        let people: [(String, [Role])] = [
            ("price", [.tutor]), ("jones", [.tutor]), ("hale", [.recordKeeper]),
            ("dsl", [.safeguardingOfficer]), ("sam", [.learner]),
        ]
        for (id, roles) in people {
            try await office.enrol(
                id, name: id.capitalized, roles: roles, passphrase: passphrase(id))
        }
        try await office.addLearner(
            "sam", name: "Sam Taylor", tutor: "price", dateOfBirth: CalendarDate("2010-03-14"),
            programme: "Young Apprenticeship")
        try await office.addLearner(
            "alex", name: "Alex Morgan", tutor: "jones", dateOfBirth: nil, programme: "Diploma")
        var sessions = ["office": office]
        for (id, _) in people {
            sessions[id] = try await vault.unlock(id, passphrase: passphrase(id))
        }
        return Fixture(store: store, vault: vault, sessions: sessions)
    }

    func session(_ id: String) throws -> Session {
        try #require(sessions[id])
    }

    static func form(learner: String = "sam", marker: String = "steady progress") throws
        -> ProgressReview
    {
        let json = """
            {"learner": "\(learner)", "date": "2026-11-20", "course": "Level 2 Diploma in Construction",
             "attendance": {"lessons": 40, "absences": 3}, "punctuality": "good",
             "comments": "\(marker)", "copiesTo": ["learner"]}
            """
        return try ProgressReview.parse(Array(json.utf8), source: "test form")
    }
}

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
