public import Tutela
public import TutelaCrypto

/// A store that wraps another and fails, or lets another command's write in, when a test says so:
/// how tests prove that Tutela fails closed and decides inside the transaction that records.
///
/// Everything else is passed to the wrapped store unchanged. Test support only: no product links it.
public actor FaultInjectingStore<Base: VaultStore>: ForwardingStore {
    /// The wrapped store.
    public let base: Base
    private var failure: TutelaError?
    private var allowedBeforeFailure: (count: Int, error: TutelaError)?
    private var interleaved:
        (skip: Int, change: @Sendable (any VaultTransaction) async throws -> Void)?

    /// The wrapped store, which every other operation is passed to.
    public nonisolated var forwarded: any VaultStore { base }

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

}

extension FaultInjectingStore where Base == MemoryVaultStore {
    /// Replaces a stored record's bytes, as someone editing the database would.
    public func tamper(record id: RecordID, _ change: @Sendable (StoredRecord) -> StoredRecord)
        async
    {
        await base.tamper(record: id, change)
    }

    /// Changes anything stored, as someone with the database files open would.
    package func tamper(_ change: @Sendable (inout MemoryVaultStore.State) -> Void) async {
        await base.tamper(change)
    }

    /// Everything stored now, as a backup would keep it.
    public func snapshot() async -> MemoryVaultStore.Snapshot { await base.snapshot() }

    /// Puts back a snapshot: the vault restored from an older copy.
    public func restore(_ snapshot: MemoryVaultStore.Snapshot) async {
        await base.restore(snapshot)
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
