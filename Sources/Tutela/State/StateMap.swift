import TutelaCrypto

/// What every audit entry commits to about the vault as it stood when the entry was written: the
/// directory's head, every label in the order it was stored, and the root of the state map (every
/// record's envelope and every signed fact, grouped by what it is about).
///
/// Each entry is signed by its actor and chained to the one before, and each machine pins the
/// log's head, so the state of the newest entry is what every read is checked against: a fact
/// deleted, moved, replayed from an older copy or rolled back no longer matches it (see
/// docs/FORMAT.md, "The vault's state").
struct StateHead: Sendable, Equatable {
    /// How many statements the directory has.
    var directoryCount: Int64
    /// The hash of the directory's last statement (32 zero bytes before the first).
    var directoryHash: [UInt8]
    /// How many labels are stored (labels are never removed: a destroyed record keeps its label).
    var labelCount: Int64
    /// The hash chain over every label row in the order it was stored.
    var labelChain: [UInt8]
    /// How many changes of facts the fact log holds.
    var factCount: Int64
    /// The hash chain over the fact log's changes, in order.
    var factChain: [UInt8]
    /// The root of the state map.
    var root: [UInt8]

    /// The state of a vault with nothing in it.
    static let empty = StateHead(
        directoryCount: 0, directoryHash: StateMap.zero, labelCount: 0, labelChain: StateMap.zero,
        factCount: 0, factChain: StateMap.zero, root: StateMap.zero)

    func write(to w: inout CanonicalWriter) {
        w.i64(directoryCount)
        w.fixed(directoryHash)
        w.i64(labelCount)
        w.fixed(labelChain)
        w.i64(factCount)
        w.fixed(factChain)
        w.fixed(root)
    }

    static func read(_ r: inout CanonicalReader) throws(TutelaError) -> StateHead {
        StateHead(
            directoryCount: try r.i64("directory count"),
            directoryHash: try r.fixed("directory hash", count: 32),
            labelCount: try r.i64("label count"), labelChain: try r.fixed("label chain", count: 32),
            factCount: try r.i64("fact count"), factChain: try r.fixed("fact chain", count: 32),
            root: try r.fixed("state root", count: 32))
    }

    /// The hash of one label row: its record and learner columns and its label.
    static func digest(record: String, learner: String, label: [UInt8]) throws(TutelaError)
        -> [UInt8]
    {
        var w = CanonicalWriter(capacity: label.count + 96)
        w.string("tutela-label-row-v1")
        w.string(record)
        w.string(learner)
        w.data(label)
        return try StateMap.hash(w.bytes)
    }

    /// The label chain after one more label row, given that row's ``digest(record:learner:label:)``
    /// (worked out on every core; only this step is in order).
    static func chain(_ previous: [UInt8], digest: [UInt8]) throws(TutelaError) -> [UInt8] {
        var w = CanonicalWriter(capacity: 96)
        w.string("tutela-label-chain-v1")
        w.fixed(previous)
        w.fixed(digest)
        return try StateMap.hash(w.bytes)
    }

    /// ``digests(_:)`` of `rows` on every core, 2,048 rows a task (only a chain over them is in
    /// order).
    static func parallelDigests(_ rows: [StoredLabel]) throws(TutelaError) -> [UInt8] {
        let parts = stride(from: 0, to: rows.count, by: 2048).map {
            $0..<min(rows.count, $0 + 2048)
        }
        let digested = try Session.inParallel(parts) { range throws(TutelaError) in
            try StateHead.digests(rows[range])
        }
        return Array(digested.joined())
    }

    private static let rowDomain = canonical("tutela-label-row-v1")
    private static let chainDomain = canonical("tutela-label-chain-v1")

    private static func canonical(_ text: String) -> [UInt8] {
        var w = CanonicalWriter()
        w.string(text)
        return w.bytes
    }

