import Logging
import NIOCore
import PostgresNIO
public import Tutela
public import TutelaCrypto

/// The key store: shred keys only, in their own database (or schema) with their own credentials.
///
/// A key passes through postgres-nio's buffers (ordinary memory, shared by NIO and not wiped) on its
/// way to and from the server, as any value does; it is copied into protected memory as it arrives,
/// and the copy handed back is the caller's to wipe. SECURITY.md says what that leaves.
extension PostgresVaultStore {
    public func shredKey(_ record: String) async throws -> SecretBytes? {
        try await keys.single("read the key store") { connection in
            let rows = try await connection.fetch(
                "SELECT key FROM \(unescaped: keys.schema).shred_keys WHERE record = \(record)",
                logger: logger)
            for key in try rows.decode(ByteBuffer.self) {
                do {
                    return try key.withUnsafeReadableBytes { bytes in
                        try SecretBytes(count: bytes.count) { target in
                            target.copyMemory(from: bytes)
                        }
                    }
                } catch { throw TutelaError(.internal, "\(error)") }
            }
            return nil
        }
    }

    /// All in one transaction: a batch with one key already stored stores none.
    public func putShredKeys(_ entries: [(record: String, key: SecretBytes)]) async throws {
        let batch = entries.map { entry in
            (entry.record, entry.key.withUnsafeBytes { ByteBuffer(bytes: $0) })
        }
        // One statement per 2,048 keys (a statement is a round trip); every key must be new —
        // one already there, or twice in the batch, refuses the whole write.
        var named = Set<String>()
        for (record, _) in batch where !named.insert(record).inserted {
            throw TutelaError(.exists, "a batch of shred keys names \(record) twice")
        }
        try await keys.write("write the key store") { connection in
            for start in stride(from: 0, to: batch.count, by: 2048) {
                let chunk = batch[start..<min(start + 2048, batch.count)]
                let stored = try await connection.fetch(
                    """
                    INSERT INTO \(unescaped: keys.schema).shred_keys (record, key)
                    SELECT u.record, u.key FROM unnest(\(chunk.map(\.0)), \(chunk.map(\.1)))
                        AS u(record, key)
                    ON CONFLICT (record) DO NOTHING RETURNING record
                    """
                ).decode(String.self)
                guard stored.count == chunk.count else {
                    // The first not stored: one there already, or the second of a pair.
                    var left = Set(stored)
                    let first = chunk.first { left.remove($0.0) == nil }?.0 ?? "a record"
                    throw TutelaError(.exists, "the key store holds a key for \(first) already")
                }
            }
        }
    }

    /// Deletes the keys, then rewrites the key table (`VACUUM FULL`), so the deleted keys leave the
    /// table's files rather than wait in free space. Best effort once the keys are deleted: a
    /// rewrite that cannot start within 2 s (another session reading the table) happens at the
    /// next destruction. The server's write-ahead log, its archive and its backups hold deleted
    /// keys until they are recycled or expire: the key store's backup cycle (docs/OPERATIONS.md).
    public func deleteShredKeys(_ records: [String]) async throws {
        guard !records.isEmpty else { return }
        try await keys.write("shred keys") { connection in
            try await connection.fetch(
                "DELETE FROM \(unescaped: keys.schema).shred_keys WHERE record = ANY(\(records))",
                logger: logger)
        }
        // At most 2 s waiting for readers (a pg_dump of the key store): reads of keys queue
        // behind a waiting rewrite, and the next destruction rewrites again.
        _ = try? await keys.single("compact the key store") { connection in
            try await connection.fetch("SET lock_timeout = '2s'")
            let rewritten = try? await connection.fetch(
                "VACUUM FULL \(unescaped: keys.schema).shred_keys", logger: logger)
            try await connection.fetch("RESET lock_timeout")
            return rewritten != nil
        }
    }

