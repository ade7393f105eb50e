public import Foundation
import GRDB
import GRDBSQLite
public import Tutela
public import TutelaCrypto

/// The embedded store: one SQLite database (WAL mode) per vault, through one GRDB `DatabasePool`.
///
/// It holds labels apart from sealed envelopes and key slots, the two signed chains (directory and
/// audit), and sealed identities. No plaintext reaches it. Commits are fully synchronous
/// (`synchronous = FULL`), so an audit entry is on disk before the caller goes on to release anything;
/// `secure_delete` is on, so deleted rows are overwritten rather than left in free pages.
public final class SQLiteVaultStore: VaultStore {
    /// The database's file name inside the vault directory.
    public static let fileName = "vault.sqlite"

    /// The key store's file name: shred keys only, kept apart so it can be backed up on its own,
    /// short cycle (see SECURITY.md, "Destruction and backups").
    public static let keyStoreFileName = "keystore.sqlite"
    /// The page size of new vault files (see `init`): 32 KiB, so 2–3 KB envelopes pack closely.
    static let pageSize = 32768

    private let pool: DatabasePool
    private let keys: DatabasePool
    public let directory: URL

    /// Opens the vault in `directory`.
    /// - Parameters:
    ///   - create: create the directory and database (refusing a directory that holds a vault).
    ///   - busyTimeout: how long to wait for another process's write before giving up with 75.
    /// - Throws: `.notFound` when there is no vault, `.exists` when creating over one, `.tryAgain`
    ///   when the database cannot be opened.
    public init(directory: URL, create: Bool = false, busyTimeout: TimeInterval = 5) throws {
        self.directory = directory
        let fm = FileManager.default
        let file = directory.appendingPathComponent(Self.fileName)
        if create {
            if fm.fileExists(atPath: file.path) {
                throw TutelaError(
                    .exists, "a vault exists already at \(directory.path)",
                    hint: "choose another --vault directory; Tutela never overwrites a vault")
            }
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: directory.path, isDirectory: &isDirectory) {
                let contents = (try? fm.contentsOfDirectory(atPath: directory.path)) ?? []
                guard isDirectory.boolValue, contents.isEmpty else {
                    throw TutelaError(
                        .exists, "\(directory.path) exists and is not an empty directory",
                        hint: "choose a new --vault directory")
                }
            } else {
                do {
                    try fm.createDirectory(
                        at: directory, withIntermediateDirectories: true,
                        attributes: [.posixPermissions: 0o700])
                } catch {
                    throw TutelaError(
                        .exists, "cannot create \(directory.path): \(error.localizedDescription)")
                }
            }
        } else if !fm.fileExists(atPath: file.path) {
            throw TutelaError(
                .notFound, "there is no vault at \(directory.path)",
                hint: "pass --vault DIR or set TUTELA_VAULT; create one with 'tutela init'")
        }
        var config = Configuration()
        config.busyMode = .timeout(busyTimeout)
        config.label = "tutela"
        config.prepareDatabase { db in
            // Only takes effect when the file is created: envelopes (2–3 KB) pack into 32 KiB pages
            // with little slack, where 4 KiB pages would hold one each and waste a third.
            try db.execute(sql: "PRAGMA page_size = \(Self.pageSize)")
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        do {
            let previous = umask(0o077)
            defer { umask(previous) }
            pool = try DatabasePool(path: file.path, configuration: config)
            // GRDB sets `synchronous = NORMAL` on the writer when it enables WAL, after
            // prepareDatabase ran; an audit entry must be on disk at commit, so put FULL back.
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
            // Migrating takes the write lock; a vault already up to date is only read, so reading
            // commands keep working while another process writes.
            let migrator = Self.migrator
            if try !pool.read({ try migrator.hasCompletedMigrations($0) }) {
                try migrator.migrate(pool)
            }
            keys = try DatabasePool(
                path: directory.appendingPathComponent(Self.keyStoreFileName).path,
                configuration: config)
            try keys.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
            let keyMigrator = Self.keyStoreMigrator
            if try !keys.read({ try keyMigrator.hasCompletedMigrations($0) }) {
                try keyMigrator.migrate(keys)
            }
        } catch let error as DatabaseError {
            throw Self.map(error, doing: "open the vault")
        }
    }

