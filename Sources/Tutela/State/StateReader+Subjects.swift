extension StateReader {
    /// What of the state's subject indexes `subjects` (rebuilt from the log) does not hold, in
    /// words, or nil. Each index's count, newest entry and chain must be the log's; a record's
    /// sealing, which the index binds when it is made, must be a genuine sealing of that record
    /// — an entry about it that filed one label (``SubjectReplay`` has checked that each label was
    /// filed by the sealing of its own record) — with the digest the index holds. (That a record
    /// sealed has its sealing bound is checked with the label rows.) `held` is what the map's rows
    /// hold, from ``heldIndexes(_:)``.
    func subjectMismatch(
        _ state: StateHead, subjects: SubjectReplay, held: [String: SubjectIndex]
    ) async throws -> String? {
        var claims = StateClaims()
        for (subject, rebuilt) in subjects.subjects {
            var claimed = rebuilt
            if let index = held[subject], index.sealing >= 0 {
                if let problem = try await sealingMismatch(
                    subject, at: index.sealing, digest: index.sealingDigest)
                {
                    return problem
                }
                claimed = rebuilt.with(sealing: index.sealing, digest: index.sealingDigest)
            }
            claims.add(.audit(subject), claimed.value)
        }
        if let bad = try await firstMismatch(claims, in: state) {
            return StateTransaction.describe(bad)
        }
        return nil
    }

    /// The index each of `subjects` has in the map's rows, as stored (unproven: what
    /// ``subjectMismatch(_:subjects:held:)`` claims from it is proven there).
    func heldIndexes(_ subjects: SubjectReplay) async throws -> [String: SubjectIndex] {
        let held = try await StateMap.stored(subjects.subjects.keys.map(StateKey.audit), in: store)
        var indexes: [String: SubjectIndex] = [:]
        for subject in subjects.subjects.keys {
            if let index = try? SubjectIndex(held[StateKey.audit(subject).text], subject: subject) {
                indexes[subject] = index
            }
        }
        return indexes
    }

    /// What is wrong with the entry at `sequence` as `subject`'s sealing, or nil.
    private func sealingMismatch(_ subject: String, at sequence: Int64, digest: [UInt8])
        async throws -> String?
    {
        let problem =
            "the index of the audit entries about \(subject) (entry \(sequence) did not seal it)"
        guard sequence > 0, let link = try await store.link(.audit, at: sequence),
            let before = try await store.link(.audit, at: sequence - 1)
        else { return problem }
        let entry = try AuditEntry.parse(link.body, context: "audit entry \(sequence)")
        let previous = try AuditEntry.parse(before.body, context: "audit entry \(sequence - 1)")
        guard SubjectIndex.seals(entry, subject),
            entry.state.labelCount == previous.state.labelCount + 1,
            try entry.contentDigest() == digest
        else { return problem }
        return nil
    }
}
