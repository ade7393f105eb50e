import Synchronization

/// What a read outside a transaction found, to check against the vault's state: each key's value
/// as the read saw it (nil where it saw nothing).
struct StateClaims: Sendable {
    private(set) var entries: [(key: StateKey, value: [UInt8]?)] = []

    init() {}

    mutating func add(_ key: StateKey, _ value: [UInt8]?) { entries.append((key, value)) }

    /// The facts of `kind` a read returned: filed under `subject`, or — for every subject — each
    /// subject's group and how many subjects there are, so that a listing is complete.
    static func facts(_ objects: [StoredObject], kind: FactKind, subject: String?)
        throws(TutelaError)
        -> StateClaims
    {
        var claims = StateClaims()
        try claims.addFacts(objects, kind: kind, subject: subject)
        return claims
    }

    mutating func addFacts(_ objects: [StoredObject], kind: FactKind, subject: String?)
        throws(TutelaError)
    {
        if let subject {
            add(.facts(kind, subject), try StateMap.factsValue(objects))
            return
        }
        let groups = Dictionary(grouping: objects, by: \.key)
        add(.count(kind), StateMap.countValue(Int64(groups.count)))
        for (subject, group) in groups {
            add(.facts(kind, subject), try StateMap.factsValue(group))
        }
    }

    /// A record as read: its label and envelope, or nothing.
    mutating func addRecord(_ id: RecordID, _ record: StoredRecord?) throws(TutelaError) {
        guard let record else {
            absentRecords.append(id)
            return
        }
        add(
            .record(id),
            try StateMap.recordEntry(label: record.labelBytes, sealed: record.sealedBytes))
    }

    /// Records a read found no envelope for: the state must not say they have one.
    private(set) var absentRecords: [RecordID] = []

}

/// Reads of the vault's state outside a transaction: the log's newest entry and the buckets and
/// paths that prove what a read found.
struct StateReader: Sendable {
    let store: any VaultStore
    let directory: Directory
    var cache: StateCache?

    /// Thrown when the log's newest entry is signed by someone this session's directory does not
    /// know yet, or under a directory position it has not reached (whose key was the signer's
    /// then is not known yet): the session catches up and reads again.
    struct UnknownSigner: Error {}

    /// The log's newest entry (its hash recomputed and its signature checked) and its state.
    func committed() async throws -> (hash: [UInt8]?, state: StateHead) {
        guard let last = try await store.lastLink(.audit) else { return (nil, .empty) }
        let state = try Self.check(last, directory: directory, cache: cache)
        return (last.hash, state)
    }

    /// The state the newest entry `tx` holds committed to (the empty state before the first
    /// entry), that entry shown genuine first (a session's cache spares the signature check):
    /// the state every write chains to and every decision in a transaction rests on.
    static func committed(
        in tx: any VaultTransaction, directory: Directory?, cache: StateCache?
    ) async throws -> StateHead {
        guard let last = try await tx.lastLink(.audit) else { return .empty }
        guard let directory else {
            throw TutelaError.internal("a transaction over a log ran without its directory")
        }
        do {
            return try check(last, directory: directory, cache: cache)
        } catch is UnknownSigner {
            // With the directory this transaction runs under still the vault's, an entry resting
            // on statements it does not hold means statements were cut.
            if try await tx.lastLink(.directory)?.hash == directory.head?.hash {
                throw Vault.directoryMismatch
            }
            throw TutelaError.tryAgain(
                "someone enrolled meanwhile signed the vault's last entry; run it again")
        }
    }

