/// The labels filed under one learner (`N:LEARNER`) or one author (`W:AUTHOR`), as the vault's
/// state holds them: how many, and a chain over them in the order they were stored — the label
/// chain's own step over the same row digests (``StateHead/digest(record:learner:label:)``).
///
/// A list read by learner or by author is complete and unaltered when its rows fold to the
/// state's value: a row deleted, added, altered, moved to another learner or author, or swapped
/// for a record that was never committed changes the count or the chain. So a tutor's own list,
/// or one learner's, is proven without reading every label of the vault or any envelope.
struct FiledLabels: Sendable, Equatable {
    private(set) var count: Int64 = 0
    private(set) var chain = StateMap.zero

    init() {}

    /// The value a state entry holds (nil: nothing filed).
    init(_ value: [UInt8]?, _ key: StateKey) throws(TutelaError) {
        guard let value else { return }
        var r = CanonicalReader(value, context: "the state's \(key.text)")
        count = try r.i64("count")
        chain = try r.fixed("chain", count: 32)
        try r.finish()
        guard count > 0 else { throw .tampered("the state's \(key.text) is malformed") }
    }

    /// What `rows`, read in stored order, fold to.
    init(rows: [StoredLabel]) throws(TutelaError) {
        count = Int64(rows.count)
        chain = try StateHead.chain(StateMap.zero, digests: StateHead.parallelDigests(rows))
    }

    /// Its value in the state: i64 count ‖ fixed(32) chain; nil while nothing is filed.
    var value: [UInt8]? {
        guard count > 0 else { return nil }
        var w = CanonicalWriter(capacity: 40)
        w.i64(count)
        w.fixed(chain)
        return w.bytes
    }

    /// The lists a new record is filed in — its learner's and its author's — which must be the
    /// ones its label names.
    static func filings(_ record: StoredRecord, learner: LearnerID, author: PrincipalID)
        throws(TutelaError) -> [StateKey]
    {
        let label = try Label.parse(record.labelBytes)
        guard label.record == record.record, label.learner == learner, label.author == author
        else { throw .internal("a record filed apart from what its label names") }
        return [.learner(learner), .author(author)]
    }

    /// One more label, by its row digest.
    mutating func add(digest: [UInt8]) throws(TutelaError) {
        chain = try StateHead.chain(chain, digest: digest)
        count += 1
    }
}

extension StateClaims {
    /// `rows` were read as everything filed under `key` (a learner's or an author's): the state
    /// must hold their count and chain.
    mutating func addFiled(_ rows: [StoredLabel], under key: StateKey) throws(TutelaError) {
        add(key, try FiledLabels(rows: rows).value)
    }
}

/// Where a list of labels is filed: under a learner, or under the person who sealed them.
enum LabelFiling: Sendable, Hashable {
    case learner(LearnerID)
    case author(PrincipalID)

    /// The state's entry for the list.
    var key: StateKey {
        switch self {
        case .learner(let id): return .learner(id)
        case .author(let id): return .author(id)
        }
    }

    /// The rows filed here, in stored order.
    func rows(in store: any VaultStore) async throws -> [StoredLabel] {
        switch self {
        case .learner(let id): return try await store.labels(learner: id)
        case .author(let id): return try await store.labels(author: id)
        }
    }

    /// Whether `label` belongs here.
    func holds(_ label: Label) -> Bool {
        switch self {
        case .learner(let id): return label.learner == id
        case .author(let id): return label.author == id
        }
    }
}

extension Session {
    /// The labels filed under each of `filings`, each record once, proven against the vault's
    /// state (``FiledLabels``) and each parsed and matched to its row and its filing. A row
    /// deleted, altered, added or moved is tampering (65), never a record quietly missing from
    /// (or added to) a list.
    func filedLabels(_ filings: [LabelFiling]) async throws -> [Label] {
        let store = self.store
        let read = try await verifiedRead {
            var claims = StateClaims()
            var read: [(LabelFiling, [StoredLabel])] = []
            for filing in Set(filings) {
                let rows = try await filing.rows(in: store)
                try claims.addFiled(rows, under: filing.key)
                read.append((filing, rows))
            }
            return (read, claims)
        }
        var seen: Set<RecordID> = []
        var labels: [Label] = []
        for (filing, rows) in read {
            for row in rows where seen.insert(row.record).inserted {
                let label = try Label.parse(row: row)
                guard filing.holds(label) else {
                    throw TutelaError.tampered(
                        "the label row of \(row.record) is filed apart from what its label names")
                }
                labels.append(label)
            }
        }
        return labels
    }
}

extension Label {
    /// The label of a stored row, which must be the row's own record's and name the row's learner.
    static func parse(row: StoredLabel) throws(TutelaError) -> Label {
        let label = try parse(row.labelBytes, record: row.record, learner: row.learner)
        guard label.record == row.record, label.learner == row.learner else {
            throw .tampered("the label row of \(row.record) does not match its label")
        }
        return label
    }
}
