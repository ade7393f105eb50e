// `audit verify`'s check of the whole state: every label, fact, index, record entry and key of
// the map against the state the log's newest entry committed to.

extension StateReader {
    /// What of the whole vault `state` does not hold, in words, or nil when it holds all of it:
    /// the directory's head, every label in stored order, every fact of every kind, the whole map,
    /// and each re-sealed envelope against the entry that wrote it. (Each record's envelope is
    /// checked when it is read.)
    func mismatchAll(_ state: StateHead, reseals: ResealCheck, subjects: SubjectReplay)
        async throws -> String?
    {
        guard Vault.directory(try await store.lastLink(.directory), matches: state) else {
            return "the directory's newest statements"
        }
        var chain = StateMap.zero
        var count: Int64 = 0
        var cursor: LabelCursor?
        var adding = 0
        var sealed = StateMap.zero
        var filed: [StateKey: FiledLabels] = [:]
        var authors: Set<PrincipalID> = []
        // A record with entries beyond its sealing whose index does not say where it was sealed.
        let held = try await heldIndexes(subjects)
        let unbound = Set(subjects.subjects.keys.filter { (held[$0]?.sealing ?? -1) < 0 })
        repeat {
            let (rows, next) = try await store.labels(from: cursor, limit: 4096)
            let digests = try StateHead.parallelDigests(rows)
            chain = try StateHead.chain(chain, digests: digests)
            for (n, row) in rows.enumerated() {
                if let problem = CommitCheck.label(
                    row.labelBytes, index: count, adds: reseals.labelAdds, cursor: &adding,
                    directory: directory)
                {
                    return problem
                }
                // Each learner's and each author's labels, counted and chained as filed.
                let digest = Array(digests[(n * 32)..<(n * 32 + 32)])
                let author = try Label.parse(row.labelBytes).author
                authors.insert(author)
                for key in [StateKey.learner(row.learner), .author(author)] {
                    try filed[key, default: FiledLabels()].add(digest: digest)
                }
                if count < subjects.labels {
                    sealed = try SubjectReplay.chain(sealed, row.record.text)
                }
                if unbound.contains(row.record.text) {
                    return "the index of the audit entries about \(row.record) (it does not say "
                        + "where the record was sealed)"
                }
                count += 1
            }
            cursor = next
        } while cursor != nil
        guard count == state.labelCount, chain == state.labelChain else {
            return "the stored labels (\(count) of the \(state.labelCount) the log counts)"
        }
        // Every label's record has its contents, unless a certificate says it was destroyed
        // (each certificate's own record entry and label are checked with the map, below).
        let certified = try await store.objects(kind: FactKind.tombstone.rawValue, key: nil).count
        let contents = try await store.recordCount()
        guard contents == count - Int64(certified) else {
            return "the stored records (\(contents), where the \(count) labels less \(certified) "
                + "destroyed make \(count - Int64(certified)): contents deleted or added outside "
                + "Tutela)"
        }
        // Each label was filed by the entry that sealed its own record.
        guard count < subjects.labels || sealed == subjects.sealed else {
            return "the stored labels (not each filed by the entry that sealed its record)"
        }
        var claims = StateClaims()
        for (key, labels) in filed { claims.add(key, labels.value) }
        // And each author's rows as the store files them (its author column), as lists read them.
        for author in authors {
            try claims.addFiled(try await store.labels(author: author), under: .author(author))
        }
        var stored: [FactKind: [String: (key: String, bodyHash: [UInt8])]] = [:]
        var bodies: [FactKind: [String: [UInt8]]] = [:]
        for kind in FactKind.allCases {
            let objects = try await store.objects(kind: kind.rawValue, key: nil)
            try claims.addFacts(objects, kind: kind, subject: nil)
            for object in objects {
                stored[kind, default: [:]][object.id] = (object.key, try StateMap.hash(object.body))
                bodies[kind, default: [:]][object.id] = object.body
            }
        }
        if let bad = try await firstMismatch(claims, in: state) {
            return StateTransaction.describe(bad)
        }
        // Each subject's index of entries, as the log rebuilt it. (An index the log does not
        // account for can make no reading show anything: each entry it names must be about its
        // subject and link back, and its chain must hold.)
        if let problem = try await subjectMismatch(state, subjects: subjects, held: held) {
            return problem
        }
        if let problem = try await factLogMismatch(state, stored: stored, bodies: bodies) {
            return problem
        }
        // Every key the map may hold but a record's: the labels filed, the facts stored and the
        // subjects the log indexes, each proven above. Any other was written into a forged state.
        var accounted = Set(claims.entries.map(\.key.text))
        for subject in subjects.subjects.keys { accounted.insert(StateKey.audit(subject).text) }
        return try await resealMismatch(
            state, reseals: reseals, flagged: Set((stored[.flag] ?? [:]).keys),
            destroyed: Set((stored[.tombstone] ?? [:]).values.map(\.key)), accounted: accounted)
    }