    /// Each row's ``digest(record:learner:label:)``, 32 bytes after 32 bytes, with one hasher: the
    /// same bytes hashed without a state, a writer and an output allocated per row (which cost the
    /// retention check over a million labels several times the hashing).
    static func digests(_ rows: ArraySlice<StoredLabel>) throws(TutelaError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: rows.count * 32)
        do {
            let hasher = try BLAKE2bHasher()
            for (n, row) in rows.enumerated() {
                hasher.update(rowDomain)
                hasher.canonical(row.record.text)
                hasher.canonical(row.learner.text)
                hasher.canonical(data: row.labelBytes)
                try hasher.finish(into: &out, at: n * 32)
            }
        } catch { throw .internal("the label chain could not be hashed: \(error)") }
        return out
    }

    /// The label chain after rows whose ``digests(_:)`` are `digests`, in order.
    static func chain(_ previous: [UInt8], digests: [UInt8]) throws(TutelaError) -> [UInt8] {
        var chain = previous
        do {
            let hasher = try BLAKE2bHasher()
            for start in stride(from: 0, to: digests.count, by: 32) {
                hasher.update(chainDomain)
                hasher.update(chain)
                digests[start..<(start + 32)].withUnsafeBytes { hasher.update($0) }
                try hasher.finish(into: &chain)
            }
        } catch { throw .internal("the label chain could not be hashed: \(error)") }
        return chain
    }
}

extension BLAKE2bHasher {
    /// Adds a string as ``CanonicalWriter/string(_:)`` writes it: a 4-byte length, then UTF-8.
    func canonical(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            withUnsafeBytes(of: UInt32(utf8.count).bigEndian) { update($0) }
            update(UnsafeRawBufferPointer(utf8))
        }
    }

    /// Adds bytes as ``CanonicalWriter/data(_:)`` writes them: a 4-byte length, then the bytes.
    func canonical(data: [UInt8]) {
        withUnsafeBytes(of: UInt32(data.count).bigEndian) { update($0) }
        update(data)
    }
}

/// One entry of the state map: its key text and the bucket it lives in.
///
/// Everything about one record — its envelope, the facts filed under it — shares the record's
/// bucket, so a command about one record reads one bucket and one path.
struct StateKey: Hashable, Sendable {
    /// The key's text, unique in the map.
    let text: String
    /// The bucket, 0…65535, from the hash of what the key is about.
    let bucket: UInt16

    private init(_ text: String, anchor: String) {
        self.text = text
        bucket = StateMap.bucket(of: anchor)
    }

    /// A record whose envelope is no longer its author's original: its label and its re-sealed
    /// envelope, or that it was destroyed.
    static func record(_ id: RecordID) -> StateKey { StateKey("R:\(id.text)", anchor: id.text) }

    /// The facts of one kind filed under one subject (a record, a request, a review).
    static func facts(_ kind: FactKind, _ subject: String) -> StateKey {
        StateKey("F:\(kind.rawValue):\(subject)", anchor: subject)
    }

    /// How many subjects have facts of `kind`: what makes a listing of every such fact complete.
    static func count(_ kind: FactKind) -> StateKey {
        StateKey("C:\(kind.rawValue)", anchor: "C:\(kind.rawValue)")
    }

    /// The audit entries about a subject (a record, a learner, a person, a request): see
    /// ``SubjectIndex``.
    static func audit(_ subject: String) -> StateKey { StateKey("A:\(subject)", anchor: subject) }

    /// The labels filed under a learner (``FiledLabels``): what makes a learner's list or export
    /// complete.
    static func learner(_ id: LearnerID) -> StateKey {
        StateKey("N:\(id.text)", anchor: "N:\(id.text)")
    }

    /// The labels of the records a person sealed (``FiledLabels``): what makes a tutor's own list
    /// complete.
    static func author(_ id: PrincipalID) -> StateKey {
        StateKey("W:\(id.text)", anchor: "W:\(id.text)")
    }
}

/// The state map's shape and hashing: a 16-ary Merkle tree of depth four over 65,536 buckets, each
/// bucket a sorted list of (key, value) entries. A proof for a key is its bucket and the 60 sibling
/// hashes on its path; the bucket shows the key's value, or that it has none.
enum StateMap {
    static let zero = [UInt8](repeating: 0, count: 32)
    /// Stored kinds of the map's own rows (never facts, never written by anything else).
    static let bucketKind = "state-bucket"
    static let nodeKind = "state-node"
    /// The longest value an entry holds.
    static let maxValue = 96
    static let maxEntries = 1 << 20

