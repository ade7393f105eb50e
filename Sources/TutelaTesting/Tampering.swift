public import Tutela

/// Edits of the in-memory store behind Tutela's back, as someone with write access to a vault's
/// database would make them: what the tamper tests attack with.
extension MemoryVaultStore {
    /// Replaces a stored record's bytes.
    public func tamper(record id: RecordID, _ change: @Sendable (StoredRecord) -> StoredRecord) {
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

    /// Reads anything stored, as someone with the database files open would.
    package func tamperRead<T: Sendable>(_ read: @Sendable (State) -> T) -> T { read(state) }

    /// Changes anything stored, as someone with the database files open would.
    package func tamper(_ change: @Sendable (inout State) -> Void) { change(&state) }

    /// Everything stored now but the shred keys, as a backup would keep it, for ``restore(_:)``.
    public func snapshot() -> Snapshot { Snapshot(state: state) }

    /// Puts back a ``snapshot()``: the vault restored from an older copy.
    public func restore(_ snapshot: Snapshot) { state = snapshot.state }

    /// A copy of the store's contents.
    public struct Snapshot: Sendable { fileprivate let state: State }

    /// Replaces a stored object's body.
    public func tamper(object kind: String, id: String, _ change: @Sendable ([UInt8]) -> [UInt8]) {
        if let o = state.objects[kind]?[id] {
            state.objects[kind]?[id] = StoredObject(
                kind: o.kind, id: o.id, key: o.key, body: change(o.body))
        }
    }
}

extension StoredRecord {
    /// A stored record made from a whole canonical envelope, as someone writing the database files
    /// would store it: the envelope's sealed part, beside `labelBytes` as the label row (whatever
    /// label the envelope itself carried).
    public init(record: RecordID, labelBytes: [UInt8], envelopeBytes: [UInt8], slots: [Slot]) {
        self.init(
            record: record, labelBytes: labelBytes,
            sealedBytes: Envelope.sealedPart(of: envelopeBytes) ?? envelopeBytes, slots: slots)
    }
}

extension VaultStore {
    /// Every label, read page by page as the retention check reads them, in the store's order.
    public func pagedLabels(pageSize: Int) async throws -> [StoredLabel] {
        var labels: [StoredLabel] = []
        var cursor: LabelCursor?
        repeat {
            let page = try await self.labels(from: cursor, limit: pageSize)
            precondition(page.labels.count <= pageSize, "a page over its limit")
            labels += page.labels
            cursor = page.next
        } while cursor != nil
        return labels
    }
}
