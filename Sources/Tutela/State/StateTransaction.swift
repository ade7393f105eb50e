/// A vault transaction that keeps the state map true: every write of a fact or a record is checked
/// first against the state the log's newest entry committed to (so a tampered row is refused, never
/// "fixed" by re-hashing it), and every audit entry the transaction appends commits to the state as
/// it then is. The map's own rows are written once, when the transaction's body returns.
///
/// Every transaction of a vault runs through ``run(_:_:)``; nothing else writes the map's rows.
///
/// Over 400 lines because its pending changes and loaded buckets are `private` (readable, for
/// reading ahead): nothing else in the module may change the state without the checks here — the
/// subject index an entry updates included. The hashing is in `StateMap+Paths`; the index's
/// values, and how a record's sealing is found for it, in `SubjectIndex`.
final class StateTransaction: VaultTransaction {
    private let inner: any VaultTransaction
    /// The state the log's newest entry committed to when this transaction began.
    private var base: StateHead?
    /// The state after the changes sealed into this transaction's audit entries so far.
    private var head: StateHead?
    /// Buckets read (and verified against ``base``), with this transaction's changes.
    private(set) var buckets: [UInt16: [String: [UInt8]]] = [:]
    /// Each loaded node's 16 children as stored, and as this transaction changed them.
    private(set) var storedChildren: [String: [[UInt8]]] = [:]
    private var children: [String: [[UInt8]]] = [:]
    /// Keys checked against the committed state before this transaction first changed them.
    private var touched: Set<StateKey> = []
    /// Fact groups and records changed since the last audit entry, to recompute.
    private var pendingGroups: [StateKey: (kind: FactKind, subject: String)] = [:]
    private var groups = FactGroups()
    private var pendingRecords: [RecordID: [UInt8]] = [:]
    /// The labels of records this transaction touched, kept for once their envelope is gone.
    private var labels: [RecordID: [UInt8]] = [:]
    private var pendingLabels: [(record: RecordID, author: PrincipalID, digest: [UInt8])] = []
    /// Row digests of labels filed under a learner or an author (``FiledLabels``), in order.
    private var pendingFiled: [StateKey: [[UInt8]]] = [:]
    /// Changes of facts since the last audit entry, in order, for the fact log.
    private var pendingChanges:
        [(op: FactChange.Op, kind: FactKind, id: String, key: String, hash: [UInt8])] = []
    /// Buckets changed since the root was last computed, and since the transaction began.
    private var changedBuckets: Set<UInt16> = []
    private var writtenBuckets: Set<UInt16> = []
    /// Changed hashes of buckets and nodes (depth 1…4), by name: their parents' rows are written
    /// when the body returns.
    private var nodeWrites: [String: [UInt8]] = [:]
    /// Buckets and nodes taken from the session's proofs instead of read.
    private var proven = ProvenRows()
    /// The hash of the last audit link this transaction appended.
    private var appended: [UInt8]?

    /// Who may have signed the log's last entry (nil only while a vault is created).
    private let directory: Directory?
    let cache: StateCache?

    private init(_ inner: any VaultTransaction, directory: Directory?, cache: StateCache?) {
        self.inner = inner
        self.directory = directory
        self.cache = cache
    }

    /// Runs `body` inside a store transaction that is already open, keeping its state map true.
    static func within<T: Sendable>(
        _ tx: any VaultTransaction, directory: Directory?, cache: StateCache?,
        _ body: (any VaultTransaction) async throws -> T
    ) async throws -> T {
        let state = StateTransaction(tx, directory: directory, cache: cache)
        let result = try await body(state)
        try await state.flush()
        return result
    }

    // MARK: - Committed state

    /// The state the log's newest entry committed to (the empty state before the first entry).
    func committed() async throws -> StateHead {
        if let base { return base }
        let found = try await StateReader.committed(in: inner, directory: directory, cache: cache)
        base = found
        return found
    }