    static func hash(_ bytes: [UInt8]) throws(TutelaError) -> [UInt8] {
        do { return try BLAKE2b.hash(bytes) } catch {
            throw .internal("the state map could not be hashed: \(error)")
        }
    }

    static func bucket(of anchor: String) -> UInt16 {
        var w = CanonicalWriter(capacity: anchor.utf8.count + 32)
        w.string("tutela-state-bucket-v1")
        w.string(anchor)
        let digest = (try? hash(w.bytes)) ?? zero
        return UInt16(digest[0]) << 8 | UInt16(digest[1])
    }

    static let digits = Array("0123456789abcdef")

    /// The hex name of a bucket (4 digits) or of the node at `depth` (0…4 digits) above it.
    static func prefix(_ bucket: UInt16, depth: Int) -> String {
        String((0..<depth).map { digits[Int(bucket >> UInt16(12 - 4 * $0)) & 0xF] })
    }

    /// A bucket's stored body: its entries, sorted by key.
    static func encode(_ entries: [String: [UInt8]]) -> [UInt8] {
        var w = CanonicalWriter(capacity: entries.count * 72 + 8)
        w.u8(1)
        w.u32(UInt32(entries.count))
        for key in entries.keys.sorted() {
            w.string(key)
            w.data(entries[key] ?? [])
        }
        return w.bytes
    }

    static func decode(_ body: [UInt8], bucket: UInt16) throws(TutelaError) -> [String: [UInt8]] {
        var r = CanonicalReader(body, context: "state bucket \(prefix(bucket, depth: 4))")
        guard try r.u8("version") == 1 else {
            throw .tampered("state bucket \(prefix(bucket, depth: 4)) has an unknown version")
        }
        let count = Int(try r.u32("entry count"))
        guard count <= maxEntries else {
            throw .tampered("state bucket \(prefix(bucket, depth: 4)) is too large")
        }
        var entries: [String: [UInt8]] = [:]
        var last: String?
        for _ in 0..<count {
            let key = try r.string("key", max: 512)
            let value = try r.data("value", max: maxValue)
            // One encoding per bucket: keys strictly ascending, none empty-valued.
            guard last.map({ $0 < key }) ?? true, !value.isEmpty,
                bucketOfKey(key).map({ $0 == bucket }) ?? false
            else { throw .tampered("state bucket \(prefix(bucket, depth: 4)) is malformed") }
            last = key
            entries[key] = value
        }
        try r.finish()
        return entries
    }

    /// The bucket a key text belongs in, or nil for text no key has.
    static func bucketOfKey(_ key: String) -> UInt16? {
        let parts = key.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        switch parts.first {
        case "R" where parts.count == 2: return bucket(of: String(key.dropFirst(2)))
        case "A" where parts.count >= 2: return bucket(of: String(key.dropFirst(2)))
        case "F" where parts.count == 3: return bucket(of: String(parts[2]))
        case "C", "N", "W": return bucket(of: key)
        default: return nil
        }
    }

    /// A bucket's hash; an empty bucket's is zero.
    static func bucketHash(_ bucket: UInt16, _ entries: [String: [UInt8]]) throws(TutelaError)
        -> [UInt8]
    {
        guard !entries.isEmpty else { return zero }
        var w = CanonicalWriter()
        w.string("tutela-state-bucket-v1")
        w.u16(bucket)
        w.fixed(encode(entries))
        return try hash(w.bytes)
    }

    /// A node's hash from its 16 children; a node with only empty children is zero.
    static func nodeHash(_ prefix: String, _ children: [[UInt8]]) throws(TutelaError) -> [UInt8] {
        guard children.contains(where: { $0 != zero }) else { return zero }
        var w = CanonicalWriter(capacity: 16 * 32 + 64)
        w.string("tutela-state-node-v1")
        w.string(prefix)
        for child in children { w.fixed(child) }
        return try hash(w.bytes)
    }

