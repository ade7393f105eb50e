/// The rows of each fact group a transaction changes, as it verified them and as its own puts and
/// deletes changed them since. When the transaction commits a group's new value to the state, the
/// rows read back must be exactly these: a row planted, edited or deleted in between by someone
/// writing to the database without the writer lock is tampering (65), never committed into the
/// state as if this transaction had written it.
struct FactGroups {
    /// By group: each row's id and body.
    private var rows: [StateKey: [String: [UInt8]]] = [:]

    /// A group's rows, verified against the committed state.
    mutating func verified(_ key: StateKey, _ objects: [StoredObject]) {
        rows[key] = Dictionary(objects.map { ($0.id, $0.body) }) { first, _ in first }
    }

    /// This transaction put `object`, a fact of `kind`, filed under `from` before (if it was).
    mutating func put(_ object: StoredObject, kind: FactKind, from old: String?) {
        if let old { rows[.facts(kind, old)]?[object.id] = nil }
        rows[.facts(kind, object.key)]?[object.id] = object.body
    }

    /// This transaction deleted object `id` from group `key`.
    mutating func delete(_ id: String, from key: StateKey) {
        rows[key]?[id] = nil
    }

    /// Checks the rows of group `key` read back before its new value is committed.
    func check(_ key: StateKey, _ objects: [StoredObject]) throws(TutelaError) {
        let read = Dictionary(objects.map { ($0.id, $0.body) }) { first, _ in first }
        guard objects.count == read.count, read == rows[key] else {
            throw StateTransaction.mismatch(key)
        }
    }
}
