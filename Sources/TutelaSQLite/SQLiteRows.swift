import Foundation
import GRDB
import Tutela

/// Rows to values: the chains' links, objects, and break-glass shares (kept in their own table but
/// read and written as objects of kind `break-glass-share`, `RECORD/HOLDER`).
extension SQLiteVaultStore {
    static func link(_ row: Row) -> ChainLink {
        ChainLink(
            sequence: row["seq"], previousHash: [UInt8](row["prev_hash"] as Data),
            signer: row["signer"],
            body: [UInt8](row["body"] as Data), signature: [UInt8](row["signature"] as Data),
            hash: [UInt8](row["hash"] as Data))
    }

    /// Objects of `kind` (filed under `key`, or all), ordered by id; for the store and transactions.
    static func objects(kind: String, key: String?, in db: Database) throws -> [StoredObject] {
        if kind == ObjectKind.share {
            if let key {
                return try shares(
                    where: "labels.record = ? ORDER BY shares.holder", [key], in: db)
            }
            return try shares(where: "1 ORDER BY labels.record, shares.holder", [], in: db)
        }
        let rows: [Row]
        if let key {
            rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: "SELECT * FROM objects WHERE kind = ? AND key = ? ORDER BY id"),
                arguments: [kind, key])
        } else {
            rows = try Row.fetchAll(
                db.cachedStatement(sql: "SELECT * FROM objects WHERE kind = ? ORDER BY id"),
                arguments: [kind])
        }
        return rows.map(Self.object)
    }

    /// Break-glass shares, from their own table, as the objects they are everywhere else: kind
    /// `break-glass-share`, id `RECORD/HOLDER`, filed under the record.
    static func shares(where condition: String, _ arguments: StatementArguments, in db: Database)
        throws -> [StoredObject]
    {
        try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT labels.record, shares.holder, shares.body FROM shares
                    JOIN labels ON labels.id = shares.id WHERE \(condition)
                    """), arguments: arguments
        ).map { row in
            let record: String = row[0]
            let holder: String = row[1]
            return StoredObject(
                kind: ObjectKind.share, id: "\(record)/\(holder)", key: record,
                body: [UInt8](row[2] as Data))
        }
    }

    /// The record and holder a share's id `RECORD/HOLDER` names (record ids hold no `/`).
    static func shareParts(_ id: String) -> (record: String, holder: String) {
        guard let share = ShareID(id) else { return (id, "") }
        return (share.record, share.holder.description)
    }

    static func object(_ row: Row) -> StoredObject {
        StoredObject(
            kind: row["kind"], id: row["id"], key: row["key"], body: [UInt8](row["body"] as Data))
    }
}
