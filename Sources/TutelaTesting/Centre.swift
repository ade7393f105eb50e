public import Foundation
public import Tutela

/// The one centre every test target builds on: the office (authority), two tutors, a record keeper,
/// a safeguarding officer, a head of centre, and two learners — Sam (enrolled as a principal, tutor
/// Price) and Alex (not a principal, tutor Jones) — under the shipped school policy, on any store.
/// The safeguarding team's and the heads' group keys are made by their members, as their first
/// command would, so records are sealed with their break-glass shares (a centre made without its
/// groups has neither the head nor the keys).
public struct Centre<Store: VaultStore>: Sendable {
    /// The store the centre's vault lives in.
    public let store: Store
    /// The vault, with the centre's clock.
    public let vault: Vault
    /// Everyone's session, unlocked once when the centre was made.
    public let sessions: [PrincipalID: Session]

    /// The people enrolled, with their roles, besides the office.
    public static var people: [(id: PrincipalID, roles: [Role])] {
        [
            ("price", [.tutor]), ("jones", [.tutor]), ("hale", [.recordKeeper]),
            ("dsl", [.safeguardingOfficer]), ("head", [.headOfCentre]), ("sam", [.learner]),
        ]
    }

    /// Each person's passphrase in tests.
    public static func passphrase(_ who: PrincipalID) throws -> Passphrase {
        try Passphrase("test passphrase for \(who)")
    }

    /// Makes the centre in `store`, which must hold no vault yet.
    /// - Parameters:
    ///   - store: where the vault goes.
    ///   - clock: the time every session sees.
    ///   - groups: false for the centre before its groups exist: no head of centre is enrolled and
    ///     no group has a key, so no record whose policy asks for break-glass can be sealed in it.
    public static func make(
        store: Store, clock: Clock = Clock { 1_795_300_000 }, groups: Bool = true
    ) async throws -> Centre {
        let people = groups ? Self.people : Self.people.filter { !$0.roles.contains(.headOfCentre) }
        try await Vault.create(
            store: store, authorityID: "office", authorityName: "Centre office",
            passphrase: passphrase("office"), kdf: .interactive, clock: clock,
            policy: TestFiles.shippedPolicy())
        let vault = Vault(store: store, clock: clock)
        let office = try await vault.unlock("office", passphrase: passphrase("office"))
        for (id, roles) in people {
            try await office.administration.enrol(
                id, name: id.text.capitalized, roles: roles, passphrase: passphrase(id))
        }
        try await office.administration.addLearner(
            "sam", name: "Sam Taylor", tutor: "price", dateOfBirth: CalendarDate("2010-03-14"),
            programme: "Young Apprenticeship")
        try await office.administration.addLearner(
            "alex", name: "Alex Morgan", tutor: "jones", dateOfBirth: nil, programme: "Diploma")
        var sessions: [PrincipalID: Session] = ["office": office]
        for (id, _) in people {
            sessions[id] = try await vault.unlock(id, passphrase: passphrase(id))
        }
        guard groups else { return Centre(store: store, vault: vault, sessions: sessions) }
        for id: PrincipalID in ["dsl", "head"] {
            _ = try await sessions[id]?.lifecycle.catchUpGroups()
        }
        // Unlocked again: every session, the office's too, sees the group keys.
        for id in ["office"] + people.map(\.id) {
            sessions[id] = try await vault.unlock(id, passphrase: passphrase(id))
        }
        return Centre(store: store, vault: vault, sessions: sessions)
    }

    /// The session unlocked for `id` when the centre was made.
    /// - Throws: `.notFound` for someone not in the centre.
    public func session(_ id: PrincipalID) throws -> Session {
        guard let session = sessions[id] else {
            throw TutelaError(.notFound, "the test centre has no one called \(id)")
        }
        return session
    }

    /// A shipped policy file from `KeyPolicies/`.
    public static func shippedPolicy(_ name: String = "school.yaml") throws -> (
        text: [UInt8], source: String
    ) { try TestFiles.shippedPolicy(name) }

    /// A small progress review about `learner` whose comments are `marker` (to look for later).
    public static func form(learner: LearnerID = "sam", marker: String = "steady progress") throws
        -> ProgressReview
    {
        try TestFiles.form(learner: learner, marker: marker)
    }
}

extension Centre where Store == FaultInjectingStore<MemoryVaultStore> {
    /// The centre in memory, behind a store that fails or interleaves when a test says so;
    /// `groups` false for the centre before its groups exist.
    public static func make(clock: Clock = Clock { 1_795_300_000 }, groups: Bool = true)
        async throws -> Centre
    {
        try await make(store: FaultInjectingStore(MemoryVaultStore()), clock: clock, groups: groups)
    }
}

/// Files from the source tree and forms that tests share.
public enum TestFiles {
    /// The repository's root, found from this file's place in it.
    public static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// A shipped policy file from `KeyPolicies/`.
    public static func shippedPolicy(_ name: String = "school.yaml") throws -> (
        text: [UInt8], source: String
    ) {
        let url = root.appendingPathComponent("KeyPolicies/\(name)")
        return ([UInt8](try Data(contentsOf: url)), name)
    }

    /// The calendar planning tests live in — their own, not the shipped one (which a school
    /// replaces each year): Autumn 2026 runs 2 September to 18 December, half-term 26–30 October.
    public static let calendar = """
        tutorials:
          terms:
            - {name: "Autumn 2026", starts: 2026-09-02, half-term: [2026-10-26, 2026-10-30], ends: 2026-12-18}
            - {name: "Spring 2027", starts: 2027-01-05, half-term: [2027-02-15, 2027-02-19], ends: 2027-03-26}
            - {name: "Summer 2027", starts: 2027-04-12, half-term: [2027-05-31, 2027-06-04], ends: 2027-07-21}

        """

    /// The shipped school policy with `section` in place of its `tutorials:` section.
    public static func policy(tutorials section: String) throws -> [UInt8] {
        let text = String(decoding: try shippedPolicy().text, as: UTF8.self)
        guard let start = text.range(of: "tutorials:\n"),
            let end = text.range(of: "\n# Who lists every learner")
        else { throw TutelaError(.internal, "the shipped school policy has no tutorials section") }
        return Array(
            text.replacingCharacters(in: start.lowerBound..<end.lowerBound, with: section).utf8)
    }

    /// A small progress review about `learner` whose comments are `marker`.
    public static func form(learner: LearnerID = "sam", marker: String = "steady progress") throws
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
