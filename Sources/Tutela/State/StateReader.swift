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
