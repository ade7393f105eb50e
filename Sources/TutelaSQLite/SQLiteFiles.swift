import Foundation
import GRDB
import Tutela

/// How the store's two files are made and opened: page sizes, the writers' caches, durable
/// commits, and the refusal of a vault folder or file that others can write.
extension SQLiteVaultStore {
    /// The page size of new vault files (see `init`): 8 KiB, so 2–3 KB envelopes pack two or three
    /// to a page, and an open's commit writes a handful of small pages to the log (with 32 KiB
    /// pages, its bucket and nodes cost a fifth of the open: docs/PERFORMANCE.md).
    static let pageSize = 8192
    /// The page size of new key stores: 4 KiB, as a batch of shred keys (60-byte rows keyed by
    /// random record ids) dirties a page per key once the store is large (docs/PERFORMANCE.md).
    static let keyStorePageSize = 4096
    /// The writers' page caches in KiB (readers keep SQLite's 2,000): an import touches random index
    /// pages, which the default made it read back for every batch (docs/PERFORMANCE.md).
    static let (writerCacheKiB, keyWriterCacheKiB) = (32768, 8192)

    /// How both files are opened: WAL (GRDB's pool), a durable commit, deleted rows overwritten.
    static func configuration(busyTimeout: TimeInterval, pageSize: Int) -> Configuration {
        var config = Configuration()
        config.busyMode = .timeout(busyTimeout)
        config.label = "tutela"
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA page_size = \(pageSize)")
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        return config
    }

    /// Refuses a vault folder that people other than its owner can write: anyone who can write it
    /// can swap the database files for their own.
    /// The same for the database files in it (and their write-ahead logs), where they exist.
    static func requirePrivate(_ directory: URL) throws(TutelaError) {
        var info = stat()
        guard stat(directory.path, &info) == 0 else {
            throw TutelaError(
                .notFound, "cannot read \(directory.path): " + String(cString: strerror(errno)))
        }
        guard info.st_mode & (S_IWGRP | S_IWOTH) == 0 else {
            throw TutelaError(
                .permissionDenied,
                "the vault folder \(directory.path) can be written by people other than its owner",
                hint: "make it private first: chmod 700 '\(directory.path)'")
        }
        for base in [fileName, keyStoreFileName] {
            for name in [base, base + "-wal", base + "-shm"] {
                let path = directory.appendingPathComponent(name).path
                guard lstat(path, &info) == 0 else { continue }
                guard info.st_mode & S_IFMT == S_IFREG, info.st_mode & (S_IWGRP | S_IWOTH) == 0
                else {
                    throw TutelaError(
                        .permissionDenied,
                        "\(path) is not a private file: it is a link, or others can write it",
                        hint: "make it private: chmod 600 '\(path)' (and never a link)")
                }
            }
        }
    }
}