    /// Reads bucket `b` and the nodes on its path, and checks them against the committed root. What
    /// the session already proved under the same root (``StateCache``) is taken from there, and
    /// the path is hashed up to the root again either way.
    private func load(_ b: UInt16) async throws {
        guard buckets[b] == nil else { return }
        let base = try await committed()
        let name = StateMap.prefix(b, depth: 4)
        let cached = cache?.proven(b, root: base.root)
        var entries: [String: [UInt8]] = [:]
        if let known = cached?.entries {
            entries = known
        } else if let row = try await inner.object(kind: StateMap.bucketKind, id: name) {
            guard row.key == name else {
                throw TutelaError.tampered("state bucket \(name) is misfiled")
            }
            entries = try StateMap.decode(row.body, bucket: b)
        }
        try await prefetchPath(b, proven: cached?.children ?? [:])
        for depth in 0...3 {
            let prefix = StateMap.prefix(b, depth: depth)
            guard storedChildren[prefix] == nil else { continue }
            let loaded: [[UInt8]]
            if let known = cached?.children[prefix] {
                loaded = known
                proven.took(node: prefix)
            } else {
                let row = try await inner.object(
                    kind: StateMap.nodeKind, id: StateMap.parentKey(prefix))
                loaded = try StateMap.children(prefix, rows: row.map { [$0] } ?? [])
            }
            storedChildren[prefix] = loaded
            children[prefix] = loaded
        }
        let (root, proved) = try StateMap.path(
            bucket: b, hash: try StateMap.bucketHash(b, entries), children: storedChildren)
        guard root == base.root else { throw Self.mapMismatch(name) }
        buckets[b] = entries
        if cached?.entries == nil {
            cache?.remember(bucket: b, entries, children: proved, root: base.root)
        } else {
            proven.took(bucket: b, entries)
        }
    }

    /// The value `key` has now in this transaction.
    private func value(_ key: StateKey) async throws -> [UInt8]? {
        try await load(key.bucket)
        return buckets[key.bucket]?[key.text]
    }

    private func set(_ key: StateKey, _ value: [UInt8]?) async throws {
        try await load(key.bucket)
        buckets[key.bucket]?[key.text] = value
        changedBuckets.insert(key.bucket)
        writtenBuckets.insert(key.bucket)
    }

    // MARK: - Checks before a change

    /// Checks a fact group against the committed state before this transaction changes it.
    private func touch(_ kind: FactKind, _ subject: String) async throws {
        let key = StateKey.facts(kind, subject)
        pendingGroups[key] = (kind, subject)
        guard !touched.contains(key) else { return }
        let rows = try await inner.objects(kind: kind.rawValue, key: subject)
        guard try StateMap.factsValue(rows) == (try await value(key)) else {
            throw Self.mismatch(key)
        }
        groups.verified(key, rows)
        _ = try await value(.count(kind))
        touched.insert(key)
    }

    /// Checks a record against the committed state before this transaction changes it.
    private func touch(_ id: RecordID) async throws {
        let key = StateKey.record(id)
        let current = try await value(key)
        if !touched.contains(key) {
            guard let stored = try await inner.record(id) else {
                // Nothing to change: the store answers that there is no such record — unless the
                // state says it still has an envelope.
                if let current, StateMap.hasEnvelope(current) { throw Self.mismatch(key) }
                return
            }
            guard
                try StateMap.recordEntry(label: stored.labelBytes, sealed: stored.sealedBytes)
                    == current
            else { throw Self.mismatch(key) }
            touched.insert(key)
            labels[id] = stored.labelBytes
        }
        if let label = labels[id] { pendingRecords[id] = label }
    }

    // MARK: - Committing

    /// Brings the state up to date with this transaction's changes so far and with `entry`, about
    /// to be appended at `sequence`: links it to the entry before it about its subject and indexes
    /// it there (``SubjectIndex``) — or, for the entry that seals a record filed in this
    /// transaction, notes where it is — and sets the state it commits to. Refuses (77) an entry
    /// by anyone but the author of a record filed since the last: no one files one in another's
    /// name.
    func seal(_ entry: inout AuditEntry, at sequence: Int64) async throws {
        entry.previous = -1
        if let subject = entry.subject {
            let labelAdded = pendingLabels.contains { $0.record.text == subject }
            if SubjectIndex.isSealing(entry, labelAdded: labelAdded) {
                try await SubjectIndex.fileSealing(subject, sequence: sequence, in: inner)
                sealings[subject] = (sequence, try entry.contentDigest())
            } else {
                let key = StateKey.audit(subject)
                var index = try SubjectIndex(try await value(key), subject: subject)
                // Bound once, by the first entry that finds the record there: an index made while
                // its record's rows were missing (edited away, then put back) is bound by the next.
                if index.sealing < 0, let made = try await sealing(of: subject) {
                    index = index.with(sealing: made.sequence, digest: made.digest)
                }
                entry.previous = index.newest
                try index.append(entry, at: sequence)
                try await set(key, index.value)
            }
        }
        if let other = pendingLabels.first(where: { $0.author != entry.actor }) {
            throw TutelaError.denied(
                "\(other.record) names \(other.author) as its author, but \(entry.actor) files it")
        }
        entry.state = try await seal()
    }

    /// Records sealed in this transaction: where their sealing entries are, and their digests.
    private var sealings: [String: (sequence: Int64, digest: [UInt8])] = [:]

    /// The entry that sealed `subject` (``SubjectIndex/sealing(of:label:in:)``), the label of a
    /// record this transaction read or changed being taken from there.
    private func sealing(of subject: String) async throws -> (sequence: Int64, digest: [UInt8])? {
        if let known = sealings[subject] { return known }
        let label = RecordID(validating: subject).flatMap { labels[$0] }
        return try await SubjectIndex.sealing(of: subject, label: label, in: inner)
    }

