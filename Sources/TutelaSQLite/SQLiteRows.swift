import Foundation
import GRDB
import Tutela

/// Rows to values: the chains' links, objects, and break-glass shares.
extension SQLiteVaultStore {
    /// The columns ``link(_:)`` reads, in its order.
    static let linkColumns = "seq, prev_hash, signer, body, signature, hash"

    /// A chain link from a row selecting ``linkColumns``, by position (reading a log of a hundred
    /// thousand entries, lookups by name were a fifth of the time).
    static func link(_ row: Row) throws -> ChainLink {
        ChainLink(
            sequence: row[0], previousHash: [UInt8](row[1] as Data),
            signer: try storedID(row[2]), body: [UInt8](row[3] as Data),
            signature: [UInt8](row[4] as Data), hash: [UInt8](row[5] as Data))
    }

    /// Objects of `kind` (filed under `key`, or all), ordered by id; for the store and transactions.
    static func objects(kind: String, key: String?, in db: Database) throws -> [StoredObject] {
        let rows: [Row]
        if let key {
            // Named, because without statistics SQLite would take the primary key (kind, id)
            // for the ORDER BY and scan every object of the kind for the key.
            rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT \(objectColumns) FROM objects INDEXED BY objects_by_key
                        WHERE kind = ? AND key = ? ORDER BY id
                        """),
                arguments: [kind, key])
        } else {
            rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: "SELECT \(objectColumns) FROM objects WHERE kind = ? ORDER BY id"),
                arguments: [kind])
        }
        return try rows.map(Self.object)
    }

    /// Objects of `kind` filed under any of `keys`, one statement per 500 keys, in no set order (a
    /// proof outside a transaction reads the buckets and nodes it needs in one).
    static func objects(kind: String, keys: [String], in db: Database) throws -> [StoredObject] {
        let keys = Array(Set(keys))
        var found: [StoredObject] = []
        for start in stride(from: 0, to: keys.count, by: 500) {
            let chunk = Array(keys[start..<min(keys.count, start + 500)])
            let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
            let sql = """
                SELECT \(objectColumns) FROM objects INDEXED BY objects_by_key
                WHERE kind = ? AND key IN (\(marks))
                """
            // Only short lists are kept prepared: one statement per length.
            let statement =
                chunk.count <= 8 ? try db.cachedStatement(sql: sql) : try db.makeStatement(sql: sql)
            found += try Row.fetchAll(statement, arguments: StatementArguments([kind] + chunk))
                .map(Self.object)
        }
        return found
    }

    /// Break-glass shares from their table, joined to their record's id. A holder column that does
    /// not name a group key version is damage: `.tampered`.
    static func shares(where condition: String, _ arguments: StatementArguments, in db: Database)
        throws -> [StoredShare]
    {
        try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT labels.record, shares.holder, shares.body FROM shares
                    JOIN labels ON labels.id = shares.id WHERE \(condition)
                    """), arguments: arguments
        ).map { row in
            let record = try recordID(row[0])
            let holderText: String = row[1]
            guard let holder = Recipient(holderText) else {
                throw TutelaError(
                    .tampered,
                    "the vault database is damaged: a share of \(record) names no holder",
                    hint: "keep the damaged copy as evidence and restore a backup")
            }
            return StoredShare(record: record, holder: holder, body: [UInt8](row[2] as Data))
        }
    }

    /// An id read back from a row: re-checked, since the store's files are not trusted. One that
    /// is not a valid id is damage: `.tampered`.
    static func storedID<Kind>(_ text: String) throws -> ID<Kind> {
        guard let id = ID<Kind>(validating: text) else {
            throw TutelaError(
                .tampered,
                "the vault database is damaged: a row names a \(Kind.noun) by something that is "
                    + "not an id",
                hint: "keep the damaged copy as evidence and restore a backup")
        }
        return id
    }

    /// A record id read back from a row; `.tampered` when it is not a valid id.
    static func recordID(_ text: String) throws -> RecordID { try storedID(text) }

    /// A learner id read back from a row; `.tampered` when it is not a valid id.
    static func learnerID(_ text: String) throws -> LearnerID { try storedID(text) }

    /// A slot's recipient read back from a row; `.tampered` when it names no person or group key.
    static func recipient(_ text: String) throws -> Recipient {
        guard let recipient = Recipient(text) else {
            throw TutelaError(
                .tampered,
                "the vault database is damaged: a key slot names no recipient",
                hint: "keep the damaged copy as evidence and restore a backup")
        }
        return recipient
    }

    /// The columns ``object(_:)`` reads, in its order.
    static let objectColumns = "kind, id, key, body"

    /// An object from a row selecting ``objectColumns``, by position. A cell of another type (a
    /// number where text or bytes belong) is damage: `.tampered`, where GRDB's subscripts trap.
    static func object(_ row: Row) throws -> StoredObject {
        guard let kind = String.fromDatabaseValue(row[0] as DatabaseValue),
            let id = String.fromDatabaseValue(row[1] as DatabaseValue),
            let key = String.fromDatabaseValue(row[2] as DatabaseValue),
            let body = Data.fromDatabaseValue(row[3] as DatabaseValue)
        else {
            throw TutelaError(
                .tampered, "the vault database is damaged: an object's row is not text and bytes",
                hint: "keep the damaged copy as evidence and restore a backup")
        }
        return StoredObject(kind: kind, id: id, key: key, body: [UInt8](body))
    }
}