    /// The value of a record's entry: its label's hash, then whether it still has an envelope and
    /// that envelope's sealed part's hash. A destroyed record keeps its entry, marked destroyed.
    static func recordValue(label: [UInt8], sealed: [UInt8]?) throws(TutelaError) -> [UInt8] {
        var value = try hash(label)
        if let sealed {
            value.append(1)
            value += try hash(sealed)
        } else {
            value.append(0)
        }
        return value
    }

    /// A record's entry for what is stored: none while its envelope is its author's original (a v3
    /// envelope, which the author's signature and the label chain already vouch for, so sealing
    /// writes nothing to the map for it), else ``recordValue(label:sealed:)``.
    static func recordEntry(label: [UInt8], sealed: [UInt8]?) throws(TutelaError) -> [UInt8]? {
        if let sealed, sealed.first == Envelope.formatVersion { return nil }
        return try recordValue(label: label, sealed: sealed)
    }

    /// Whether a record's entry says it still has an envelope.
    static func hasEnvelope(_ value: [UInt8]) -> Bool { value.count == 65 && value[32] == 1 }

    /// The value of a group of facts: each fact's id, filing and body, in id order; nil for none.
    static func factsValue(_ objects: [StoredObject]) throws(TutelaError) -> [UInt8]? {
        guard !objects.isEmpty else { return nil }
        var w = CanonicalWriter()
        w.string("tutela-state-facts-v1")
        for object in objects.sorted(by: { $0.id < $1.id }) {
            w.string(object.kind)
            w.string(object.id)
            w.string(object.key)
            w.fixed(try hash(object.body))
        }
        return try hash(w.bytes)
    }

    /// A count's value; nil for zero.
    static func countValue(_ n: Int64) -> [UInt8]? {
        guard n > 0 else { return nil }
        var w = CanonicalWriter()
        w.i64(n)
        return w.bytes
    }

    static func count(_ value: [UInt8]?) throws(TutelaError) -> Int64 {
        guard let value else { return 0 }
        var r = CanonicalReader(value, context: "state count")
        let n = try r.i64("count")
        try r.finish()
        guard n > 0 else { throw .tampered("a count in the vault's state is not positive") }
        return n
    }
}

extension StateTransaction {
    /// Refuses a write, other than the state's own, of a kind only the state writes.
    static func refuseOwnKind(_ kind: String) throws(TutelaError) {
        guard kind != StateMap.bucketKind, kind != StateMap.nodeKind, kind != FactChange.storedKind
        else { throw .internal("only the state map writes its own rows") }
    }

    /// The refusal for map rows (bucket or node `name`) that do not hash to the committed root.
    static func mapMismatch(_ name: String) -> TutelaError {
        TutelaError(
            .tampered,
            "the vault's state map does not match its log (bucket \(name)): stored facts or "
                + "records were deleted, moved, replayed or rolled back",
            hint: AuditLog.restoreHint)
    }

    /// The refusal for stored rows that do not match the committed state.
    static func mismatch(_ key: StateKey) -> TutelaError {
        TutelaError(
            .tampered,
            "\(describe(key)) do not match the vault's state: something stored was deleted, "
                + "moved, replayed from an older copy or rolled back",
            hint: AuditLog.restoreHint)
    }

    /// What a key covers, in words.
    static func describe(_ key: StateKey) -> String {
        let parts = key.text.split(separator: ":", maxSplits: 2).map(String.init)
        switch parts.first {
        case "R": return "the stored label and envelope of \(parts.dropFirst().joined())"
        case "F" where parts.count == 3: return "the \(parts[1]) facts filed under \(parts[2])"
        case "C" where parts.count == 2: return "the \(parts[1]) facts stored"
        case "N" where parts.count == 2: return "the records of learner \(parts[1])"
        case "A": return "the index of the audit entries about \(key.text.dropFirst(2))"
        default: return "the state entry \(key.text)"
        }
    }
}
