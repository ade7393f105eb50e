/// The state map's paths: a bucket's way up to the root, proving one, and re-hashing what a
/// transaction changed.
extension StateMap {
    /// The root a bucket's hash leads to, through the stored siblings on its path.
    /// - Parameter children: each prefix on the path (depth 0…3) mapped to its 16 stored children.
    static func root(
        bucket: UInt16, hash bucketHash: [UInt8], children: [String: [[UInt8]]]
    ) throws(TutelaError) -> [UInt8] {
        try path(bucket: bucket, hash: bucketHash, children: children).root
    }

    /// The root a bucket's hash leads to, and the 16 children of each node on its path as the
    /// root vouches for them: the stored siblings, with the path's own slots replaced by the hashes
    /// worked out on the way up (the stored values there are covered by nothing). Only these rows
    /// may be kept as proven.
    static func path(
        bucket: UInt16, hash bucketHash: [UInt8], children: [String: [[UInt8]]]
    ) throws(TutelaError) -> (root: [UInt8], rows: [String: [[UInt8]]]) {
        var current = bucketHash
        var rows: [String: [[UInt8]]] = [:]
        for depth in stride(from: 3, through: 0, by: -1) {
            let prefix = prefix(bucket, depth: depth)
            var row = children[prefix] ?? [[UInt8]](repeating: zero, count: 16)
            row[Int(bucket >> UInt16(12 - 4 * depth)) & 0xF] = current
            rows[prefix] = row
            current = try nodeHash(prefix, row)
        }
        return (current, rows)
    }

    /// Re-hashes the buckets in `changed` and every node above them: each new bucket and node hash
    /// goes into `rows` (to be written, by name) and into its parent's entry in `children`.
    /// - Returns: the new root.
    static func rehash(
        _ changed: Set<UInt16>, buckets: [UInt16: [String: [UInt8]]],
        children: inout [String: [[UInt8]]], rows: inout [String: [UInt8]]
    ) throws(TutelaError) -> [UInt8] {
        var parents: Set<String> = []
        for b in changed {
            let hash = try bucketHash(b, buckets[b] ?? [:])
            rows[prefix(b, depth: 4)] = hash
            let parent = prefix(b, depth: 3)
            children[parent]?[Int(b & 0xF)] = hash
            parents.insert(parent)
        }
        var top: [UInt8] = zero
        for depth in stride(from: 3, through: 0, by: -1) {
            var next: Set<String> = []
            for prefix in parents {
                let hash = try nodeHash(prefix, children[prefix] ?? [])
                if depth == 0 {
                    top = hash
                    continue
                }
                rows[prefix] = hash
                let parent = String(prefix.dropLast())
                if let last = prefix.last, let digit = last.hexDigitValue {
                    children[parent]?[digit] = hash
                }
                next.insert(parent)
            }
            parents = next
        }
        return top
    }
}

extension StateMap {
    /// The values `keys` have in the map's rows as stored — unproven: a read that relies on one
    /// claims it (``StateClaims``) and proves it against the state. Bucket rows are read 4,096 at
    /// a time; a row that does not decode holds nothing here (its proof then fails).
    static func stored(_ keys: [StateKey], in store: any VaultStore) async throws -> [String:
        [UInt8]]
    {
        let names = Set(keys.map { prefix($0.bucket, depth: 4) }).sorted()
        var held: [String: [UInt8]] = [:]
        for start in stride(from: 0, to: names.count, by: 4096) {
            let chunk = Array(names[start..<min(start + 4096, names.count)])
            for row in try await store.objects(kind: bucketKind, keys: chunk) {
                guard let b = UInt16(row.id, radix: 16),
                    let entries = try? decode(row.body, bucket: b)
                else { continue }
                held.merge(entries) { $1 }
            }
        }
        let wanted = Set(keys.map(\.text))
        return held.filter { wanted.contains($0.key) }
    }

    /// Writes a transaction's changed bucket rows and node rows (deleting those now empty).
    /// - Parameter nodes: each changed node's prefix, with its 16 children as they now are.
    static func writeRows(
        buckets: [(UInt16, [String: [UInt8]])], nodes: [String: [[UInt8]]],
        to tx: any VaultTransaction
    ) async throws {
        for (b, entries) in buckets {
            let name = prefix(b, depth: 4)
            if entries.isEmpty {
                try await tx.deleteObject(kind: bucketKind, id: name)
            } else {
                try await tx.put(
                    StoredObject(kind: bucketKind, id: name, key: name, body: encode(entries)))
            }
        }
        for (prefix, children) in nodes {
            if let row = nodeRow(prefix, children) {
                try await tx.put(row)
            } else {
                try await tx.deleteObject(kind: nodeKind, id: parentKey(prefix))
            }
        }
    }
}
