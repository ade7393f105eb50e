/// The buckets and nodes a transaction took from its session's proofs (``StateCache``) instead
/// of reading them. Before the transaction overwrites any of them, the stored rows must still be
/// what was proven: an edit made to them since is reported (65), not silently replaced.
struct ProvenRows {
    private var buckets: [UInt16: [String: [UInt8]]] = [:]
    private var prefixes: Set<String> = []

    /// Bucket `b` was taken from the proofs, holding `entries`.
    mutating func took(bucket b: UInt16, _ entries: [String: [UInt8]]) { buckets[b] = entries }

    /// The 16 children of node `prefix` were taken from the proofs.
    mutating func took(node prefix: String) { prefixes.insert(prefix) }

    /// Checks the stored rows of every proven bucket in `written`, and of every proven node with a
    /// child in `nodeWrites`, against what was proven (`children`, as loaded).
    func check(
        written: Set<UInt16>, nodeWrites: [String: [UInt8]], children: [String: [[UInt8]]],
        in store: any VaultTransaction
    ) async throws {
        let parents = Set(nodeWrites.keys.map { String($0.dropLast()) }).intersection(prefixes)
        // Read together where each read is a round trip (``VaultTransaction/prefetch(kind:ids:)``).
        try await store.prefetch(
            kind: StateMap.bucketKind,
            ids: written.filter { buckets[$0] != nil }.map { StateMap.prefix($0, depth: 4) })
        try await store.prefetch(kind: StateMap.nodeKind, ids: parents.map(StateMap.parentKey))
        for b in written.sorted() {
            guard let proven = buckets[b] else { continue }
            let name = StateMap.prefix(b, depth: 4)
            var stored: [String: [UInt8]] = [:]
            if let row = try await store.object(kind: StateMap.bucketKind, id: name) {
                guard row.key == name else { throw StateTransaction.mapMismatch(name) }
                stored = try StateMap.decode(row.body, bucket: b)
            }
            guard stored == proven else { throw StateTransaction.mapMismatch(name) }
        }
        for prefix in parents.sorted() {
            let row = try await store.object(
                kind: StateMap.nodeKind, id: StateMap.parentKey(prefix))
            guard try StateMap.children(prefix, rows: row.map { [$0] } ?? []) == children[prefix]
            else {
                throw StateTransaction.mapMismatch(prefix)
            }
        }
    }
}
