/// Reading a batch's state rows ahead: on a store where every read is a round trip (PostgreSQL),
/// sealing a record read its map path — a bucket and the nodes above it not read before — and
/// looked for a planted `audit-made` row, one statement each. Named up front, they are read in a
/// few statements. The rows are still checked where they are used, as before: this only says
/// which will be asked for (``VaultTransaction/prefetch(kind:ids:)``).
extension StateTransaction {
    /// Before `records` are inserted and `entries` audit entries appended after the log's last.
    func prefetch(
        inserting records: [(record: StoredRecord, learner: LearnerID, author: PrincipalID)],
        entries: Int
    ) async throws {
        var keys: [StateKey] = []
        for (record, learner, author) in records {
            keys.append(.record(record.record))
            keys += try FiledLabels.filings(record, learner: learner, author: author)
        }
        let (buckets, nodes) = try await unread(keys)
        try await prefetch(kind: StateMap.bucketKind, ids: buckets)
        try await prefetch(kind: StateMap.nodeKind, ids: nodes)
        guard entries > 0 else { return }
        let next = (try await lastLink(.audit)?.sequence ?? -1) + 1
        try await prefetch(
            kind: ObjectKind.auditMade,
            ids: (0..<Int64(entries)).map { SubjectIndex.madeName(next + $0) })
    }

    /// Before a release reads `record` and its facts of `kinds` and checks them against the
    /// state: those facts (``VaultTransaction/prefetch(kinds:keys:)``) and the state rows not
    /// proven yet that the checks will read, a statement for each rather than one per read.
    func prefetch(record: RecordID, facts kinds: [FactKind]) async throws {
        try await prefetch(kinds: kinds.map(\.rawValue), keys: [record.text])
        let (buckets, nodes) = try await unread(
            [.record(record)] + kinds.map { .facts($0, record.text) })
        try await prefetch(kind: StateMap.bucketKind, ids: buckets)
        try await prefetch(kind: StateMap.nodeKind, ids: nodes)
    }

    /// The rows ``load(_:)`` would read for `keys`' buckets: bucket and node rows neither read in
    /// this transaction nor proven in the session's cache (``prefetch(inserting:entries:)``).
    func unread(_ keys: [StateKey]) async throws -> (buckets: [String], nodes: [String]) {
        let root = try await committed().root
        var (bucketRows, nodeRows): ([String], Set<String>) = ([], [])
        for b in Set(keys.map(\.bucket)) where buckets[b] == nil {
            let cached = cache?.proven(b, root: root)
            if cached?.entries == nil { bucketRows.append(StateMap.prefix(b, depth: 4)) }
            for depth in 0...3 {
                let prefix = StateMap.prefix(b, depth: depth)
                guard storedChildren[prefix] == nil, cached?.children[prefix] == nil else {
                    continue
                }
                nodeRows.insert(StateMap.parentKey(prefix))
            }
        }
        return (bucketRows.sorted(), nodeRows.sorted())
    }

    /// Before ``load(_:)`` reads the nodes on bucket `b`'s path one by one: those neither read nor
    /// among the session's proofs (`proven`), read together when there are two or more.
    func prefetchPath(_ b: UInt16, proven: [String: [[UInt8]]]) async throws {
        let missing = (0...3).map { StateMap.prefix(b, depth: $0) }.filter {
            storedChildren[$0] == nil && proven[$0] == nil
        }
        guard missing.count > 1 else { return }
        try await prefetch(kind: StateMap.nodeKind, ids: missing.map(StateMap.parentKey))
    }
}