    /// Brings the state up to date with this transaction's changes so far, for the audit entry
    /// about to be appended to commit to.
    func seal() async throws -> StateHead {
        var head: StateHead
        if let current = self.head { head = current } else { head = try await committed() }
        var counts: [FactKind: Int64] = [:]
        for (key, group) in pendingGroups {
            let before = try await value(key)
            let rows = try await inner.objects(kind: group.kind.rawValue, key: group.subject)
            try groups.check(key, rows)
            let after = try StateMap.factsValue(rows)
            if (before == nil) != (after == nil) {
                counts[group.kind, default: 0] += after == nil ? -1 : 1
            }
            try await set(key, after)
        }
        for (kind, delta) in counts {
            let n = try StateMap.count(try await value(.count(kind))) + delta
            guard n >= 0 else { throw TutelaError.internal("a fact count went below zero") }
            try await set(.count(kind), StateMap.countValue(n))
        }
        for (id, label) in pendingRecords {
            let stored = try await inner.record(id)
            let value = try StateMap.recordEntry(
                label: stored?.labelBytes ?? label, sealed: stored?.sealedBytes)
            try await set(.record(id), value)
        }
        for row in pendingLabels {
            head.labelChain = try StateHead.chain(head.labelChain, digest: row.digest)
            head.labelCount += 1
        }
        if !pendingChanges.isEmpty {
            let sequence = (try await inner.lastLink(.audit)?.sequence ?? -1) + 1
            try await FactChange.append(
                pendingChanges.map {
                    FactChange(
                        sequence: sequence, op: $0.op, kind: $0.kind, id: $0.id, key: $0.key,
                        bodyHash: $0.hash)
                }, to: &head, in: inner)
        }
        for (key, digests) in pendingFiled {
            var filed = try FiledLabels(try await value(key), key)
            for digest in digests { try filed.add(digest: digest) }
            try await set(key, filed.value)
        }
        pendingGroups = [:]
        pendingRecords = [:]
        pendingLabels = []
        pendingFiled = [:]
        pendingChanges = []
        if let directory = try await inner.lastLink(.directory) {
            head.directoryCount = directory.sequence + 1
            head.directoryHash = directory.hash
        }
        head.root = try await root()
        self.head = head
        return head
    }

    /// The root over the buckets as this transaction changed them.
    private func root() async throws -> [UInt8] {
        if changedBuckets.isEmpty {
            if let head { return head.root }
            return try await committed().root
        }
        defer { changedBuckets = [] }
        return try StateMap.rehash(
            changedBuckets, buckets: buckets, children: &children, rows: &nodeWrites)
    }

    /// Writes the map's changed rows; refuses a transaction that changed the state after its last
    /// audit entry (its change would be committed to by no entry).
    private func flush() async throws {
        guard pendingGroups.isEmpty, pendingRecords.isEmpty, pendingLabels.isEmpty,
            pendingFiled.isEmpty, pendingChanges.isEmpty, changedBuckets.isEmpty
        else {
            throw TutelaError.internal(
                "a transaction changed the vault's state after its last audit entry")
        }
        try await proven.check(
            written: writtenBuckets, nodeWrites: nodeWrites, children: storedChildren, in: inner)
        var nodes: [String: [[UInt8]]] = [:]
        for prefix in Set(nodeWrites.keys.map { String($0.dropLast()) }) {
            guard let row = children[prefix] else {
                throw TutelaError.internal("a state node changed without being read")
            }
            nodes[prefix] = row
        }
        try await StateMap.writeRows(
            buckets: writtenBuckets.map { ($0, buckets[$0] ?? [:]) }, nodes: nodes, to: inner)
        if let cache, let base, let head, let appended {
            cache.advance(
                from: base.root, link: appended, state: head, buckets: buckets, children: children)
        }
    }

    // MARK: - Reads checked against the state

    /// Checks facts read in this transaction against the state (those of a group this transaction
    /// changed, against the rows it verified and its own changes to them).
    func verify(_ objects: [StoredObject], kind: FactKind, subject: String) async throws {
        let key = StateKey.facts(kind, subject)
        if touched.contains(key) { return try groups.check(key, objects) }
        guard try StateMap.factsValue(objects) == (try await value(key)) else {
            throw Self.mismatch(key)
        }
    }

