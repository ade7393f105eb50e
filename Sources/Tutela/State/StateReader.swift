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
            try StateMap.recordValue(label: record.labelBytes, sealed: record.sealedBytes))
    }

    /// Records a read found no envelope for: the state must not say they have one.
    private(set) var absentRecords: [RecordID] = []
}

/// Reads of the vault's state outside a transaction: the log's newest entry and the buckets and
/// paths that prove what a read found.
struct StateReader: Sendable {
    let store: any VaultStore
    let directory: Directory

    /// Thrown when the log's newest entry is signed by someone this session's directory does not
    /// know yet: the session catches up and reads again.
    struct UnknownSigner: Error {}

    /// The log's newest entry (its hash recomputed and its signature checked) and its state.
    func committed() async throws -> (hash: [UInt8]?, state: StateHead) {
        guard let last = try await store.lastLink(.audit) else { return (nil, .empty) }
        guard let keys = directory.principals[last.signer]?.signingKeys else {
            throw UnknownSigner()
        }
        let content = SignedChain.checkContent(last, in: .audit, signerKeys: keys)
        guard content.signature, content.hash else {
            throw TutelaError(
                .tampered, "the audit log's last entry is not genuine",
                hint: AuditLog.restoreHint)
        }
        return (
            last.hash,
            try AuditEntry.parse(last.body, context: "audit entry \(last.sequence)").state
        )
    }

    /// The first claim `state` does not hold, or nil when it holds them all.
    func firstMismatch(_ claims: StateClaims, in state: StateHead) async throws -> StateKey? {
        var wanted: [UInt16: [(key: StateKey, value: [UInt8]?)]] = [:]
        for claim in claims.entries { wanted[claim.key.bucket, default: []].append(claim) }
        var absent: [UInt16: [RecordID]] = [:]
        for id in claims.absentRecords {
            absent[StateKey.record(id).bucket, default: []].append(id)
        }
        var children: [String: [[UInt8]]] = [:]
        for b in Set(wanted.keys).union(absent.keys).sorted() {
            let name = StateMap.prefix(b, depth: 4)
            let rows = try await store.objects(kind: StateMap.bucketKind, key: name)
            guard rows.count <= 1, rows.allSatisfy({ $0.id == name }) else {
                throw TutelaError.tampered("state bucket \(name) is misfiled")
            }
            let entries =
                try rows.first.map { row throws(TutelaError) in
                    try StateMap.decode(row.body, bucket: b)
                } ?? [:]
            for depth in 0...3 {
                let prefix = StateMap.prefix(b, depth: depth)
                guard children[prefix] == nil else { continue }
                children[prefix] = try StateMap.children(
                    prefix,
                    rows: try await store.objects(
                        kind: StateMap.nodeKind, key: StateMap.parentKey(prefix)))
            }
            let some = wanted[b]?.first?.key ?? absent[b].map { StateKey.record($0[0]) }
            guard
                try StateMap.root(
                    bucket: b, hash: try StateMap.bucketHash(b, entries), children: children)
                    == state.root
            else { return some }
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
    /// the directory's head, every label in stored order, and every fact of every kind. (Each
    /// record's envelope is checked when it is read.)
    func mismatchAll(_ state: StateHead) async throws -> String? {
        guard Vault.directory(try await store.lastLink(.directory), matches: state) else {
            return "the directory's newest statements"
        }
        var chain = StateMap.zero
        var count: Int64 = 0
        var cursor: LabelCursor?
        repeat {
            let (rows, next) = try await store.labels(from: cursor, limit: 4096)
            chain = try StateHead.chain(chain, rows: rows)
            count += Int64(rows.count)
            cursor = next
        } while cursor != nil
        guard count == state.labelCount, chain == state.labelChain else {
            return "the stored labels (\(count) of the \(state.labelCount) the log counts)"
        }
        var claims = StateClaims()
        for kind in FactKind.allCases {
            try claims.addFacts(
                try await store.objects(kind: kind.rawValue, key: nil), kind: kind, subject: nil)
        }
        return try await firstMismatch(claims, in: state).map(StateTransaction.describe)
    }
}

extension Vault {
    /// Checks everything stored against the state of the log's newest entry (see
    /// ``StateReader/mismatchAll(_:)``), reading again if a write raced it.
    /// - Throws: `.tampered` naming what does not match.
    func verifyState(directory: Directory) async throws {
        let reader = StateReader(store: store, directory: directory)
        for _ in 0..<3 {
            let before: (hash: [UInt8]?, state: StateHead)
            do { before = try await reader.committed() } catch is StateReader.UnknownSigner {
                throw Self.directoryMismatch
            }
            guard let problem = try await reader.mismatchAll(before.state) else { return }
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
}

extension Session {
    /// For tests: a store transaction that makes `write` as a command of this person's would —
    /// checked against the vault's state, with an audit entry of theirs committing to it — to run
    /// between another command's reads and its writes, or to play an insider who writes rows and
    /// signs what their own key can sign.
    package func committedWrite(
        _ write: @escaping @Sendable (any VaultTransaction) async throws -> Void
    ) -> @Sendable (any VaultTransaction) async throws -> Void {
        let identity = self.identity
        let entry = auditEntry(.seal, subject: nil, reason: "a racing write (test)")
        return { tx in
            try await StateTransaction.within(tx) { state in
                try await write(state)
                try await Session.appendAudit(entry, tx: state, signer: identity)
            }
        }
    }

    /// The log's newest entry and its state, catching up with the directory first if a person
    /// this session does not know yet signed it.
    func committedState() async throws -> (hash: [UInt8]?, state: StateHead) {
        do {
            return try await StateReader(store: store, directory: directory).committed()
        } catch is StateReader.UnknownSigner {
            try await refresh()
            return try await StateReader(store: store, directory: directory).committed()
        }
    }

    /// Runs `read` and checks what it found against the state the log's newest entry committed to.
    /// A read that raced a write runs again; a mismatch while the log stood still is tampering.
    /// - Throws: `.tampered` (65) naming what does not match.
    func verifiedRead<T>(_ read: () async throws -> (T, StateClaims)) async throws -> T {
        for _ in 0..<4 {
            let reader = StateReader(store: store, directory: directory)
            let before: (hash: [UInt8]?, state: StateHead)
            do { before = try await reader.committed() } catch is StateReader.UnknownSigner {
                try await refresh()
                continue
            }
            let (value, claims) = try await read()
            guard let bad = try await reader.firstMismatch(claims, in: before.state) else {
                return value
            }
            let after = try? await reader.committed()
            if after?.hash == before.hash { throw StateTransaction.mismatch(bad) }
        }
        throw TutelaError.tryAgain("the vault kept changing while this was read; try again")
    }
}
