public import TutelaCrypto

/// An in-memory store for tests, fuzzing and the library's own examples. Transactions apply to a copy of the
/// state and replace it only when the body succeeds, like a database transaction.
public actor MemoryVaultStore: VaultStore {
    /// Everything the store holds but the shred keys, in plain dictionaries.
    package struct State: Sendable {
        /// The vault's metadata; nil until a transaction creates the vault.
        package var meta: VaultMeta?
        /// Each chain's links, in sequence order from 0.
        package var chains: [ChainName: [ChainLink]] = [:]
        /// Sealed identities, by principal id.
        package var identities: [PrincipalID: SealedIdentity] = [:]
        /// Records that still have an envelope, by record id; shredding removes the entry.
        package var records: [RecordID: StoredRecord] = [:]
        /// Each record's learner, by record id; kept after shredding, like the label.
        package var learners: [RecordID: LearnerID] = [:]
        /// Each record's author, by record id; kept after shredding, like the label.
        package var authors: [RecordID: PrincipalID] = [:]
        /// Each record's canonical label, by record id; kept after shredding, for the tombstone.
        package var labels: [RecordID: [UInt8]] = [:]
        /// Record ids in the order their labels were stored, for paging.
        package var order: [RecordID] = []
        /// Stored objects, by kind and then by id.
        package var objects: [String: [String: StoredObject]] = [:]
        /// Break-glass shares, by record and then by holder.
        package var shares: [RecordID: [Recipient: StoredShare]] = [:]

        /// Every slot sealed to `recipient`, in record-id order.
        func slots(recipient: Recipient) -> [Slot] {
            records.keys.sorted().flatMap { id in
                records[id]?.slots.filter { $0.recipient == recipient } ?? []
            }
        }

        /// A record's shares, ordered by holder.
        func shares(record: RecordID) -> [StoredShare] {
            (shares[record] ?? [:]).values.sorted { $0.holder.description < $1.holder.description }
        }

        /// Objects of `kind` (filed under `key`, or all), ordered by id.
        func objects(kind: String, key: String?) -> [StoredObject] {
            (objects[kind] ?? [:]).values.filter { key == nil || $0.key == key }.sorted {
                $0.id < $1.id
            }
        }
    }

    /// Each key in protected memory; handed out and taken in as copies, so a caller's wipe never
    /// reaches the store's own.
    private var shredKeys: [String: SecretBytes] = [:]

    /// Returns a fresh protected copy of the key held here, or nil.
    public func shredKey(_ record: String) throws -> SecretBytes? {
        guard let key = shredKeys[record] else { return nil }
        return try Self.copy(key)
    }

    /// Refuses the whole batch with `.exists` if it names a record twice or one that has a key.
    public func putShredKeys(_ keys: [(record: String, key: SecretBytes)]) throws {
        // All or nothing, as the key store's own transaction is: a record has one key.
        let records = keys.map(\.record)
        guard Set(records).count == records.count,
            !records.contains(where: { shredKeys[$0] != nil })
        else {
            throw TutelaError(.exists, "a shred key exists already for one of these records")
        }
        for (r, k) in keys { shredKeys[r] = try Self.copy(k) }
    }

    private static func copy(_ key: SecretBytes) throws -> SecretBytes {
        do { return try key.slice(0..<key.count) } catch {
            throw TutelaError.internal("\(error)")
        }
    }

    /// Drops the keys; records without one are ignored.
    public func deleteShredKeys(_ records: [String]) {
        for r in records { shredKeys[r] = nil }
    }

    /// Every key's id, sorted.
    public func shredKeyIDs() -> [String] { shredKeys.keys.sorted() }

    /// The kinds with at least one object, sorted.
    public func objectKinds() -> [String] {
        state.objects.filter { !$0.value.isEmpty }.keys.sorted()
    }

    /// Keys whose record (the id before any `#GENERATION`) has no envelope, sorted.
    public func orphanShredKeys() -> [String] {
        shredKeys.keys.filter { id in
            guard let key = ShredKeyID(id) else { return true }
            return state.records[key.record] == nil
        }.sorted()
    }

    /// Everything stored but the shred keys. Package-visible so that the test-support module can
    /// edit it as an attacker with the database files would (`TutelaTesting`).
    package var state = State()
    /// An empty store, holding no vault.
    public init() {}

    /// Throws `.notFound` until a transaction has created the vault.
    public func meta() throws -> VaultMeta {
        guard let meta = state.meta else { throw TutelaError(.notFound, "there is no vault here") }
        return meta
    }

    /// Slices the chain's array; a negative `from` reads from the start.
    public func links(_ chain: ChainName, from: Int64, limit: Int) -> [ChainLink] {
        let all = state.chains[chain] ?? []
        let start = Int(clamping: max(0, from))
        guard start < all.count else { return [] }
        return Array(all[start..<min(all.count, start + min(limit, all.count))])
    }

    /// The chain's last link in memory.
    public func lastLink(_ chain: ChainName) -> ChainLink? { state.chains[chain]?.last }

    /// Looks the principal up in memory.
    public func sealedIdentity(_ principal: PrincipalID) -> SealedIdentity? {
        state.identities[principal]
    }

    /// Looks the record up in memory; nil once shredded.
    public func record(_ id: RecordID) -> StoredRecord? { state.records[id] }

    /// Label rows outlive their envelopes: a destroyed record keeps its label as a tombstone.
    public func labels(learner: LearnerID?) -> [StoredLabel] {
        state.order.compactMap { id -> StoredLabel? in
            guard let l = state.learners[id], learner == nil || learner == l,
                let bytes = state.labels[id]
            else { return nil }
            return StoredLabel(record: id, learner: l, labelBytes: bytes)
        }
    }

    /// One label row, kept after shredding.
    public func label(_ record: RecordID) -> StoredLabel? {
        guard let bytes = state.labels[record], let learner = state.learners[record] else {
            return nil
        }
        return StoredLabel(record: record, learner: learner, labelBytes: bytes)
    }

    /// The labels filed under `author`, in the order they were stored.
    public func labels(author: PrincipalID) -> [StoredLabel] {
        state.order.compactMap { id -> StoredLabel? in
            guard state.authors[id] == author, let l = state.learners[id],
                let bytes = state.labels[id]
            else { return nil }
            return StoredLabel(record: id, learner: l, labelBytes: bytes)
        }
    }

    /// Pages through the labels in the order they were stored; the cursor is the position in
    /// that order where the next page starts.
    public func labels(from cursor: LabelCursor?, limit: Int) -> (
        labels: [StoredLabel], next: LabelCursor?
    ) {
        var index = cursor.flatMap { Int($0.position) } ?? 0
        var page: [StoredLabel] = []
        while index < state.order.count, page.count < limit {
            let id = state.order[index]
            index += 1
            guard let bytes = state.labels[id], let learner = state.learners[id] else { continue }
            page.append(StoredLabel(record: id, learner: learner, labelBytes: bytes))
        }
        return (page, index < state.order.count ? LabelCursor("\(index)") : nil)
    }

    /// The record's shares, ordered by holder.
    public func shares(record: RecordID) -> [StoredShare] { state.shares(record: record) }

    /// Shares sealed to `holder`, in record-id order, after record `after`.
    public func shares(holder: Recipient, after: RecordID?, limit: Int) -> [StoredShare] {
        Array(
            state.shares.keys.sorted().filter { key in after.map { key > $0 } ?? true }.lazy
                .compactMap { self.state.shares[$0]?[holder] }.prefix(limit))
    }

    /// Scans every record, in record-id order, for slots to `recipient`.
    public func slots(recipient: Recipient, limit: Int) -> [Slot] {
        Array(state.slots(recipient: recipient).prefix(limit))
    }

    /// The kind's objects, filtered by key, ordered by id.
    public func objects(kind: String, key: String?) -> [StoredObject] {
        state.objects(kind: kind, key: key)
    }

    /// The kind's objects with any of `ids`, in id order.
    public func objects(kind: String, ids: [String]) -> [StoredObject] {
        Set(ids).sorted().compactMap { state.objects[kind]?[$0] }
    }

    /// Counts records with a label row: one planted with none is not a record's.
    public func recordCount() -> Int { state.records.keys.count { state.labels[$0] != nil } }

    /// Counts slots over every record, and break-glass shares whose id ends `/recipient`.

    public func boxCount(recipient: Recipient) -> (slots: Int, shares: Int) {
        (
            state.records.values.reduce(0) { n, r in
                n + r.slots.count { $0.recipient == recipient }
            },
            state.shares.values.reduce(0) { n, shares in
                n + shares.keys.count { $0 == recipient }
            }
        )
    }

    /// One writer at a time, as a database's write lock: a transaction's body may suspend, and
    /// the actor would otherwise let a second transaction start from the same state and one of the
    /// two commits would be lost.
    private var writing = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    /// Waits its turn behind any running transaction, runs `body` on a copy of the state, and
    /// keeps the copy only if `body` returns.
    public func transaction<T: Sendable>(
        _ body: @escaping @Sendable (any VaultTransaction) async throws -> T
    ) async throws -> T {
        if writing {
            await withCheckedContinuation { waiting.append($0) }
        } else {
            writing = true
        }
        defer {
            if waiting.isEmpty { writing = false } else { waiting.removeFirst().resume() }
        }
        let tx = Transaction(state: state)
        let result = try await body(tx)
        state = tx.state
        return result
    }

    /// Used by one transaction's body at a time, which the actor's write lock ensures.
    final class Transaction: VaultTransaction, @unchecked Sendable {
        var state: State
        init(state: State) { self.state = state }

        func create(_ meta: VaultMeta) throws {
            guard state.meta == nil else {
                throw TutelaError(.exists, "a vault exists here already")
            }
            state.meta = meta
        }

        func lastLink(_ chain: ChainName) -> ChainLink? { state.chains[chain]?.last }

        func link(_ chain: ChainName, at sequence: Int64) -> ChainLink? {
            guard let links = state.chains[chain], sequence >= 0, sequence < links.count else {
                return nil
            }
            return links[Int(sequence)]
        }

        func append(_ link: ChainLink, to chain: ChainName) throws {
            let expected = (state.chains[chain]?.last?.sequence ?? -1) + 1
            guard link.sequence == expected else {
                throw TutelaError(.tryAgain, "the \(chain.rawValue) log moved on; try again")
            }
            state.chains[chain, default: []].append(link)
        }

        func replaceEnvelope(record: RecordID, sealed: [UInt8]) throws {
            guard let r = state.records[record] else {
                throw TutelaError(.notFound, "there is no record \(record)")
            }
            state.records[record] = StoredRecord(
                record: r.record, labelBytes: r.labelBytes, sealedBytes: sealed, slots: r.slots)
        }

        func replace(_ identity: SealedIdentity) {
            state.identities[identity.principal] = identity
        }

        func sealedIdentity(_ principal: PrincipalID) -> SealedIdentity? {
            state.identities[principal]
        }

        func insert(_ identity: SealedIdentity) throws {
            guard state.identities[identity.principal] == nil else {
                throw TutelaError(.exists, "'\(identity.principal)' already has keys")
            }
            state.identities[identity.principal] = identity
        }

        func insert(_ record: StoredRecord, learner: LearnerID, author: PrincipalID) throws {
            guard state.records[record.record] == nil else {
                throw TutelaError(.exists, "record \(record.record) exists already")
            }
            state.records[record.record] = record
            state.learners[record.record] = learner
            state.authors[record.record] = author
            if state.labels[record.record] == nil { state.order.append(record.record) }
            state.labels[record.record] = record.labelBytes
        }

        func insert(_ slot: Slot) throws {
            guard let r = state.records[slot.record] else {
                throw TutelaError(.notFound, "there is no record \(slot.record)")
            }
            guard !r.slots.contains(where: { $0.recipient == slot.recipient }) else {
                throw TutelaError(
                    .exists, "\(slot.record) already has a slot for \(slot.recipient)")
            }
            state.records[slot.record] = r.with(slots: r.slots + [slot])
        }

        func put(_ object: StoredObject) throws {
            state.objects[object.kind, default: [:]][object.id] = object
        }

        func put(_ share: StoredShare) throws {
            guard state.labels[share.record] != nil else {
                throw TutelaError(.invalidInput, "there is no record \(share.record)")
            }
            state.shares[share.record, default: [:]][share.holder] = share
        }

        func deleteShare(record: RecordID, holder: Recipient) {
            state.shares[record]?[holder] = nil
        }

        func shares(record: RecordID) -> [StoredShare] { state.shares(record: record) }

        func object(kind: String, id: String) -> StoredObject? { state.objects[kind]?[id] }

        func record(_ id: RecordID) -> StoredRecord? { state.records[id] }

        func objects(kind: String, key: String) -> [StoredObject] {
            state.objects(kind: kind, key: key)
        }

        func deleteObject(kind: String, id: String) {
            state.objects[kind]?[id] = nil
        }

        func shred(_ record: RecordID) {
            state.records[record] = nil
        }

        func deleteSlot(record: RecordID, recipient: Recipient) throws {
            guard let r = state.records[record] else { return }
            state.records[record] = r.with(slots: r.slots.filter { $0.recipient != recipient })
        }

        func slots(recipient: Recipient) -> [Slot] { state.slots(recipient: recipient) }
    }
}