    static var keyStoreMigrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql:
                    "CREATE TABLE shred_keys (record TEXT PRIMARY KEY, key BLOB NOT NULL) WITHOUT ROWID"
            )
        }
        return migrator
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE vault (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        vault_id TEXT NOT NULL,
                        authority_id TEXT NOT NULL,
                        authority_key BLOB NOT NULL,
                        kdf TEXT NOT NULL,
                        created_at INTEGER NOT NULL);
                    CREATE TABLE directory (
                        seq INTEGER PRIMARY KEY, prev_hash BLOB NOT NULL, signer TEXT NOT NULL,
                        body BLOB NOT NULL, signature BLOB NOT NULL, hash BLOB NOT NULL);
                    CREATE TABLE audit (
                        seq INTEGER PRIMARY KEY, prev_hash BLOB NOT NULL, signer TEXT NOT NULL,
                        body BLOB NOT NULL, signature BLOB NOT NULL, hash BLOB NOT NULL);
                    CREATE TABLE identities (
                        principal TEXT PRIMARY KEY, signing_key BLOB NOT NULL,
                        agreement_key BLOB NOT NULL, salt BLOB NOT NULL, ops INTEGER NOT NULL,
                        mem INTEGER NOT NULL, nonce BLOB NOT NULL, ciphertext BLOB NOT NULL);
                    CREATE TABLE labels (
                        record TEXT PRIMARY KEY, learner TEXT NOT NULL, label BLOB NOT NULL);
                    CREATE INDEX labels_by_learner ON labels(learner, record);
                    CREATE TABLE envelopes (
                        record TEXT PRIMARY KEY REFERENCES labels(record), envelope BLOB NOT NULL);
                    CREATE TABLE slots (
                        record TEXT NOT NULL REFERENCES labels(record), recipient TEXT NOT NULL,
                        box BLOB NOT NULL, PRIMARY KEY (record, recipient)) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v2-objects") { db in
            try db.execute(
                sql: """
                    CREATE TABLE objects (
                        kind TEXT NOT NULL, id TEXT NOT NULL, key TEXT NOT NULL, body BLOB NOT NULL,
                        PRIMARY KEY (kind, id)) WITHOUT ROWID;
                    CREATE INDEX objects_by_key ON objects(kind, key, id);
                    """)
        }
        migrator.registerMigration("v3-slots-by-recipient") { db in
            try db.execute(sql: "CREATE INDEX slots_by_recipient ON slots(recipient, record)")
        }
        migrator.registerMigration("v4-records-by-row", migrate: Self.migrateToRecordsByRow)
        return migrator
    }

    /// v4: everything about a record is keyed by its label's row number, not its random id.
    ///
    /// Random keys put each record on a random page of every table and index that holds them (seven
    /// B-trees), so sealing at a million records dirtied a fresh page in each for every record. Now
    /// one index maps a record id to its row (`labels.record`); envelopes, slots and break-glass
    /// shares follow the row number, and new records append. Envelopes lose the copy of the label
    /// they carried (the labels table holds it once; see ``strip(_:label:)``), and shares move out
    /// of the general objects table into their own, keyed by row and holder.
    ///
    /// An envelope that does not carry its own row's label is tampering: the migration stops with
    /// 65 and changes nothing, rather than keep one of the two and so repair it.
    static func migrateToRecordsByRow(_ db: Database) throws {
        try db.execute(
            sql: """
                DROP INDEX labels_by_learner;
                DROP INDEX slots_by_recipient;
                ALTER TABLE slots RENAME TO v3_slots;
                ALTER TABLE envelopes RENAME TO v3_envelopes;
                ALTER TABLE labels RENAME TO v3_labels;
                CREATE TABLE labels (
                    id INTEGER PRIMARY KEY, record TEXT NOT NULL UNIQUE, learner TEXT NOT NULL,
                    label BLOB NOT NULL);
                CREATE INDEX labels_by_learner ON labels(learner);
                CREATE TABLE envelopes (
                    id INTEGER PRIMARY KEY REFERENCES labels(id), body BLOB NOT NULL);
                CREATE TABLE slots (
                    id INTEGER NOT NULL REFERENCES labels(id), recipient TEXT NOT NULL,
                    box BLOB NOT NULL, PRIMARY KEY (id, recipient)) WITHOUT ROWID;
                CREATE INDEX slots_by_recipient ON slots(recipient, id);
                CREATE TABLE shares (
                    id INTEGER NOT NULL REFERENCES labels(id), holder TEXT NOT NULL,
                    body BLOB NOT NULL, PRIMARY KEY (id, holder)) WITHOUT ROWID;
                CREATE INDEX shares_by_holder ON shares(holder, id);
                INSERT INTO labels (id, record, learner, label)
                    SELECT rowid, record, learner, label FROM v3_labels ORDER BY rowid;
                INSERT INTO slots (id, recipient, box)
                    SELECT l.id, s.recipient, s.box FROM v3_slots s
                    JOIN labels l ON l.record = s.record ORDER BY l.id, s.recipient;
                """)
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT l.id, l.record, l.label, e.envelope FROM v3_envelopes e
                JOIN labels l ON l.record = e.record ORDER BY l.id
                """)
        let insert = try db.makeStatement(sql: "INSERT INTO envelopes (id, body) VALUES (?, ?)")
        while let row = try rows.next() {
            let record: String = row[1]
            guard let body = Self.strip([UInt8](row[3] as Data), label: [UInt8](row[2] as Data))
            else {
                throw TutelaError(
                    .tampered,
                    "the vault database is damaged: the envelope of \(record) does not carry its label; nothing was changed",
                    hint: "keep the damaged copy as evidence and restore a backup")
            }
            try insert.execute(arguments: [row[0] as Int64, body])
        }
        // A share is filed under its record and named RECORD/HOLDER; one named otherwise stays
        // where it is, unread, as evidence.
        try db.execute(
            sql: """
                INSERT INTO shares (id, holder, body)
                    SELECT l.id, substr(o.id, length(o.key) + 2), o.body FROM objects o
                    JOIN labels l ON l.record = o.key
                    WHERE o.kind = ? AND substr(o.id, 1, length(o.key) + 1) = o.key || '/'
                    ORDER BY l.id
                """, arguments: [ObjectKind.share])
        try db.execute(
            sql: """
                DELETE FROM objects
                    WHERE kind = ? AND substr(id, 1, length(key) + 1) = key || '/'
                    AND key IN (SELECT record FROM labels)
                """, arguments: [ObjectKind.share])
        try db.execute(
            sql: """
                DROP TABLE v3_slots;
                DROP TABLE v3_envelopes;
                DROP TABLE v3_labels;
                """)
    }

    /// The stored form of an envelope: its canonical bytes with the label field (a four-byte
    /// length and the label, after the version byte) cut out, since the labels table holds the
    /// label. Nil when the envelope does not carry exactly `label` there.
    static func strip(_ envelope: [UInt8], label: [UInt8]) -> Data? {
        let end = 5 + label.count
        guard envelope.count > end,
            envelope[1..<5].elementsEqual(Self.length(label.count)),
            envelope[5..<end].elementsEqual(label)
        else { return nil }
        var body = Data(capacity: envelope.count - end + 1)
        body.append(envelope[0])
        body.append(contentsOf: envelope[end...])
        return body
    }

    /// The canonical envelope from its stored form and its row's label: the inverse of
    /// ``strip(_:label:)``. A changed label or body no longer matches the author's signature, so
    /// tampering with either is still found when the envelope is verified.
    static func join(_ body: [UInt8], label: [UInt8]) -> [UInt8] {
        guard let version = body.first else { return [] }
        var envelope: [UInt8] = []
        envelope.reserveCapacity(body.count + 4 + label.count)
        envelope.append(version)
        envelope.append(contentsOf: Self.length(label.count))
        envelope.append(contentsOf: label)
        envelope.append(contentsOf: body.dropFirst())
        return envelope
    }

    /// A canonical u32 length: big-endian.
    private static func length(_ count: Int) -> [UInt8] {
        let n = UInt32(truncatingIfNeeded: count)
        return [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)]
    }

    /// Turns a database failure into something a person can act on.
    static func map(_ error: DatabaseError, doing what: String) -> TutelaError {
        switch error.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return TutelaError(
                .tryAgain,
                "the vault is busy (another Tutela command is writing); could not \(what)",
                hint: "try again in a moment")
        case .SQLITE_READONLY, .SQLITE_FULL, .SQLITE_IOERR, .SQLITE_CANTOPEN, .SQLITE_PERM:
            return TutelaError(
                .tryAgain, "the vault cannot be written (\(error.resultCode)); could not \(what)",
                hint: "check free disk space and the permissions of the vault directory")
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            return TutelaError(
                .tampered, "the vault database is damaged (\(error.resultCode)); could not \(what)",
                hint: "keep the damaged copy as evidence and restore a backup")
        case .SQLITE_CONSTRAINT
        where error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY
            || error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE:
            return TutelaError(.exists, "that is stored already; could not \(what)")
        case .SQLITE_CONSTRAINT:
            return TutelaError(
                .invalidInput, "the vault refused an inconsistent change; could not \(what)")
        default:
            return TutelaError(.internal, "database error \(error.resultCode); could not \(what)")
        }
    }

    private func read<T: Sendable>(
        _ what: String, _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        do { return try await pool.read(body) } catch let error as DatabaseError {
            throw Self.map(error, doing: what)
        }
    }

    /// The writer connection's `synchronous` setting (2 = FULL), for tests of durability.
    func writerSynchronous() throws -> Int {
        try pool.writeWithoutTransaction { db in
            try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1
        }
    }

    public func meta() async throws -> VaultMeta {
        let meta = try await read("read the vault") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM vault").map { row in
                VaultMeta(
                    vaultID: row["vault_id"], authorityID: row["authority_id"],
                    authoritySigningKey: [UInt8](row["authority_key"] as Data),
                    kdfProfile: row["kdf"],
                    createdAt: row["created_at"])
            }
        }
        guard let meta else {
            throw TutelaError(.notFound, "the vault at \(directory.path) was never initialised")
        }
        return meta
    }

    public func links(_ chain: ChainName, from: Int64, limit: Int) async throws -> [ChainLink] {
        try await read("read the \(chain.rawValue) log") { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM \(chain.rawValue) WHERE seq >= ? ORDER BY seq LIMIT ?",
                arguments: [from, Int64(clamping: limit)]
            ).map(Self.link)
        }
    }

    static func link(_ row: Row) -> ChainLink {
        ChainLink(
            sequence: row["seq"], previousHash: [UInt8](row["prev_hash"] as Data),
            signer: row["signer"],
            body: [UInt8](row["body"] as Data), signature: [UInt8](row["signature"] as Data),
            hash: [UInt8](row["hash"] as Data))
    }

    public func sealedIdentity(_ principal: String) async throws -> SealedIdentity? {
        try await read("read keys") { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM identities WHERE principal = ?", arguments: [principal]
            )
            .map { row in
                SealedIdentity(
                    principal: row["principal"], signingKey: [UInt8](row["signing_key"] as Data),
                    agreementKey: [UInt8](row["agreement_key"] as Data),
                    salt: [UInt8](row["salt"] as Data),
                    opsLimit: UInt64(clamping: row["ops"] as Int64),
                    memLimit: UInt64(clamping: row["mem"] as Int64),
                    nonce: [UInt8](row["nonce"] as Data),
                    ciphertext: [UInt8](row["ciphertext"] as Data))
            }
        }
    }

    public func record(_ id: String) async throws -> StoredRecord? {
        try await read("read a record") { db in try Self.record(id, in: db) }
    }

    static func record(_ id: String, in db: Database) throws -> StoredRecord? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT labels.id, labels.label, envelopes.body FROM labels
                        JOIN envelopes ON envelopes.id = labels.id WHERE labels.record = ?
                        """), arguments: [id])
        else { return nil }
        let slots = try Row.fetchAll(
            db.cachedStatement(
                sql: "SELECT recipient, box FROM slots WHERE id = ? ORDER BY recipient"),
            arguments: [row[0] as Int64]
        ).map { Slot(record: id, recipient: $0["recipient"], box: [UInt8]($0["box"] as Data)) }
        let label = [UInt8](row[1] as Data)
        return StoredRecord(
            record: id, labelBytes: label,
            envelopeBytes: Self.join([UInt8](row[2] as Data), label: label), slots: slots)
    }

    public func labels(learner: String?) async throws -> [StoredLabel] {
        try await read("read labels") { db in
            let rows: [Row]
            if let learner {
                rows = try Row.fetchAll(
                    db, sql: "SELECT * FROM labels WHERE learner = ? ORDER BY record",
                    arguments: [learner])
            } else {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM labels ORDER BY record")
            }
            return rows.map {
                StoredLabel(
                    record: $0["record"], learner: $0["learner"],
                    labelBytes: [UInt8]($0["label"] as Data))
            }
        }
    }

    public func labelPage(from cursor: Int64, limit: Int) async throws -> (
        labels: [StoredLabel], next: Int64?
    ) {
        try await read("read labels") { db in
            // Row-id order walks the table's pages in sequence; record-id order would visit a
            // random page for every label. A cursor reuses one row object for every step, and the
            // label is copied straight from SQLite's buffer (through `Data` it cost a fifth of a
            // retention check).
            let statement = try db.cachedStatement(
                sql: """
                    SELECT rowid, record, learner, label FROM labels WHERE rowid >= ?
                    ORDER BY rowid LIMIT ?
                    """)
            let rows = try Row.fetchCursor(
                statement, arguments: [cursor, Int64(clamping: limit)])
            var result: [StoredLabel] = []
            result.reserveCapacity(min(limit, 4096))
            var last: Int64 = cursor
            while let row = try rows.next() {
                last = row[0]
                let raw = statement.sqliteStatement
                // Blob first, then its size, as SQLite's documentation asks.
                let blob = sqlite3_column_blob(raw, 3)
                let size = Int(sqlite3_column_bytes(raw, 3))
                let bytes =
                    blob.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
                result.append(StoredLabel(record: row[1], learner: row[2], labelBytes: bytes))
            }
            return (result, result.count < limit ? nil : last + 1)
        }
    }

    public func objects(kind: String, after: String?, idSuffix: String, limit: Int) async throws
        -> [StoredObject]
    {
        try await read("read \(kind) records") { db in
            if kind == ObjectKind.share, idSuffix.hasPrefix("/") {
                // Shares sealed to one holder, in row order from the row after `after`'s record.
                return try Self.shares(
                    where: """
                        shares.holder = ?1 AND shares.id > coalesce(
                            (SELECT id FROM labels WHERE record = ?2), 0)
                        ORDER BY shares.id LIMIT ?3
                        """,
                    [
                        String(idSuffix.dropFirst()),
                        after.map { Self.shareParts($0).record } ?? "",
                        Int64(clamping: limit),
                    ], in: db)
            }
            // The primary key (kind, id) orders the scan; the suffix is filtered on the way.
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM objects WHERE kind = ? AND id > ? AND substr(id, -?) = ?
                    ORDER BY id LIMIT ?
                    """,
                arguments: [
                    kind, after ?? "", idSuffix.utf8.count, idSuffix, Int64(clamping: limit),
                ]
            ).map(Self.object)
        }
    }

    public func slots(recipient: String, limit: Int) async throws -> [Slot] {
        try await read("read key slots") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT labels.record, slots.box FROM slots JOIN labels ON labels.id = slots.id
                    WHERE slots.recipient = ? ORDER BY slots.id LIMIT ?
                    """,
                arguments: [recipient, Int64(clamping: limit)]
            ).map {
                Slot(record: $0["record"], recipient: recipient, box: [UInt8]($0["box"] as Data))
            }
        }
    }

    public func boxCount(recipient: String) async throws -> (slots: Int, shares: Int) {
        try await read("count key slots") { db in
            // Each from its recipient index, without reading a box.
            (
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM slots WHERE recipient = ?",
                    arguments: [recipient]) ?? 0,
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM shares WHERE holder = ?", arguments: [recipient])
                    ?? 0
            )
        }
    }

    public func objects(kind: String, key: String?) async throws -> [StoredObject] {
        try await read("read \(kind) records") { db in
            try Self.objects(kind: kind, key: key, in: db)
        }
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
        guard let slash = id.firstIndex(of: "/") else { return (id, "") }
        return (String(id[..<slash]), String(id[id.index(after: slash)...]))
    }

    static func object(_ row: Row) -> StoredObject {
        StoredObject(
            kind: row["kind"], id: row["id"], key: row["key"], body: [UInt8](row["body"] as Data))
    }

    // Shred keys go between SQLite's own buffers and protected memory directly: going through
    // `Data` or `[UInt8]` would leave copies on the heap that nobody wipes.

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

    public func deleteShredKeys(_ records: [String]) async throws {
        do {
            try await keys.write { db in
                for record in records {
                    try db.execute(
                        sql: "DELETE FROM shred_keys WHERE record = ?", arguments: [record])
                }
            }
        } catch let error as DatabaseError { throw Self.map(error, doing: "shred keys") }
    }

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
            !withEnvelope.contains(String($0.split(separator: "#").first ?? ""))
        }.sorted()
    }

    public func compact() async throws {
        do {
            for pool in [pool, keys] {
                try await pool.writeWithoutTransaction { db in
                    try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
                }
            }
        } catch let error as DatabaseError { throw Self.map(error, doing: "checkpoint the vault") }
    }

    /// A consistent online copy of the vault database (records, labels, logs) — not the key store.
    public func backup(to file: URL) throws {
        try copy(pool, to: file)
    }

    /// A consistent online copy of the key store, for its own short backup cycle.
    public func backupKeyStore(to file: URL) throws {
        try copy(keys, to: file)
    }

    private func copy(_ source: DatabasePool, to file: URL) throws {
        guard !FileManager.default.fileExists(atPath: file.path) else {
            throw TutelaError(
                .exists, "\(file.path) exists already", hint: "choose a new file name")
        }
        do {
            let previous = umask(0o077)
            defer { umask(previous) }
            let destination = try DatabaseQueue(path: file.path)
            try source.backup(to: destination)
        } catch let error as DatabaseError {
            throw Self.map(error, doing: "write the backup")
        }
    }

    public func transaction<T: Sendable>(
        _ body: @escaping @Sendable (any VaultTransaction) async throws -> T
    ) async throws -> T {
        do {
            return try await Self.write(pool) { db in try await body(Transaction(db: db)) }
        } catch let error as DatabaseError {
            throw Self.map(error, doing: "write to the vault")
        }
    }

    /// One write transaction. Statements are prepared once per connection (GRDB's statement cache)
    /// and each chain's head is carried from one append to the next, so a batch of thousands of
    /// audit entries reads the head once.
    final class Transaction: VaultTransaction {
        let db: Database
        private var heads: [ChainName: ChainLink] = [:]

        init(db: Database) { self.db = db }

        /// Runs a cached statement.
        private func run(_ sql: String, _ arguments: StatementArguments) throws {
            try db.cachedStatement(sql: sql).execute(arguments: arguments)
        }

        func create(_ meta: VaultMeta) throws {
            guard try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM vault") == 0 else {
                throw TutelaError(.exists, "a vault exists here already")
            }
            try db.execute(
                sql: """
                    INSERT INTO vault (id, vault_id, authority_id, authority_key, kdf, created_at)
                    VALUES (1, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    meta.vaultID, meta.authorityID, Data(meta.authoritySigningKey), meta.kdfProfile,
                    meta.createdAt,
                ])
        }

        func lastLink(_ chain: ChainName) throws -> ChainLink? {
            if let head = heads[chain] { return head }
            let head = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM \(chain.rawValue) ORDER BY seq DESC LIMIT 1")
            ).map(SQLiteVaultStore.link)
            heads[chain] = head
            return head
        }

        func append(_ link: ChainLink, to chain: ChainName) throws {
            // A chain takes only its next link: a gap or a second link at one number would fork it.
            guard link.sequence == (try lastLink(chain)?.sequence ?? -1) + 1 else {
                throw TutelaError(
                    .tryAgain, "the \(chain.rawValue) log moved on while this command ran",
                    hint: "run the command again")
            }
            // The head is forgotten first: if the insert fails, the next read goes to the table.
            heads[chain] = nil
            try run(
                """
                INSERT INTO \(chain.rawValue) (seq, prev_hash, signer, body, signature, hash)
                VALUES (?, ?, ?, ?, ?, ?)
                """,
                [
                    link.sequence, Data(link.previousHash), link.signer, Data(link.body),
                    Data(link.signature), Data(link.hash),
                ])
            heads[chain] = link
        }

        func insert(_ identity: SealedIdentity) throws {
            try db.execute(
                sql: """
                    INSERT INTO identities
                    (principal, signing_key, agreement_key, salt, ops, mem, nonce, ciphertext)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    identity.principal, Data(identity.signingKey), Data(identity.agreementKey),
                    Data(identity.salt), Int64(identity.opsLimit), Int64(identity.memLimit),
                    Data(identity.nonce), Data(identity.ciphertext),
                ])
        }

        /// The last record inserted or looked up, and its row: a batch's shares and slots follow
        /// their record.
        private var lastRow: (record: String, id: Int64)?

        /// The row of `record`'s label, or nil when there is no such record.
        private func row(_ record: String) throws -> Int64? {
            if let lastRow, lastRow.record == record { return lastRow.id }
            let id = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT id FROM labels WHERE record = ?"),
                arguments: [record])
            if let id { lastRow = (record, id) }
            return id
        }

        /// The row of `record`'s label, which must exist.
        private func existingRow(_ record: String) throws -> Int64 {
            guard let id = try row(record) else {
                throw TutelaError(
                    .invalidInput, "the vault refused an inconsistent change: no record \(record)")
            }
            return id
        }

        func insert(_ record: StoredRecord, learner: String) throws {
            guard let body = SQLiteVaultStore.strip(record.envelopeBytes, label: record.labelBytes)
            else {
                throw TutelaError(
                    .internal, "the envelope of \(record.record) does not carry its label")
            }
            try run(
                "INSERT INTO labels (record, learner, label) VALUES (?, ?, ?)",
                [record.record, learner, Data(record.labelBytes)])
            let id = db.lastInsertedRowID
            lastRow = (record.record, id)
            try run("INSERT INTO envelopes (id, body) VALUES (?, ?)", [id, body])
            for slot in record.slots { try insert(slot) }
        }

        func insert(_ slot: Slot) throws {
            try run(
                "INSERT INTO slots (id, recipient, box) VALUES (?, ?, ?)",
                [try existingRow(slot.record), slot.recipient, Data(slot.box)])
        }

        func put(_ object: StoredObject) throws {
            if object.kind == ObjectKind.share {
                let (record, holder) = SQLiteVaultStore.shareParts(object.id)
                guard record == object.key, !holder.isEmpty else {
                    throw TutelaError(
                        .internal, "a share named \(object.id) filed under \(object.key)")
                }
                try run(
                    "INSERT OR REPLACE INTO shares (id, holder, body) VALUES (?, ?, ?)",
                    [try existingRow(record), holder, Data(object.body)])
                return
            }
            try run(
                "INSERT OR REPLACE INTO objects (kind, id, key, body) VALUES (?, ?, ?, ?)",
                [object.kind, object.id, object.key, Data(object.body)])
        }

        func object(kind: String, id: String) throws -> StoredObject? {
            if kind == ObjectKind.share {
                let (record, holder) = SQLiteVaultStore.shareParts(id)
                return try SQLiteVaultStore.shares(
                    where: "labels.record = ? AND shares.holder = ?", [record, holder], in: db
                ).first
            }
            return try Row.fetchOne(
                db, sql: "SELECT * FROM objects WHERE kind = ? AND id = ?", arguments: [kind, id]
            )
            .map(SQLiteVaultStore.object)
        }

        func record(_ id: String) throws -> StoredRecord? {
            try SQLiteVaultStore.record(id, in: db)
        }

        func objects(kind: String, key: String) throws -> [StoredObject] {
            try SQLiteVaultStore.objects(kind: kind, key: key, in: db)
        }

        func replaceEnvelope(record: String, envelope: [UInt8]) throws {
            guard let id = try row(record),
                let label = try Data.fetchOne(
                    db, sql: "SELECT label FROM labels WHERE id = ?", arguments: [id])
            else {
                throw TutelaError(.notFound, "there is no record \(record)")
            }
            guard let body = SQLiteVaultStore.strip(envelope, label: [UInt8](label)) else {
                throw TutelaError(
                    .internal, "the new envelope of \(record) does not carry its label")
            }
            try db.execute(
                sql: "UPDATE envelopes SET body = ? WHERE id = ?", arguments: [body, id])
            guard db.changesCount == 1 else {
                throw TutelaError(.notFound, "there is no record \(record)")
            }
        }

        func replace(_ identity: SealedIdentity) throws {
            try db.execute(
                sql: "DELETE FROM identities WHERE principal = ?", arguments: [identity.principal])
            try insert(identity)
        }

        func deleteObject(kind: String, id: String) throws {
            if kind == ObjectKind.share {
                let (record, holder) = SQLiteVaultStore.shareParts(id)
                guard let row = try row(record) else { return }
                try run("DELETE FROM shares WHERE id = ? AND holder = ?", [row, holder])
                return
            }
            try run(
                "DELETE FROM objects WHERE kind = ? AND id = ?", [kind, id])
        }

        func shred(_ record: String) throws {
            guard let id = try row(record) else { return }
            try db.execute(sql: "DELETE FROM slots WHERE id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM envelopes WHERE id = ?", arguments: [id])
        }

        func deleteSlot(record: String, recipient: String) throws {
            guard let id = try row(record) else { return }
            try run("DELETE FROM slots WHERE id = ? AND recipient = ?", [id, recipient])
        }
    }
}