    /// Checks a record read in this transaction against the state: its label and envelope, or —
    /// when there is none — that the state has no record of that id, or has it destroyed.
    func verify(_ record: StoredRecord?, id: RecordID) async throws {
        let key = StateKey.record(id)
        guard !touched.contains(key) else { return }
        // Its label, for binding its sealing if this transaction's entry is its first since.
        if let record, labels[id] == nil { labels[id] = record.labelBytes }
        let committed = try await value(key)
        if let record {
            guard
                try StateMap.recordEntry(label: record.labelBytes, sealed: record.sealedBytes)
                    == committed
            else { throw Self.mismatch(key) }
        } else if let committed, StateMap.hasEnvelope(committed) {
            throw Self.mismatch(key)
        }
    }

    // MARK: - VaultTransaction

    func create(_ meta: VaultMeta) async throws { try await inner.create(meta) }
    func prefetch(kind: String, ids: [String]) async throws {
        try await inner.prefetch(kind: kind, ids: ids)
    }
    func prefetch(kinds: [String], keys: [String]) async throws {
        try await inner.prefetch(kinds: kinds, keys: keys)
    }
    func lastLink(_ chain: ChainName) async throws -> ChainLink? {
        try await inner.lastLink(chain)
    }
    func link(_ chain: ChainName, at sequence: Int64) async throws -> ChainLink? {
        try await inner.link(chain, at: sequence)
    }
    func append(_ link: ChainLink, to chain: ChainName) async throws {
        try await inner.append(link, to: chain)
        if chain == .audit { appended = link.hash }
    }
    func insert(_ identity: SealedIdentity) async throws { try await inner.insert(identity) }
    func replace(_ identity: SealedIdentity) async throws { try await inner.replace(identity) }
    func sealedIdentity(_ principal: PrincipalID) async throws -> SealedIdentity? {
        try await inner.sealedIdentity(principal)
    }

    func insert(_ record: StoredRecord, learner: LearnerID, author: PrincipalID) async throws {
        let key = StateKey.record(record.record)
        guard try await value(key) == nil else { throw Self.mismatch(key) }
        let filings = try FiledLabels.filings(record, learner: learner, author: author)
        for filing in filings { _ = try await value(filing) }
        try await inner.insert(record, learner: learner, author: author)
        // An original envelope has no entry: the label chain and lists vouch for its label.
        touched.insert(key)
        labels[record.record] = record.labelBytes
        let digest = try StateHead.digest(
            record: record.record.text, learner: learner.text, label: record.labelBytes)
        pendingLabels.append((record.record, author, digest))
        for filing in filings { pendingFiled[filing, default: []].append(digest) }
    }

    func insert(_ slot: Slot) async throws { try await inner.insert(slot) }
    func deleteSlot(record: RecordID, recipient: Recipient) async throws {
        try await inner.deleteSlot(record: record, recipient: recipient)
    }

    func replaceEnvelope(record: RecordID, sealed: [UInt8]) async throws {
        try await touch(record)
        try await inner.replaceEnvelope(record: record, sealed: sealed)
    }

    func shred(_ record: RecordID) async throws {
        try await touch(record)
        try await inner.shred(record)
    }

    func put(_ object: StoredObject) async throws {
        try Self.refuseOwnKind(object.kind)
        if let kind = FactKind(rawValue: object.kind) {
            let old = try await inner.object(kind: object.kind, id: object.id)
            if let old, old.key != object.key { try await touch(kind, old.key) }
            try await touch(kind, object.key)
            try await inner.put(object)
            groups.put(object, kind: kind, from: old?.key)
            pendingChanges.append(
                (
                    old == nil ? .add : .replace, kind, object.id, object.key,
                    try StateMap.hash(object.body)
                ))
            return
        }
        try await inner.put(object)
    }

    func put(_ share: StoredShare) async throws { try await inner.put(share) }
    func deleteShare(record: RecordID, holder: Recipient) async throws {
        try await inner.deleteShare(record: record, holder: holder)
    }
    func shares(record: RecordID) async throws -> [StoredShare] {
        try await inner.shares(record: record)
    }

    func deleteObject(kind: String, id: String) async throws {
        try Self.refuseOwnKind(kind)
        if let fact = FactKind(rawValue: kind),
            let old = try await inner.object(kind: kind, id: id)
        {
            try await touch(fact, old.key)
            try await inner.deleteObject(kind: kind, id: id)
            groups.delete(id, from: .facts(fact, old.key))
            pendingChanges.append((.remove, fact, id, old.key, StateMap.zero))
            return
        }
        try await inner.deleteObject(kind: kind, id: id)
    }

    func object(kind: String, id: String) async throws -> StoredObject? {
        try await inner.object(kind: kind, id: id)
    }
    func record(_ id: RecordID) async throws -> StoredRecord? { try await inner.record(id) }
    func objects(kind: String, key: String) async throws -> [StoredObject] {
        try await inner.objects(kind: kind, key: key)
    }
    func slots(recipient: Recipient) async throws -> [Slot] {
        try await inner.slots(recipient: recipient)
    }
}
