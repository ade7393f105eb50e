/// What proving the vault's state costs, for the benchmark: the pieces of a proof timed apart
/// from the reads around them.
package enum StateCost {
    /// Reads a record and proves it against the newest entry's root, as an open does.
    package static func proveRecord(_ session: Session, _ id: RecordID) async throws {
        _ = try await session.verifiedRecord(id)
    }

    /// Reads a record without proving it.
    package static func readRecord(_ session: Session, _ id: RecordID) async throws {
        _ = try await session.store.record(id)
    }

    /// One label row's step of the label chain (its digest, then the chain), as the retention
    /// check and `audit verify` take it.
    package static func chainStep(_ chain: [UInt8], _ row: StoredLabel) throws -> [UInt8] {
        try StateHead.chain(
            chain,
            digest: try StateHead.digest(
                record: row.record.text, learner: row.learner.text, label: row.labelBytes))
    }

    /// The bytes a record's proof hashes: its bucket's body, the four nodes on its path (16
    /// children each), its label and its sealed part.
    package static func proofBytes(_ session: Session, _ id: RecordID) async throws -> [[UInt8]] {
        let store = session.store
        let key = StateKey.record(id)
        let name = StateMap.prefix(key.bucket, depth: 4)
        let bucket = try await store.objects(kind: StateMap.bucketKind, key: name).first?.body ?? []
        let record = try await store.record(id)
        let node = [UInt8](repeating: 0, count: 16 * 32 + 32)
        return [
            bucket, node, node, node, node, record?.labelBytes ?? [], record?.sealedBytes ?? [],
        ]
    }
}
