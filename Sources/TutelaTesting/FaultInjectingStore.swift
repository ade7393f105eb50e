public import Tutela
public import TutelaCrypto

/// A store that wraps another and fails, or lets another command's write in, when a test says so:
/// how tests prove that Tutela fails closed and decides inside the transaction that records.
///
/// Everything else is passed to the wrapped store unchanged. Test support only: no product links it.
public actor FaultInjectingStore<Base: VaultStore>: VaultStore {
    /// The wrapped store.
    public let base: Base
    private var failure: TutelaError?
    private var allowedBeforeFailure: (count: Int, error: TutelaError)?
    private var interleaved:
        (skip: Int, change: @Sendable (any VaultTransaction) async throws -> Void)?

    /// Wraps `base`; until told otherwise every call goes straight through.
    public init(_ base: Base) { self.base = base }

    /// Makes every following transaction (and shred-key write) fail with `error`, or succeed again
    /// with nil.
    public func failTransactions(with error: TutelaError?) {
        failure = error
        allowedBeforeFailure = nil
    }

    /// Lets `count` more transactions succeed, then fails every one after with `error` (a crash).
    public func failTransactions(after count: Int, with error: TutelaError) {
        failure = nil
        allowedBeforeFailure = (count, error)
    }

    /// Commits `change` just before the next transaction runs: another command's write landing
    /// between what a command read earlier and the transaction it then writes in. `skipping`
    /// transactions first run as they are.
    public func beforeNextTransaction(
        skipping: Int = 0, _ change: @escaping @Sendable (any VaultTransaction) async throws -> Void
    ) {
        interleaved = (skipping, change)
    }

    /// Throws the injected failure if one is due; otherwise commits the interleaved change if
    /// it is due, then runs `body` in the wrapped store.
    public func transaction<T: Sendable>(
        _ body: @escaping @Sendable (any VaultTransaction) async throws -> T
    ) async throws -> T {
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
                try await base.transaction(change)
            }
        }
        return try await base.transaction(body)
    }

    /// Throws the injected failure while one is in force; otherwise passed to the wrapped store.
    public func putShredKeys(_ keys: [(record: String, key: SecretBytes)]) async throws {
        if let failure { throw failure }
        try await base.putShredKeys(keys)
    }

    /// Passed to the wrapped store.
    public func meta() async throws -> VaultMeta { try await base.meta() }
    /// Passed to the wrapped store.
    public func links(_ chain: ChainName, from: Int64, limit: Int) async throws -> [ChainLink] {
        try await base.links(chain, from: from, limit: limit)
    }
    /// Passed to the wrapped store.
    public func sealedIdentity(_ principal: String) async throws -> SealedIdentity? {
        try await base.sealedIdentity(principal)
    }
    /// Passed to the wrapped store.
    public func record(_ id: String) async throws -> StoredRecord? { try await base.record(id) }
    /// Passed to the wrapped store.
    public func labels(learner: String?) async throws -> [StoredLabel] {
        try await base.labels(learner: learner)
    }
    /// Passed to the wrapped store.
    public func labelPage(from cursor: Int64, limit: Int) async throws -> (
        labels: [StoredLabel], next: Int64?
    ) { try await base.labelPage(from: cursor, limit: limit) }
    /// Passed to the wrapped store.
    public func objects(kind: String, after: String?, idSuffix: String, limit: Int) async throws
        -> [StoredObject]
    { try await base.objects(kind: kind, after: after, idSuffix: idSuffix, limit: limit) }
    /// Passed to the wrapped store.
    public func slots(recipient: String, limit: Int) async throws -> [Slot] {
        try await base.slots(recipient: recipient, limit: limit)
    }
    /// Passed to the wrapped store.
    public func boxCount(recipient: String) async throws -> (slots: Int, shares: Int) {
        try await base.boxCount(recipient: recipient)
    }
    /// Passed to the wrapped store.
    public func objects(kind: String, key: String?) async throws -> [StoredObject] {
        try await base.objects(kind: kind, key: key)
    }
    /// Passed to the wrapped store.
    public func shredKey(_ record: String) async throws -> SecretBytes? {
        try await base.shredKey(record)
    }
    /// Passed to the wrapped store.
    public func deleteShredKeys(_ records: [String]) async throws {
        try await base.deleteShredKeys(records)
    }
    /// Passed to the wrapped store.
    public func orphanShredKeys() async throws -> [String] { try await base.orphanShredKeys() }
    /// Passed to the wrapped store.
    public func compact() async throws { try await base.compact() }
}

extension FaultInjectingStore where Base == MemoryVaultStore {
    /// Replaces a stored record's bytes, as someone editing the database would.
    public func tamper(record id: String, _ change: @Sendable (StoredRecord) -> StoredRecord) async
    {
        await base.tamper(record: id, change)
    }

    /// Replaces a chain wholesale, as someone editing the database would.
    public func tamper(chain: ChainName, _ change: @Sendable ([ChainLink]) -> [ChainLink]) async {
        await base.tamper(chain: chain, change)
    }

    /// Replaces a stored object's body, as someone editing the database would.
    public func tamper(object kind: String, id: String, _ change: @Sendable ([UInt8]) -> [UInt8])
        async
    {
        await base.tamper(object: kind, id: id, change)
    }
}
