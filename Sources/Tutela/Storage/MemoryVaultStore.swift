public import TutelaCrypto

/// An in-memory store for tests and the library's own examples. Transactions apply to a copy of the
/// state and replace it only when the body succeeds, like a database transaction.
public actor MemoryVaultStore: VaultStore {
    struct State: Sendable {
        var meta: VaultMeta?
        var chains: [ChainName: [ChainLink]] = [:]
        var identities: [String: SealedIdentity] = [:]
        var records: [String: StoredRecord] = [:]
        var learners: [String: String] = [:]
        var labels: [String: [UInt8]] = [:]
        var objects: [String: [String: StoredObject]] = [:]

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

    public func shredKey(_ record: String) throws -> SecretBytes? {
        guard let key = shredKeys[record] else { return nil }
        return try Self.copy(key)
    }

    public func putShredKeys(_ keys: [(record: String, key: SecretBytes)]) throws {
        if let failure { throw failure }
        for (r, k) in keys { shredKeys[r] = try Self.copy(k) }
    }

    private static func copy(_ key: SecretBytes) throws -> SecretBytes {
        do { return try key.slice(0..<key.count) } catch {
            throw TutelaError.internal("\(error)")
        }
    }

    public func deleteShredKeys(_ records: [String]) {
        for r in records { shredKeys[r] = nil }
    }

    public func orphanShredKeys() -> [String] {
        shredKeys.keys.filter { id in
            state.records[String(id.split(separator: "#").first ?? "")] == nil
        }.sorted()
    }

    public func compact() {}

    private var state = State()
    /// When set, every transaction fails with this error (to test fail-closed behaviour).
    private var failure: TutelaError?

    public init() {}

    /// Makes every following transaction fail with `error`, or succeed again with nil.
    public func failTransactions(with error: TutelaError?) {
        failure = error
        allowedBeforeFailure = nil
    }

    /// Lets `count` more transactions succeed, then fails every one after with `error` (a crash).
    public func failTransactions(after count: Int, with error: TutelaError) {
        failure = nil
        allowedBeforeFailure = (count, error)
    }

    private var allowedBeforeFailure: (Int, TutelaError)?

    /// Commits `change` just before the next transaction runs: another command's write landing
    /// between what a command read earlier and the transaction it then writes in.
    /// `skipping` transactions first run as they are.
    public func beforeNextTransaction(
        skipping: Int = 0, _ change: @escaping @Sendable (any VaultTransaction) throws -> Void
    ) {
        interleaved = (skipping, change)
    }

    private var interleaved: (skip: Int, change: @Sendable (any VaultTransaction) throws -> Void)?

    /// Replaces a stored record's bytes, as someone editing the database would.
    public func tamper(record id: String, _ change: @Sendable (StoredRecord) -> StoredRecord) {
        if let r = state.records[id] {
            let changed = change(r)
            state.records[id] = changed
            state.labels[id] = changed.labelBytes
        }
    }

    public func meta() throws -> VaultMeta {
        guard let meta = state.meta else { throw TutelaError(.notFound, "there is no vault here") }
        return meta
    }

    public func links(_ chain: ChainName, from: Int64, limit: Int) -> [ChainLink] {
        let all = state.chains[chain] ?? []
        let start = Int(clamping: max(0, from))
        guard start < all.count else { return [] }
        return Array(all[start..<min(all.count, start + min(limit, all.count))])
    }

    /// Replaces a chain wholesale, as someone editing the database would.
    public func tamper(chain: ChainName, _ change: @Sendable ([ChainLink]) -> [ChainLink]) {
        state.chains[chain] = change(state.chains[chain] ?? [])
    }

    public func sealedIdentity(_ principal: String) -> SealedIdentity? {
        state.identities[principal]
    }

    public func record(_ id: String) -> StoredRecord? { state.records[id] }

    /// Label rows outlive their envelopes: a destroyed record keeps its label as a tombstone.
    public func labels(learner: String?) -> [StoredLabel] {
        state.learners.compactMap { id, l -> StoredLabel? in
            guard learner == nil || learner == l, let bytes = state.labels[id] else { return nil }
            return StoredLabel(record: id, learner: l, labelBytes: bytes)
        }
        .sorted { $0.record < $1.record }
    }

    public func labelPage(from cursor: Int64, limit: Int) -> (labels: [StoredLabel], next: Int64?) {
        let all = labels(learner: nil)
        let start = Int(clamping: max(0, cursor))
        guard start < all.count else { return ([], nil) }
        let end = min(all.count, start + limit)
        return (Array(all[start..<end]), end < all.count ? Int64(end) : nil)
    }

    public func objects(kind: String, after: String?, idSuffix: String, limit: Int)
        -> [StoredObject]
    {
        Array(
            objects(kind: kind, key: nil).filter {
                (after == nil || $0.id > after ?? "") && $0.id.hasSuffix(idSuffix)
            }.prefix(limit))
    }

    public func slots(recipient: String, limit: Int) -> [Slot] {
        Array(
            state.records.keys.sorted().flatMap { id in
                state.records[id]?.slots.filter { $0.recipient == recipient } ?? []
            }.prefix(limit))
    }

    public func objects(kind: String, key: String?) -> [StoredObject] {
        state.objects(kind: kind, key: key)
    }

    public func boxCount(recipient: String) -> (slots: Int, shares: Int) {
        (
            state.records.values.reduce(0) { n, r in
                n + r.slots.count { $0.recipient == recipient }
            },
            (state.objects[ObjectKind.share] ?? [:]).keys.count { $0.hasSuffix("/\(recipient)") }
        )
    }

    /// Replaces a stored object's body, as someone editing the database would.
    public func tamper(object kind: String, id: String, _ change: @Sendable ([UInt8]) -> [UInt8]) {
        if let o = state.objects[kind]?[id] {
            state.objects[kind]?[id] = StoredObject(
                kind: o.kind, id: o.id, key: o.key, body: change(o.body))
        }
    }

    public func transaction<T: Sendable>(
        _ body: @escaping @Sendable (any VaultTransaction) throws -> T
    ) throws -> T {
        if let failure { throw failure }
        if let (remaining, error) = allowedBeforeFailure {
            if remaining <= 0 {
                failure = error
                throw error
            }
            allowedBeforeFailure = (remaining - 1, error)
        }
        if let (skip, change) = interleaved {
            if skip > 0 {
                interleaved = (skip - 1, change)
            } else {
                // Committed on its own, as the other command's transaction would be.
                interleaved = nil
                let other = Transaction(state: state)
                try change(other)
                state = other.state
            }
        }
        let tx = Transaction(state: state)
        let result = try body(tx)
        state = tx.state
        return result
    }

    final class Transaction: VaultTransaction {
        var state: State
        init(state: State) { self.state = state }

        func create(_ meta: VaultMeta) throws {
            guard state.meta == nil else {
                throw TutelaError(.exists, "a vault exists here already")
            }
            state.meta = meta
        }

        func lastLink(_ chain: ChainName) -> ChainLink? { state.chains[chain]?.last }

        func append(_ link: ChainLink, to chain: ChainName) throws {
            let expected = (state.chains[chain]?.last?.sequence ?? -1) + 1
            guard link.sequence == expected else {
                throw TutelaError(.tryAgain, "the \(chain.rawValue) log moved on; try again")
            }
            state.chains[chain, default: []].append(link)
        }

        func replaceEnvelope(record: String, envelope: [UInt8]) throws {
            guard let r = state.records[record] else {
                throw TutelaError(.notFound, "there is no record \(record)")
            }
            state.records[record] = StoredRecord(
                record: r.record, labelBytes: r.labelBytes, envelopeBytes: envelope, slots: r.slots)
        }

        func replace(_ identity: SealedIdentity) {
            state.identities[identity.principal] = identity
        }

        func insert(_ identity: SealedIdentity) throws {
            guard state.identities[identity.principal] == nil else {
                throw TutelaError(.exists, "'\(identity.principal)' already has keys")
            }
            state.identities[identity.principal] = identity
        }

        func insert(_ record: StoredRecord, learner: String) throws {
            guard state.records[record.record] == nil else {
                throw TutelaError(.exists, "record \(record.record) exists already")
            }
            state.records[record.record] = record
            state.learners[record.record] = learner
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
            state.records[slot.record] = StoredRecord(
                record: r.record, labelBytes: r.labelBytes, envelopeBytes: r.envelopeBytes,
                slots: r.slots + [slot])
        }

        func put(_ object: StoredObject) throws {
            state.objects[object.kind, default: [:]][object.id] = object
        }

        func object(kind: String, id: String) -> StoredObject? { state.objects[kind]?[id] }

        func record(_ id: String) -> StoredRecord? { state.records[id] }

        func objects(kind: String, key: String) -> [StoredObject] {
            state.objects(kind: kind, key: key)
        }

        func deleteObject(kind: String, id: String) {
            state.objects[kind]?[id] = nil
        }

        func shred(_ record: String) {
            state.records[record] = nil
        }

        func deleteSlot(record: String, recipient: String) throws {
            guard let r = state.records[record] else { return }
            state.records[record] = StoredRecord(
                record: r.record, labelBytes: r.labelBytes, envelopeBytes: r.envelopeBytes,
                slots: r.slots.filter { $0.recipient != recipient })
        }
    }
}
