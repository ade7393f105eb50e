/// The rows of each fact group a transaction changes, as it verified them and as its own puts and
/// deletes changed them since. When the transaction commits a group's new value to the state, the
/// rows read back must be exactly these: a row planted, edited, renamed or deleted in between by
/// someone writing to the database without the writer lock is tampering (65), never committed into
/// the state as if this transaction had written it.
///
/// Ids are compared as bytes, as the state hashes them: Swift's `String` equality takes
/// canonically equivalent spellings (a Kelvin sign for a `K`) as one id.
struct FactGroups {
    /// By group: each row's id (its UTF-8 bytes) and body.
    private var rows: [StateKey: [[UInt8]: [UInt8]]] = [:]

    /// A group's rows, verified against the committed state.
    mutating func verified(_ key: StateKey, _ objects: [StoredObject]) {
        rows[key] = Self.byID(objects)
    }

    /// This transaction put `object`, a fact of `kind`, filed under `from` before (if it was).
    mutating func put(_ object: StoredObject, kind: FactKind, from old: String?) {
        if let old { rows[.facts(kind, old)]?[Array(object.id.utf8)] = nil }
        rows[.facts(kind, object.key)]?[Array(object.id.utf8)] = object.body
    }

    /// This transaction deleted object `id` from group `key`.
    mutating func delete(_ id: String, from key: StateKey) {
        rows[key]?[Array(id.utf8)] = nil
    }

    /// Checks the rows of group `key` read back: exactly those verified, with this transaction's
    /// own changes.
    func check(_ key: StateKey, _ objects: [StoredObject]) throws(TutelaError) {
        let read = Self.byID(objects)
        guard objects.count == read.count, read == rows[key] else {
            throw StateTransaction.mismatch(key)
        }
    }

    private static func byID(_ objects: [StoredObject]) -> [[UInt8]: [UInt8]] {
        Dictionary(objects.map { (Array($0.id.utf8), $0.body) }) { first, _ in first }
    }
}
