public import Tutela
public import TutelaCrypto

/// A store that passes every operation to another: test support's wrappers implement only what
/// they change.
public protocol ForwardingStore: VaultStore {
    /// The store every operation is passed to.
    var forwarded: any VaultStore { get }
}

extension ForwardingStore {

    /// Passed to the wrapped store.
    public func meta() async throws -> VaultMeta { try await forwarded.meta() }
    /// Passed to the wrapped store.
    public func shredKeyIDs() async throws -> [String] { try await forwarded.shredKeyIDs() }
    /// Passed to the wrapped store.
    public func objectKinds() async throws -> [String] { try await forwarded.objectKinds() }
    /// Passed to the wrapped store.
    public func links(_ chain: ChainName, from: Int64, limit: Int) async throws -> [ChainLink] {
        try await forwarded.links(chain, from: from, limit: limit)
    }
    /// Passed to the wrapped store.
    public func lastLink(_ chain: ChainName) async throws -> ChainLink? {
        try await forwarded.lastLink(chain)
    }
    /// Passed to the wrapped store.
    public func sealedIdentity(_ principal: PrincipalID) async throws -> SealedIdentity? {
        try await forwarded.sealedIdentity(principal)
    }
    /// Passed to the wrapped store.
    public func record(_ id: RecordID) async throws -> StoredRecord? {
        try await forwarded.record(id)
    }
    /// Passed to the wrapped store.
    public func labels(learner: LearnerID?) async throws -> [StoredLabel] {
        try await forwarded.labels(learner: learner)
    }
    /// Passed to the wrapped store.
    public func labels(author: PrincipalID) async throws -> [StoredLabel] {
        try await forwarded.labels(author: author)
    }
    /// Passed to the wrapped store.
    public func label(_ record: RecordID) async throws -> StoredLabel? {
        try await forwarded.label(record)
    }
    /// Passed to the wrapped store.
    public func labels(from cursor: LabelCursor?, limit: Int) async throws -> (
        labels: [StoredLabel], next: LabelCursor?
    ) { try await forwarded.labels(from: cursor, limit: limit) }
    /// Passed to the wrapped store.
    public func shares(record: RecordID) async throws -> [StoredShare] {
        try await forwarded.shares(record: record)
    }
    /// Passed to the wrapped store.
    public func shares(holder: Recipient, after: RecordID?, limit: Int) async throws
        -> [StoredShare]
    {
        try await forwarded.shares(holder: holder, after: after, limit: limit)
    }
    /// Passed to the wrapped store.
    public func slots(recipient: Recipient, limit: Int) async throws -> [Slot] {
        try await forwarded.slots(recipient: recipient, limit: limit)
    }
    /// Passed to the wrapped store.
    public func recordCount() async throws -> Int { try await forwarded.recordCount() }

    public func boxCount(recipient: Recipient) async throws -> (slots: Int, shares: Int) {
        try await forwarded.boxCount(recipient: recipient)
    }
    /// Passed to the wrapped store.
    public func objects(kind: String, key: String?) async throws -> [StoredObject] {
        try await forwarded.objects(kind: kind, key: key)
    }
    /// Passed to the wrapped store.
    public func objects(kind: String, keys: [String]) async throws -> [StoredObject] {
        try await forwarded.objects(kind: kind, keys: keys)
    }

    public func objects(kind: String, ids: [String]) async throws -> [StoredObject] {
        try await forwarded.objects(kind: kind, ids: ids)
    }
    /// Passed to the wrapped store.
    public func shredKey(_ record: String) async throws -> SecretBytes? {
        try await forwarded.shredKey(record)
    }
    /// Passed to the wrapped store.
    public func putShredKeys(_ keys: [(record: String, key: SecretBytes)]) async throws {
        try await forwarded.putShredKeys(keys)
    }
    /// Passed to the wrapped store.
    public func deleteShredKeys(_ records: [String]) async throws {
        try await forwarded.deleteShredKeys(records)
    }
    /// Passed to the wrapped store.
    public func orphanShredKeys() async throws -> [String] { try await forwarded.orphanShredKeys() }
    /// Passed to the wrapped store.
    public func transaction<T: Sendable>(
        _ body: @escaping @Sendable (any VaultTransaction) async throws -> T
    ) async throws -> T { try await forwarded.transaction(body) }
}

/// Any store as one concrete type, so that one centre type serves every store under test.
public struct AnyStore: ForwardingStore {
    /// The store underneath.
    public let forwarded: any VaultStore

    /// Wraps `base`.
    public init(_ base: any VaultStore) { self.forwarded = base }
}