    public func shredKeyIDs() async throws -> [String] {
        try await keys.single("read the key store") { connection in
            try await connection.fetch(
                "SELECT record FROM \(unescaped: keys.schema).shred_keys ORDER BY record"
            ).decode(String.self)
        }
    }

    public func objectKinds() async throws -> [String] {
        try await vault.single("read the vault") { connection in
            try await connection.fetch(
                "SELECT DISTINCT kind FROM \(unescaped: s).objects ORDER BY kind"
            ).decode(String.self)
        }
    }

    /// Empties every table of the vault and of the key store: what `tutela migrate` does to a
    /// copy that failed (it found the store empty). The schemas, their grants and their migrations
    /// stay.
    public func discard() async throws {
        try await vault.write("remove the failed copy") { connection in
            try await connection.fetch(
                """
                TRUNCATE \(unescaped: s).slots, \(unescaped: s).shares, \(unescaped: s).envelopes,
                    \(unescaped: s).labels, \(unescaped: s).objects, \(unescaped: s).identities,
                    \(unescaped: s).audit, \(unescaped: s).directory, \(unescaped: s).vault
                """)
        }
        try await keys.write("remove the failed copy") { connection in
            try await connection.fetch("TRUNCATE \(unescaped: keys.schema).shred_keys")
        }
    }

    /// The server's version and address, for reports.
    public func serverDescription() async throws -> String {
        let version = try await vault.single("read the server's version") { connection in
            try await connection.fetch("SHOW server_version").decode(String.self)
        }
        return
            "PostgreSQL \(version.first ?? "?") at \(location.host ?? "a local socket"):\(location.port)"
    }

    /// Runs `VACUUM ANALYZE` on both schemas' tables: exact row counts for
    /// ``storageStatistics()``, and dead rows cleared (for the benchmark).
    public func analyze() async throws {
        for database in [vault, keys] {
            try await database.single("measure the store") { connection in
                let tables = try await connection.fetch(
                    """
                    SELECT c.relname::text FROM pg_class c
                    JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = \(database.name) AND c.relkind = 'r'
                    """
                ).decode(String.self)
                for table in tables where PostgresLocation.isIdentifier(table) {
                    try await connection.fetch(
                        "VACUUM ANALYZE \(unescaped: database.schema).\(unescaped: table)")
                }
            }
        }
    }

    /// The rows and bytes (tables, indexes, TOAST) of each of the store's tables, the key
    /// store's included: what the vault costs its database server.
    public func storageStatistics() async throws -> [(name: String, rows: Int?, bytes: Int)] {
        var result: [(name: String, rows: Int?, bytes: Int)] = []
        for (database, prefix) in [(vault, ""), (keys, "keys.")] {
            let rows = try await database.single("measure the store") { connection in
                try await connection.fetch(
                    """
                    SELECT c.relname::text, c.reltuples::bigint, pg_total_relation_size(c.oid)
                    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = \(database.name) AND c.relkind = 'r' ORDER BY c.relname
                    """
                ).decode((String, Int64, Int64).self)
            }
            for (name, count, bytes) in rows where name != "migrations" {
                result.append((prefix + name, count < 0 ? nil : Int(count), Int(bytes)))
            }
        }
        return result
    }

    public func orphanShredKeys() async throws -> [String] {
        let inKeyStore = try await keys.single("read the key store") { connection in
            var records: [String] = []
            for record in try await connection.fetch(
                "SELECT record FROM \(unescaped: keys.schema).shred_keys", logger: logger
            ).decode(String.self) {
                records.append(record)
            }
            return records
        }
        let withEnvelope = try await vault.single("read records") { connection in
            var records: Set<String> = []
            for record in try await connection.fetch(
                """
                SELECT l.record FROM \(unescaped: s).envelopes e
                JOIN \(unescaped: s).labels l ON l.id = e.id
                """, logger: logger
            ).decode(String.self) {
                records.insert(record)
            }
            return records
        }
        return inKeyStore.filter {
            !withEnvelope.contains(ShredKeyID($0)?.record.text ?? $0)
        }.sorted()
    }
}
