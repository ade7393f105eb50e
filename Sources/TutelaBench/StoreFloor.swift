import Foundation
import GRDB
import Tutela
import TutelaSQLite

/// The benchmark's own measurements of the embedded store's files: kept here, not in the store, so
/// that nothing a product links exists only to be measured.
enum StoreFloor {
    /// The page size the embedded store gives new vault files.
    static let pageSize = 8192

    /// The floor of a durable write: the time of each of `samples` commits of one 300-byte row,
    /// each its own transaction, in a fresh database in `directory` set up as the vault is (WAL,
    /// `synchronous = FULL`, the vault's page size). Sorted.
    static func commitFloor(directory: URL, samples: Int) throws -> [Double] {
        var config = Configuration()
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA page_size = \(pageSize)")
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        let file = directory.appendingPathComponent("commit-floor.sqlite")
        defer {
            for suffix in ["", "-wal", "-shm"] {
                try? FileManager.default.removeItem(atPath: file.path + suffix)
            }
        }
        let pool = try DatabasePool(path: file.path, configuration: config)
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "CREATE TABLE t (seq INTEGER PRIMARY KEY, body BLOB NOT NULL)")
        }
        let body = Data(repeating: 0x61, count: 300)
        var times: [Double] = []
        for i in 0..<samples {
            let start = DispatchTime.now().uptimeNanoseconds
            try pool.write { db in
                try db.execute(
                    sql: "INSERT INTO t (seq, body) VALUES (?, ?)", arguments: [i, body])
            }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        try pool.close()
        return times.sorted()
    }

    /// One durable commit of one 300-byte object through the store protocol, as Tutela commits an
    /// audit entry: `samples` transactions on a scratch embedded store in `directory`, each timed
    /// from the call to its return (sorted). Against ``commitFloor(directory:samples:)`` this is
    /// the cost of the async transaction: the hand-off to the writer thread and back.
    static func storeCommit(directory: URL, samples: Int) async throws -> [Double] {
        let scratch = directory.appendingPathComponent("store-commit")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let store = try SQLiteVaultStore(directory: scratch, create: true)
        let body = [UInt8](repeating: 0x61, count: 300)
        var times: [Double] = []
        for i in 0..<samples {
            let start = DispatchTime.now().uptimeNanoseconds
            try await store.transaction { tx in
                try await tx.put(StoredObject(kind: "bench", id: "\(i)", key: "bench", body: body))
            }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return times.sorted()
    }

    /// Folds the write-ahead logs of the vault file and the key store into the files and truncates
    /// them, so that file sizes count every byte once.
    static func checkpoint(vault directory: URL) throws {
        for name in [SQLiteVaultStore.fileName, SQLiteVaultStore.keyStoreFileName] {
            let file = directory.appendingPathComponent(name).path
            try DatabasePool(path: file).writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            }
        }
    }

    /// Where the bytes go: rows and bytes (pages used by each table and index, from SQLite's
    /// `dbstat`) in the vault file and the key store, read-only. Run after ``checkpoint(vault:)``
    /// so the write-ahead logs are empty.
    static func storageStatistics(vault directory: URL) throws
        -> [(name: String, rows: Int?, bytes: Int)]
    {
        var result: [(name: String, rows: Int?, bytes: Int)] = []
        for name in [SQLiteVaultStore.fileName, SQLiteVaultStore.keyStoreFileName] {
            var config = Configuration()
            config.readonly = true
            let file = directory.appendingPathComponent(name).path
            result += try DatabaseQueue(path: file, configuration: config).read { db in
                var result: [(name: String, rows: Int?, bytes: Int)] = []
                let sizes = try Row.fetchAll(
                    db,
                    sql: "SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY name"
                )
                for row in sizes {
                    let name: String = row["name"]
                    let isTable =
                        try Bool.fetchOne(
                            db, sql: "SELECT type = 'table' FROM sqlite_master WHERE name = ?",
                            arguments: [name]) ?? false
                    let rows =
                        isTable && !name.hasPrefix("sqlite_")
                        ? try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \"\(name)\"") : nil
                    result.append((name, rows, row["bytes"]))
                }
                return result
            }
        }
        return result
    }
}