    /// Replays the fact log (see ``FactChange``): what is wrong with it, or nil.
    func factLogMismatch(
        _ state: StateHead, stored: [FactKind: [String: (key: String, bodyHash: [UInt8])]],
        bodies: [FactKind: [String: [UInt8]]] = [:]
    ) async throws -> String? {
        let rows = try await store.objects(kind: FactChange.storedKind, key: nil)
        var chain = StateMap.zero
        var replay = FactLogReplay()
        var entries: [Int64: AuditEntry] = [:]
        for (index, row) in rows.enumerated() {
            guard row.id == FactChange.rowID(Int64(index)), row.key == FactChange.logKey else {
                return "the fact log (row \(row.id) is out of place)"
            }
            let change = try FactChange.decode(row.body, context: "fact log row \(row.id)")
            chain = try change.chained(after: chain)
            if entries[change.sequence] == nil {
                guard let link = try await store.link(.audit, at: change.sequence) else {
                    return "the fact log (row \(row.id) names an audit entry the log does not have)"
                }
                entries[change.sequence] = try AuditEntry.parse(
                    link.body, context: "audit entry \(link.sequence)")
            }
            guard let entry = entries[change.sequence] else { continue }
            if let problem = replay.apply(change, by: entry) { return problem }
        }
        guard Int64(rows.count) == state.factCount, chain == state.factChain else {
            return "the fact log (\(rows.count) changes, \(state.factCount) in the log's state)"
        }
        for record in replay.destroyed
        where replay.facts[.tombstone]?.values.contains(where: { $0.key == record }) != true {
            return "the facts of \(record), removed by a destruction that left no certificate"
        }
        for kind in FactKind.allCases {
            let want = replay.facts[kind] ?? [:]
            let have = stored[kind] ?? [:]
            guard want.count == have.count,
                want.allSatisfy({ id, fact in
                    have[id].map { $0.key == fact.key && $0.bodyHash == fact.bodyHash } ?? false
                })
            else {
                return "the \(kind.rawValue) facts stored (they are not what the fact log's "
                    + "changes make)"
            }
            for (id, body) in bodies[kind] ?? [:] {
                guard let writer = replay.writers[kind]?[id] else { continue }
                if let problem = CommitCheck.fact(
                    body, kind: kind, id: id, writer: writer, directory: directory)
                {
                    return problem
                }
            }
        }
        return nil
    }
}

extension Vault {
    /// Checks everything stored against the state of the log's newest entry (see
    /// ``StateReader/mismatchAll(_:reseals:subjects:)``), reading again if a write raced it.
    /// - Throws: `.tampered` naming what does not match.
    /// - Parameter walked: the hash of the last entry the replays walked to; a log that has moved
    ///   on since throws ``LogMoved`` (their indexes would not match a later state).
    func verifyState(
        directory: Directory, reseals: ResealCheck, subjects: SubjectReplay, walked: [UInt8]?
    ) async throws {
        let reader = StateReader(store: store, directory: directory)
        for _ in 0..<3 {
            let before: (hash: [UInt8]?, state: StateHead)
            do { before = try await reader.committed() } catch is StateReader.UnknownSigner {
                throw Self.directoryMismatch
            }
            guard before.hash == walked else { throw LogMoved() }
            guard
                let problem = try await reader.mismatchAll(
                    before.state, reseals: reseals, subjects: subjects)
            else {
                return
            }
            let after = try? await reader.committed()
            if after?.hash == before.hash {
                throw TutelaError(
                    .tampered,
                    "\(problem) do not match the vault's state as its audit log records it: "
                        + "something stored was deleted, moved, replayed from an older copy or "
                        + "rolled back",
                    hint: AuditLog.restoreHint)
            }
        }
        throw TutelaError.tryAgain("the vault kept changing while it was checked; try again")
    }

    /// The log moved on between the walk of `audit verify` and its check of the state.
    struct LogMoved: Error {}
}
