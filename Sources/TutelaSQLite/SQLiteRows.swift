import Foundation
import GRDB
import Tutela

/// A row's cells, each read as the type it must have. The store's files are not trusted: a cell
/// of another type (a number where bytes belong, a NULL, bytes where text belongs) is damage,
/// `.tampered`, where GRDB's typed subscripts would stop the process.
struct Cells {
    let row: Row
    /// What the row holds, for the error: "a log entry", "a key slot".
    let what: String

    init(_ row: Row, _ what: String) {
        self.row = row
        self.what = what
    }

    func bytes(_ column: Int) throws -> [UInt8] { [UInt8](try cell(row[column]) as Data) }
    func bytes(_ column: String) throws -> [UInt8] { [UInt8](try cell(named(column)) as Data) }
    func text(_ column: Int) throws -> String { try cell(row[column]) }
    func text(_ column: String) throws -> String { try cell(named(column)) }
    func integer(_ column: Int) throws -> Int64 { try cell(row[column]) }
    func integer(_ column: String) throws -> Int64 { try cell(named(column)) }

    private func named(_ column: String) -> DatabaseValue {
        row.hasColumn(column) ? row[column] : .null
    }

    private func cell<Value: DatabaseValueConvertible>(_ value: DatabaseValue) throws -> Value {
        // Text where bytes belong is read as its bytes by GRDB; a number never is.
        guard let converted = Value.fromDatabaseValue(value) else {
            throw TutelaError(
                .tampered,
                "the vault database is damaged: \(what)'s row holds a cell of the wrong type",
                hint: "keep the damaged copy as evidence and restore a backup")
        }
        return converted
    }
}

/// Rows to values: the chains' links, objects, and break-glass shares.
extension SQLiteVaultStore {
    /// The identities row of `principal`, read in `db` (a read or a transaction).
    static func sealedIdentity(_ principal: PrincipalID, in db: Database) throws
        -> SealedIdentity?
    {
        try Row.fetchOne(
            db, sql: "SELECT * FROM identities WHERE principal = ?",
            arguments: [principal.text]
        )
        .map { row in
            let cells = Cells(row, "a sealed identity")
            return SealedIdentity(
                principal: try Self.storedID(cells.text("principal")),
                signingKey: try cells.bytes("signing_key"),
                agreementKey: try cells.bytes("agreement_key"), salt: try cells.bytes("salt"),
                opsLimit: UInt64(clamping: try cells.integer("ops")),
                memLimit: UInt64(clamping: try cells.integer("mem")),
                nonce: try cells.bytes("nonce"), ciphertext: try cells.bytes("ciphertext"))
        }
    }

    /// The columns ``link(_:)`` reads, in its order.
    static let linkColumns = "seq, prev_hash, signer, body, signature, hash"

    /// A chain link from a row selecting ``linkColumns``, by position (reading a log of a hundred
    /// thousand entries, lookups by name were a fifth of the time).
    static func link(_ row: Row) throws -> ChainLink {
        let cells = Cells(row, "a log entry")
        return ChainLink(
            sequence: try cells.integer(0), previousHash: try cells.bytes(1),
            signer: try storedID(cells.text(2)), body: try cells.bytes(3),
            signature: try cells.bytes(4), hash: try cells.bytes(5))
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
        try objects(kind: kind, column: "key", values: keys, in: db)
    }

    /// Objects of `kind` whose `column` (`key`, through its index, or `id`, the primary key) is
    /// any of `values`, one statement per 500 values, in no set order.
    static func objects(kind: String, column: String, values: [String], in db: Database) throws
        -> [StoredObject]
    {
        let values = Array(Set(values))
        let source = column == "key" ? "objects INDEXED BY objects_by_key" : "objects"
        var found: [StoredObject] = []
        for start in stride(from: 0, to: values.count, by: 500) {
            let chunk = Array(values[start..<min(values.count, start + 500)])
            let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
            let sql = """
                SELECT \(objectColumns) FROM \(source)
                WHERE kind = ? AND \(column) IN (\(marks))
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
            let cells = Cells(row, "a break-glass share")
            let record = try recordID(cells.text(0))
            guard let holder = Recipient(try cells.text(1)) else {
                throw TutelaError(
                    .tampered,
                    "the vault database is damaged: a share of \(record) names no holder",
                    hint: "keep the damaged copy as evidence and restore a backup")
            }
            return StoredShare(record: record, holder: holder, body: try cells.bytes(2))
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
        let cells = Cells(row, "an object")
        return StoredObject(
            kind: try cells.text(0), id: try cells.text(1), key: try cells.text(2),
            body: try cells.bytes(3))
    }
}