    /// The state the log's last link commits to, once that link is shown genuine: its hash
    /// recomputed, its signature checked against its signer's keys, its signer not revoked, and
    /// the log not behind what this session saw.
    /// - Throws: ``UnknownSigner`` for a signer the directory does not know yet; `.tampered`.
    static func check(_ last: ChainLink, directory: Directory, cache: StateCache?) throws
        -> StateHead
    {
        // An entry already checked is recognised by its hash, recomputed from its bytes, and
        // spares its signature only while the directory it was judged by is still this one: an
        // entry resting on fewer statements than the session now holds (the log cut back under a
        // session that has caught up with the directory), or signed by someone since revoked, is
        // judged in full below. Only a genuine entry is compared with the newest this session
        // saw, and remembered as it.
        if let state = cache?.state(link: last.hash), SignedChain.checkHash(last, in: .audit),
            state.directoryCount == directory.statementCount,
            state.directoryHash == (directory.head?.hash ?? StateMap.zero),
            directory.principals[last.signer]?.revoked == false
        {
            try cache?.see(last)
            return state
        }
        guard let signer = directory.principals[last.signer] else { throw UnknownSigner() }
        let entry = try AuditEntry.parse(last.body, context: "audit entry \(last.sequence)")
        // Judged only by a directory that has reached the entry's position: one behind it may not
        // know yet that the key was retired — and what is judged here is remembered.
        guard entry.state.directoryCount <= directory.statementCount else { throw UnknownSigner() }
        // Every statement is appended with the entry that commits it, so the newest entry rests on
        // every statement there is: one resting on fewer, or on another head, was made behind a
        // cut directory or forged.
        guard entry.state.directoryCount == directory.statementCount,
            entry.state.directoryHash == (directory.head?.hash ?? StateMap.zero)
        else {
            throw TutelaError(
                .tampered,
                "the audit log's last entry rests on a directory of \(entry.state.directoryCount) "
                    + "statements, not the \(directory.statementCount) this vault's directory holds",
                hint: AuditLog.restoreHint)
        }
        let content = SignedChain.checkContent(
            last, in: .audit,
            signerKeys: signer.signingKeys(madeUnder: entry.state.directoryCount))
        guard content.signature, content.hash, !signer.revoked else {
            throw TutelaError(
                .tampered,
                signer.revoked
                    ? "the audit log's last entry is signed by '\(signer.id)', who was revoked"
                    : "the audit log's last entry is not genuine",
                hint: AuditLog.restoreHint)
        }
        try cache?.see(last)
        let state = entry.state
        cache?.remember(link: last.hash, state: state)
        return state
    }

    /// The first claim `state` does not hold, or nil when it holds them all.
    func firstMismatch(_ claims: StateClaims, in state: StateHead) async throws -> StateKey? {
        var wanted: [UInt16: [(key: StateKey, value: [UInt8]?)]] = [:]
        for claim in claims.entries { wanted[claim.key.bucket, default: []].append(claim) }
        var absent: [UInt16: [RecordID]] = [:]
        for id in claims.absentRecords {
            absent[StateKey.record(id).bucket, default: []].append(id)
        }
        var children = cache?.children(root: state.root) ?? [:]
        let buckets = Set(wanted.keys).union(absent.keys).sorted()
        // What the session had proven when this began, taken once: remembering the buckets proven
        // below may empty the cache part-way (it is bounded), and a bucket that was cached here
        // must not then be taken for one with no rows.
        var cached: [UInt16: [String: [UInt8]]] = [:]
        for b in buckets {
            if let proven = cache?.bucket(b, root: state.root) { cached[b] = proven }
        }
        // Every bucket and node row the proofs need that the session has not proven, read at
        // once (a tutor's list proves a list for each tutee: reads one after another would be
        // most of its time).
        let unproven = buckets.filter { cached[$0] == nil }
        var bucketRows: [String: [StoredObject]] = [:]
        var nodeRows: [String: [StoredObject]] = [:]
        if !unproven.isEmpty {
            for row in try await store.objects(
                kind: StateMap.bucketKind, keys: unproven.map { StateMap.prefix($0, depth: 4) })
            {
                bucketRows[row.key, default: []].append(row)
            }
            let prefixes = Set(
                unproven.flatMap { b in (0...3).map { StateMap.prefix(b, depth: $0) } }
            ).filter { children[$0] == nil }
            for row in try await store.objects(
                kind: StateMap.nodeKind, keys: prefixes.map(StateMap.parentKey))
            {
                nodeRows[row.key, default: []].append(row)
            }
        }
        for b in buckets {
            var entries: [String: [UInt8]]
            if let proven = cached[b] {
                entries = proven
            } else {
                let name = StateMap.prefix(b, depth: 4)
                let rows = bucketRows[name] ?? []
                guard rows.count <= 1, rows.allSatisfy({ $0.id == name }) else {
                    throw TutelaError.tampered("state bucket \(name) is misfiled")
                }
                entries = [:]
                if let row = rows.first { entries = try StateMap.decode(row.body, bucket: b) }
                for depth in 0...3 {
                    let prefix = StateMap.prefix(b, depth: depth)
                    guard children[prefix] == nil else { continue }
                    children[prefix] = try StateMap.children(
                        prefix, rows: nodeRows[StateMap.parentKey(prefix)] ?? [])
                }
                let some = wanted[b]?.first?.key ?? absent[b].map { StateKey.record($0[0]) }
                let (root, proved) = try StateMap.path(
                    bucket: b, hash: try StateMap.bucketHash(b, entries), children: children)
                guard root == state.root else { return some }
                cache?.remember(bucket: b, entries, children: proved, root: state.root)
            }
            for claim in wanted[b] ?? [] where entries[claim.key.text] != claim.value {
                return claim.key
            }
            for id in absent[b] ?? [] {
                if let value = entries[StateKey.record(id).text], StateMap.hasEnvelope(value) {
                    return .record(id)
                }
            }
        }
        return nil
    }
}

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
