/// Caseloads, and the check every change to who is who makes first: no record may be left with no
/// one who can read it (break-glass aside) without the administrator being told which, and why,
/// and confirming.
extension Administration {
    /// Records a directory change would leave with no reader: before it, someone the policy names
    /// holds a key slot they can use; after it, no one does. A change that is confirmed goes ahead.
    public struct ReadersLost: Sendable, Equatable {
        /// The records, with the readers each had.
        public let records: [(record: RecordID, readers: [PrincipalID])]

        public static func == (a: ReadersLost, b: ReadersLost) -> Bool {
            a.records.map(\.record) == b.records.map(\.record)
        }
    }

    /// The records `statement` would leave with no reader; `losingKeys` names someone whose key
    /// slots the change makes useless (revoked, or given new keys).
    func readersLost(
        by statement: DirectoryStatement, losingKeys: PrincipalID?
    ) async throws -> ReadersLost {
        guard let policy = directory.policy else { return ReadersLost(records: []) }
        var after = directory
        try after.apply(
            statement, signer: principal.id, isGenesis: false, time: vault.clock.now())
        // Who reads a flagged record is decided in its state, from verified flags: a learner or
        // parent the flag withholds it from is no reader of it, slot or no slot.
        var flags: [RecordID: SafeguardingFlag] = [:]
        for flag in try await facts(SafeguardingFlag.self, about: nil) { flags[flag.record] = flag }
        var lost: [(RecordID, [PrincipalID])] = []
        for row in try await store.labels(learner: nil) {
            guard let stored = try await store.record(row.record) else { continue }
            let label = try Label.parse(stored.labelBytes)
            let flag = flags[label.record]
            try flag?.check(label: label, directory: directory)
            let state = RecordState(flagged: flag != nil)
            let holders = Set(
                stored.slots.compactMap { slot -> PrincipalID? in
                    guard case .person(let id) = slot.recipient else { return nil }
                    return id
                })
            let before = policy.recipients(for: label, state: state, directory: directory)
                .filter(holders.contains)
            let named = policy.recipients(for: label, state: state, directory: after)
            let remaining = named.filter { holders.contains($0) && $0 != losingKeys }
            // A flagged record is read by its officers through the group's slot (a disclosure),
            // while someone holds the group's role: it is not left without a reader. A group slot
            // on a record that is not flagged (written there by someone with the database) counts
            // for no one.
            let officersRead =
                state.flagged
                && stored.slots.contains {
                    guard case .group(let role, _) = $0.recipient else { return false }
                    return !after.holders(of: role).isEmpty
                }
            if !before.isEmpty, remaining.isEmpty, !officersRead {
                lost.append((row.record, before))
            }
        }
        return ReadersLost(records: lost)
    }

    /// Refuses `statement` when it would leave records with no reader, unless `confirmed`.
    func requireReaders(
        _ statement: DirectoryStatement, losingKeys: PrincipalID?, confirmed: Bool,
        what: String
    ) async throws {
        guard !confirmed else { return }
        let lost = try await readersLost(by: statement, losingKeys: losingKeys)
        guard !lost.records.isEmpty else { return }
        let list = lost.records.prefix(20).map {
            "\($0.record) (read now only by \($0.readers.map(\.text).joined(separator: ", ")))"
        }
        throw TutelaError.confirm(
            "\(what) would leave \(lost.records.count) records with no one who can read them, "
                + "except through break-glass: " + list.joined(separator: "; ")
                + (lost.records.count > 20 ? "; …" : ""),
            hint: "where the policy gives a learner's tutor access, move the learners first "
                + "(tutela learner reassign); otherwise confirm with --confirm")
    }

    /// The learners whose tutor is `tutor`, in id order.
    public func caseload(of tutor: PrincipalID) -> [LearnerID] {
        let tutor = directory.resolve(tutor)
        return directory.learners.values.filter { $0.tutor == tutor }.map(\.id).sorted()
    }

    /// Moves `learners` to `tutor`, one signed statement each. The new tutor is granted what the
    /// policy gives an assigned tutor by the next command of someone who can open each record
    /// (``Lifecycle/grantPending()``); until then ``Lifecycle/slotChanges(record:)`` lists it.
    /// - Returns: the learners moved.
    @discardableResult
    public func reassign(_ learners: [LearnerID], to tutor: PrincipalID, confirmed: Bool = false)
        async throws -> [LearnerID]
    {
        try await session.decidingAfresh {
            let learners = learners.map(directory.resolve)
            let tutor = directory.resolve(tutor)
            try requireAdministrator("reassign learners")
            // Learners already with the tutor are left as they are (a run repeated after a
            // confirmation, or after another command moved some): nothing is moved twice.
            let moving = learners.filter { directory.learners[$0]?.tutor != tutor }
            // Every move is checked before any is made: a refusal moves no one.
            for learner in moving {
                try await requireReaders(
                    .reassign(learner: learner, tutor: tutor), losingKeys: nil,
                    confirmed: confirmed, what: "moving \(learner) to \(tutor)")
            }
            for learner in moving {
                try await appendStatement(
                    .reassign(learner: learner, tutor: tutor), audit: .learnerTutor,
                    subject: learner.text)
            }
            return moving
        }
    }
}
