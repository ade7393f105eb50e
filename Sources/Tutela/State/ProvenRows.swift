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
        let parents = Set(nodeWrites.keys.map { String($0.dropLast()) }).intersection(prefixes)
        for prefix in parents.sorted() {
            let rows = try await store.objects(
                kind: StateMap.nodeKind, key: StateMap.parentKey(prefix))
            guard try StateMap.children(prefix, rows: rows) == children[prefix] else {
                throw StateTransaction.mapMismatch(prefix)
            }
        }
    }
}

extension StateClaims {
    /// The label of `row` as a verified read may trust it: for a record still stored, the label
    /// its author signed (the envelope read and verified, its state entry claimed); for a destroyed
    /// one, the row's, which the vault's state must hold. The row only says where to look.
    mutating func provenLabel(
        _ row: StoredLabel, store: any VaultStore, directory: Directory
    ) async throws -> Label {
        if let stored = try await store.record(row.record) {
            let envelope = try Session.verifiedEnvelope(
                stored, id: row.record, directory: directory)
            guard stored.labelBytes == row.labelBytes else {
                throw TutelaError.tampered(
                    "the label row of \(row.record) does not match its envelope")
            }
            try addRecord(row.record, stored)
            return envelope.label
        }
        try addLabel(row.record, row.labelBytes)
        return try Label.parse(row.labelBytes)
    }

    /// ``provenLabel(_:store:directory:)`` for many rows at once, in their order: the envelopes
    /// read concurrently and their signatures verified on every core. A learner's list of a hundred
    /// records waited on a hundred reads and verifications, one after another.
    mutating func provenLabels(
        _ rows: [StoredLabel], store: any VaultStore, directory: Directory
    ) async throws -> [Label] {
        let stored = try await withThrowingTaskGroup(of: (Int, StoredRecord?).self) { group in
            for (i, row) in rows.enumerated() {
                group.addTask { (i, try await store.record(row.record)) }
            }
            var stored = [StoredRecord?](repeating: nil, count: rows.count)
            for try await (i, record) in group { stored[i] = record }
            return stored
        }
        let checked = try Session.inParallel(Array(zip(rows, stored))) {
            pair throws(TutelaError) -> Label? in
            let (row, record) = pair
            guard let record else { return nil }
            let envelope = try Session.verifiedEnvelope(
                record, id: row.record, directory: directory)
            guard record.labelBytes == row.labelBytes else {
                throw TutelaError.tampered(
                    "the label row of \(row.record) does not match its envelope")
            }
            return envelope.label
        }
        var labels: [Label] = []
        for ((row, record), label) in zip(zip(rows, stored), checked) {
            if let record, let label {
                try addRecord(row.record, record)
                labels.append(label)
            } else {
                try addLabel(row.record, row.labelBytes)
                labels.append(try Label.parse(row.labelBytes))
            }
        }
        return labels
    }
}
