public import Foundation
import GRDB
import GRDBSQLite
import Tutela
public import TutelaCrypto

/// The key store (shred keys, in `keystore.sqlite`) and the backups of both files: kept apart from
/// the records so that destroying a key reaches every older backup of the vault (SECURITY.md,
/// "Destruction and backups").
extension SQLiteVaultStore {
    /// Copies the key from SQLite's buffer straight into protected memory; nil if there is none.
    public func shredKey(_ record: String) async throws -> SecretBytes? {
        do {
            return try await keys.read { db in
                let statement = try db.cachedStatement(
                    sql: "SELECT key FROM shred_keys WHERE record = ?")
                let rows = try Row.fetchCursor(statement, arguments: [record])
                guard try rows.next() != nil else { return nil }
                let raw = statement.sqliteStatement
                // Blob first, then its size, as SQLite's documentation asks.
                let blob = sqlite3_column_blob(raw, 0)
                let size = Int(sqlite3_column_bytes(raw, 0))
                do {
                    return try SecretBytes(count: size) { target in
                        if let blob, size > 0 {
                            target.copyMemory(from: .init(start: blob, count: size))
                        }
                    }
                } catch {
                    throw TutelaError(.internal, "\(error)")
                }
            }
        } catch let error as DatabaseError { throw Self.map(error, doing: "read the key store") }
    }

    /// Inserts the batch in one key-store transaction, binding each key in place; a record that
    /// has a key already fails the whole batch with `.exists`.
    public func putShredKeys(_ entries: [(record: String, key: SecretBytes)]) async throws {
        do {
            try await keys.write { db in
                let statement = try db.cachedStatement(
                    sql: "INSERT INTO shred_keys (record, key) VALUES (?, ?)")
                let raw = statement.sqliteStatement
                for (record, key) in entries {
                    try statement.setArguments([record, nil])
                    // Bound in place (SQLITE_STATIC, a nil destructor): SQLite reads the key from
                    // protected memory while it steps and makes no copy of its own; the binding is
                    // cleared before the memory is left.
                    let code = key.withUnsafeBytes { bytes in
                        let bound = sqlite3_bind_blob(
                            raw, 2, bytes.baseAddress, Int32(bytes.count), nil)
                        defer { sqlite3_bind_null(raw, 2) }
                        guard bound == SQLITE_OK else { return bound }
                        return sqlite3_step(raw)
                    }
                    sqlite3_reset(raw)
                    guard code == SQLITE_DONE else {
                        throw DatabaseError(
                            resultCode: ResultCode(rawValue: code), message: db.lastErrorMessage,
                            sql: statement.sql)
                    }
                }
            }
        } catch let error as DatabaseError { throw Self.map(error, doing: "write the key store") }
    }

    /// Deletes the rows in one key-store transaction, then checkpoints the key store's log so
    /// that the keys leave its files; records without a key are ignored.
    public func deleteShredKeys(_ records: [String]) async throws {
        do {
            try await keys.write { db in
                for record in records {
                    try db.execute(
                        sql: "DELETE FROM shred_keys WHERE record = ?", arguments: [record])
                }
            }
            await Self.checkpoint(keys)
        } catch let error as DatabaseError { throw Self.map(error, doing: "shred keys") }
    }

    /// Reads the key store, then which records have an envelope, and returns the keys whose
    /// record (the id before any `#GENERATION`) has none, sorted.
    public func orphanShredKeys() async throws -> [String] {
        let inKeyStore = try await {
            do {
                return try await keys.read { db in
                    try String.fetchAll(db, sql: "SELECT record FROM shred_keys")
                }
            } catch let error as DatabaseError {
                throw Self.map(error, doing: "read the key store")
            }
        }()
        let withEnvelope = Set(
            try await read("read records") { db in
                try String.fetchAll(
                    db, sql: "SELECT labels.record FROM envelopes JOIN labels USING (id)")
            })
        return inKeyStore.filter {
            !withEnvelope.contains(ShredKeyID($0)?.record.text ?? $0)
        }.sorted()
    }

    /// Every key's id, from the key store, in order.
    public func shredKeyIDs() async throws -> [String] {
        do {
            return try await keys.read { db in
                try String.fetchAll(db, sql: "SELECT record FROM shred_keys ORDER BY record")
            }
        } catch let error as DatabaseError { throw Self.map(error, doing: "read the key store") }
    }

    /// The kinds of object with at least one row, in order.
    public func objectKinds() async throws -> [String] {
        try await read("read the vault") { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT kind FROM objects ORDER BY kind")
        }
    }

    /// A consistent online copy of the vault database (records, labels, logs) — not the key store.
    public func backup(to file: URL) throws {
        try copy(pool, to: file)
    }

    /// A consistent online copy of the key store, for its own short backup cycle.
    public func backupKeyStore(to file: URL) throws {
        try copy(keys, to: file)
    }

    /// Copies `source` into a new file at `file`: created exclusively (a file or symbolic link
    /// already there is refused, never followed or replaced), readable by its owner only, and
    /// synced. SQLite writes the copy first to a private file inside the vault directory; only
    /// then is it streamed into the destination through the descriptor that created it.
    private func copy(_ source: DatabasePool, to file: URL) throws {
        let staging = directory.appendingPathComponent(".backup-\(UUID().uuidString).sqlite")
        defer {
            for suffix in ["", "-journal"] { unlink(staging.path + suffix) }
        }
        let previous = umask(0o077)
        defer { umask(previous) }
        do {
            let destination = try DatabaseQueue(path: staging.path)
            try source.backup(to: destination)
            try destination.close()
        } catch let error as DatabaseError {
            throw Self.map(error, doing: "write the backup")
        }
        try ExclusiveFile.copy(staging.path, to: file.path)
    }
}
