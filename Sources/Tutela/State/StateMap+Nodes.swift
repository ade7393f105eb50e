/// The state map's node rows: one row per node above the buckets, holding its children's hashes.
///
/// A node at depth 0…3 (the root has the empty prefix) is stored as kind `state-node`, id and key
/// `/` and its prefix, body version 1: a byte 1, a big-endian 16-bit mask of its non-zero
/// children (bit *i* for digit *i*), then those children's 32-byte hashes in digit order. A node
/// whose children are all zero has no row. One row per node means a proof reads four rows for the
/// four nodes on a bucket's path (docs/FORMAT.md, "State map").
extension StateMap {
    /// A node row's id and key: `/` and the node's prefix.
    static func parentKey(_ prefix: String) -> String { "/" + prefix }

    /// The version byte of a node row's body.
    static let nodeVersion: UInt8 = 1

    /// The body of a node with `children` (16 hashes), or nil when every child is zero (no row).
    static func nodeBody(_ children: [[UInt8]]) -> [UInt8]? {
        var mask: UInt16 = 0
        var hashes: [UInt8] = []
        for (digit, child) in children.enumerated() where child != zero {
            mask |= 1 << UInt16(digit)
            hashes += child
        }
        guard mask != 0 else { return nil }
        return [nodeVersion, UInt8(mask >> 8), UInt8(mask & 0xFF)] + hashes
    }

    /// The 16 stored children of `prefix` (zero where none), from its node row — `rows` holds the
    /// rows found for it, at most one. A row filed under another name, a second row, or a body that
    /// is not exactly version 1 with a hash for each bit of its mask (none zero) is tampering.
    static func children(_ prefix: String, rows: [StoredObject]) throws(TutelaError) -> [[UInt8]] {
        var children = [[UInt8]](repeating: zero, count: 16)
        guard let row = rows.first else { return children }
        let name = parentKey(prefix)
        let body = row.body
        guard rows.count == 1, row.id == name, row.key == name, body.count >= 3,
            body[0] == nodeVersion
        else { throw .tampered("state node \(name) is malformed") }
        let mask = UInt16(body[1]) << 8 | UInt16(body[2])
        guard mask != 0, body.count == 3 + 32 * mask.nonzeroBitCount else {
            throw .tampered("state node \(name) is malformed")
        }
        var at = 3
        for digit in 0..<16 where mask & (1 << UInt16(digit)) != 0 {
            let child = Array(body[at..<at + 32])
            guard child != zero else { throw .tampered("state node \(name) is malformed") }
            children[digit] = child
            at += 32
        }
        return children
    }

    /// The row of node `prefix` with `children`, or nil when it has none to store.
    static func nodeRow(_ prefix: String, _ children: [[UInt8]]) -> StoredObject? {
        nodeBody(children).map {
            StoredObject(kind: nodeKind, id: parentKey(prefix), key: parentKey(prefix), body: $0)
        }
    }
}

/// The embedded store's migration to whole node rows (its schema v6): before it, each child of a
/// node had a row of its own (id the child's 1–4 hex digits, filed under `/` and its parent's
/// prefix, body the child's 32-byte hash).
package enum StateNodeMigration {
    /// The kind of the map's node rows.
    package static let kind = StateMap.nodeKind

    /// The whole node rows that `rows` of one child each make, and the ids of the rows they
    /// replace. A row of any other shape is not among them: left where it is, the map's proofs
    /// report it.
    package static func wholeNodes(_ rows: [StoredObject]) -> (
        rows: [StoredObject], replaced: [String]
    ) {
        var nodes: [String: [[UInt8]]] = [:]
        var replaced: [String] = []
        for row in rows {
            let parent = String(row.id.dropLast())
            guard (1...4).contains(row.id.count), row.id.allSatisfy(StateMap.digits.contains),
                let digit = row.id.last?.hexDigitValue, row.kind == StateMap.nodeKind,
                row.key == StateMap.parentKey(parent), row.body.count == 32,
                row.body != StateMap.zero
            else { continue }
            nodes[parent, default: [[UInt8]](repeating: StateMap.zero, count: 16)][digit] = row.body
            replaced.append(row.id)
        }
        return (
            nodes.sorted { $0.key < $1.key }.compactMap { StateMap.nodeRow($0.key, $0.value) },
            replaced
        )
    }
}
