public import Tutela

/// Edits of the in-memory store behind Tutela's back, as someone with write access to a vault's
/// database would make them: what the tamper tests attack with.
extension MemoryVaultStore {
    /// Replaces a stored record's bytes.
    public func tamper(record id: String, _ change: @Sendable (StoredRecord) -> StoredRecord) {
        if let r = state.records[id] {
            let changed = change(r)
            state.records[id] = changed
            state.labels[id] = changed.labelBytes
        }
    }

    /// Replaces a chain wholesale.
    public func tamper(chain: ChainName, _ change: @Sendable ([ChainLink]) -> [ChainLink]) {
        state.chains[chain] = change(state.chains[chain] ?? [])
    }

    /// Replaces a stored object's body.
    public func tamper(object kind: String, id: String, _ change: @Sendable ([UInt8]) -> [UInt8]) {
        if let o = state.objects[kind]?[id] {
            state.objects[kind]?[id] = StoredObject(
                kind: o.kind, id: o.id, key: o.key, body: change(o.body))
        }
    }
}
