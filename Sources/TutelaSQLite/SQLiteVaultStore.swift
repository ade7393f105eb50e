// Over 400 lines: one type implementing the whole store protocol for SQLite (reads, the key
// store, transactions), each part short.
public import Foundation
import GRDB
import GRDBSQLite
public import Tutela
import TutelaCrypto

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

    /// The vault database: labels, envelopes, slots, shares, facts, the two chains, identities.
    let pool: DatabasePool
    /// The key store: shred keys only, in a file of its own.
    let keys: DatabasePool
    /// The vault directory, holding the vault database and the key store.
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
                // An empty folder someone made for the vault: only its owner may use it.
                guard chmod(directory.path, 0o700) == 0 else {
                    throw TutelaError(
                        .permissionDenied,
                        "cannot make \(directory.path) private to its owner: "
                            + String(cString: strerror(errno)),
                        hint: "create the vault in a folder you own")
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
        try Self.requirePrivate(directory)
        // Page sizes take effect when a file is created: envelopes (2–3 KB) pack into 8 KiB
        // pages, where 4 KiB pages would hold one each and waste a third.
        let config = Self.configuration(busyTimeout: busyTimeout, pageSize: Self.pageSize)
        let keyConfig = Self.configuration(
            busyTimeout: busyTimeout, pageSize: Self.keyStorePageSize)
        do {
            let previous = umask(0o077)
            defer { umask(previous) }
            pool = try DatabasePool(path: file.path, configuration: config)
            // GRDB sets `synchronous = NORMAL` on the writer when it enables WAL, after
            // prepareDatabase ran; an audit entry must be on disk at commit, so put FULL back.
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                try db.execute(sql: "PRAGMA cache_size = -\(Self.writerCacheKiB)")
            }
            // Migrating takes the write lock; a vault already up to date is only read, so reading
            // commands keep working while another process writes.
            let migrator = Self.migrator
            if try !pool.read({ try migrator.hasCompletedMigrations($0) }) {
                try migrator.migrate(pool)
            }
            keys = try DatabasePool(
                path: directory.appendingPathComponent(Self.keyStoreFileName).path,
                configuration: keyConfig)
            try keys.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                try db.execute(sql: "PRAGMA cache_size = -\(Self.keyWriterCacheKiB)")
            }
            let keyMigrator = Self.keyStoreMigrator
            if try !keys.read({ try keyMigrator.hasCompletedMigrations($0) }) {
                try keyMigrator.migrate(keys)
            }
        } catch let error as DatabaseError {
            throw Self.map(error, doing: "open the vault")
        }
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

    func read<T: Sendable>(
        _ what: String, _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        do { return try await pool.read(body) } catch let error as DatabaseError {
            throw Self.map(error, doing: what)
        }
    }

    /// A setting of the writer connection (`synchronous`: 2 = FULL; `cache_size`), for tests.
    func writerSetting(_ pragma: String, keyStore: Bool = false) throws -> Int {
        try (keyStore ? keys : pool).writeWithoutTransaction { db in
            try Int.fetchOne(db, sql: "PRAGMA \(pragma)") ?? 0
        }
    }

    /// Reads the vault table's one row; `.notFound` if the vault was never initialised.
    public func meta() async throws -> VaultMeta {
        let meta = try await read("read the vault") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM vault").map { row in
                let cells = Cells(row, "the vault")
                return VaultMeta(
                    vaultID: try cells.text("vault_id"),
                    authorityID: try Self.storedID(cells.text("authority_id")),
                    authoritySigningKey: try cells.bytes("authority_key"),
                    kdfProfile: try cells.text("kdf"), createdAt: try cells.integer("created_at"))
            }
        }
        guard let meta else {
            throw TutelaError(.notFound, "the vault at \(directory.path) was never initialised")
        }
        return meta
    }

    /// Reads the chain's table in sequence order.
    public func links(_ chain: ChainName, from: Int64, limit: Int) async throws -> [ChainLink] {
        try await read("read the \(chain.rawValue) log") { db in
            try Row.fetchAll(
                db,
                sql:
                    "SELECT \(Self.linkColumns) FROM \(chain.rawValue) WHERE seq >= ? ORDER BY seq LIMIT ?",
                arguments: [from, Int64(clamping: limit)]
            ).map(Self.link)
        }
    }

    /// Reads the chain's table from its end.
    public func lastLink(_ chain: ChainName) async throws -> ChainLink? {
        try await read("read the \(chain.rawValue) log") { db in
            try Row.fetchOne(
                db,
                sql: "SELECT \(Self.linkColumns) FROM \(chain.rawValue) ORDER BY seq DESC LIMIT 1"
            ).map(Self.link)
        }
    }

    /// Reads the identities table by principal.
    public func sealedIdentity(_ principal: PrincipalID) async throws -> SealedIdentity? {
        try await read("read keys") { db in try Self.sealedIdentity(principal, in: db) }
    }

    /// Joins the label row to its envelope (so nil once shredded); slots ordered by recipient.
    public func record(_ id: RecordID) async throws -> StoredRecord? {
        try await read("read a record") { db in try Self.record(id, in: db) }
    }

    static func record(_ id: RecordID, in db: Database) throws -> StoredRecord? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT labels.id, labels.label, envelopes.body FROM labels
                        JOIN envelopes ON envelopes.id = labels.id WHERE labels.record = ?
                        """), arguments: [id.text])
        else { return nil }
        let cells = Cells(row, "a record")
        let slots = try Row.fetchAll(
            db.cachedStatement(
                sql: "SELECT recipient, box FROM slots WHERE id = ? ORDER BY recipient"),
            arguments: [try cells.integer(0)]
        ).map {
            let slot = Cells($0, "a key slot")
            return Slot(
                record: id, recipient: try Self.recipient(slot.text(0)), box: try slot.bytes(1))
        }
        return StoredRecord(
            record: id, labelBytes: try cells.bytes(1), sealedBytes: try cells.bytes(2),
            slots: slots)
    }

    /// Reads the labels table, tombstones included, in the order they were stored.
    public func labels(learner: LearnerID?) async throws -> [StoredLabel] {
        try await labels(where: learner.map { ("learner = ?", $0.text) })
    }

    /// Reads the labels filed under `author`, tombstones included, in the order they were stored.
    public func labels(author: PrincipalID) async throws -> [StoredLabel] {
        try await labels(where: ("author = ?", author.text))
    }

    /// Reads one label row, a destroyed record's included.
    public func label(_ record: RecordID) async throws -> StoredLabel? {
        try await labels(where: ("record = ?", record.text)).first
    }

    /// Label rows in stored order: all, or those `filter` (a condition on one column and its
    /// value) selects.
    private func labels(where filter: (condition: String, value: String)?) async throws
        -> [StoredLabel]
    {
        try await read("read labels") { db in
            let condition = filter.map { "WHERE \($0.condition) " } ?? ""
            let statement = try db.cachedStatement(
                sql: "SELECT rowid, record, learner, label FROM labels \(condition)ORDER BY rowid")
            return try Self.labelRows(
                statement, StatementArguments(filter.map { [$0.value] } ?? [])
            )
            .rows
        }
    }

    /// The label rows `statement` selects (rowid, record, learner, label), and the last row id.
    /// A cursor reuses one row object for every step, and the label is copied straight from
    /// SQLite's buffer (through `Data` it cost a fifth of a retention check).
    private static func labelRows(_ statement: Statement, _ arguments: StatementArguments)
        throws -> (rows: [StoredLabel], last: Int64?)
    {
        let rows = try Row.fetchCursor(statement, arguments: arguments)
        var result: [StoredLabel] = []
        var last: Int64?
        while let row = try rows.next() {
            last = row[0]
            let raw = statement.sqliteStatement
            // Blob first, then its size, as SQLite's documentation asks.
            let blob = sqlite3_column_blob(raw, 3)
            let size = Int(sqlite3_column_bytes(raw, 3))
            let bytes = blob.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
            let cells = Cells(row, "a label")
            result.append(
                StoredLabel(
                    record: try recordID(cells.text(1)), learner: try learnerID(cells.text(2)),
                    labelBytes: bytes))
        }
        return (result, last)
    }

    /// Pages in row-id order, the cursor being the next row id in decimal; a page that ends the
    /// table exactly is followed by one empty page.
    public func labels(from cursor: LabelCursor?, limit: Int) async throws -> (
        labels: [StoredLabel], next: LabelCursor?
    ) {
        guard let start = cursor.map({ Int64($0.position) }) ?? 0 else {
            throw TutelaError(.internal, "a label cursor this store did not make")
        }
        return try await read("read labels") { db in
            // Row-id order walks the table's pages in sequence; record-id order would visit a
            // random page for every label.
            let statement = try db.cachedStatement(
                sql: """
                    SELECT rowid, record, learner, label FROM labels WHERE rowid >= ?
                    ORDER BY rowid LIMIT ?
                    """)
            let (result, last) = try Self.labelRows(statement, [start, Int64(clamping: limit)])
            return (result, result.count < limit ? nil : LabelCursor(String((last ?? start) + 1)))
        }
    }

    /// Reads the record's shares from the shares table, ordered by holder.
    public func shares(record: RecordID) async throws -> [StoredShare] {
        try await read("read break-glass shares") { db in
            try Self.shares(
                where: "labels.record = ? ORDER BY shares.holder", [record.text], in: db)
        }
    }

    /// Shares sealed to `holder`, in label-row order, from the row after `after`'s record.
    public func shares(holder: Recipient, after: RecordID?, limit: Int) async throws
        -> [StoredShare]
    {
        try await read("read break-glass shares") { db in
            try Self.shares(
                where: """
                    shares.holder = ?1 AND shares.id > coalesce(
                        (SELECT id FROM labels WHERE record = ?2), 0)
                    ORDER BY shares.id LIMIT ?3
                    """,
                [holder.description, after?.text ?? "", Int64(clamping: limit)], in: db)
        }
    }

    /// Reads the recipient's slots in label-row order, not record-id order.
    public func slots(recipient: Recipient, limit: Int) async throws -> [Slot] {
        try await read("read key slots") { db in
            try Self.slots(recipient: recipient, limit: limit, in: db)
        }
    }

    static func slots(recipient: Recipient, limit: Int, in db: Database) throws -> [Slot] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT labels.record, slots.box FROM slots JOIN labels ON labels.id = slots.id
                WHERE slots.recipient = ? ORDER BY slots.id LIMIT ?
                """,
            arguments: [recipient.description, Int64(clamping: limit)]
        ).map {
            let slot = Cells($0, "a key slot")
            return Slot(
                record: try Self.recordID(slot.text(0)), recipient: recipient,
                box: try slot.bytes(1))
        }
    }

    /// Counts envelopes filed under a label: one written in with no label row is not a record's.
    public func recordCount() async throws -> Int {
        try await read("count records") { db in
            try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM envelopes JOIN labels ON labels.id = envelopes.id")
                ?? 0
        }
    }

    /// Counts rows of the slots and shares tables through their recipient and holder indexes.
    public func boxCount(recipient: Recipient) async throws -> (slots: Int, shares: Int) {
        try await read("count key slots") { db in
            // Each from its recipient index, without reading a box.
            (
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM slots WHERE recipient = ?",
                    arguments: [recipient.description]) ?? 0,
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM shares WHERE holder = ?",
                    arguments: [recipient.description]) ?? 0
            )
        }
    }

    /// Break-glass shares come from the shares table, by record and then holder; other kinds are
    /// ordered by id.
    public func objects(kind: String, key: String?) async throws -> [StoredObject] {
        try await read("read \(kind) records") { db in
            try Self.objects(kind: kind, key: key, in: db)
        }
    }

    /// One statement per 500 keys, in one read transaction.
    public func objects(kind: String, keys: [String]) async throws -> [StoredObject] {
        try await read("read \(kind) records") { db in
            try Self.objects(kind: kind, keys: keys, in: db)
        }
    }

    /// One statement per 500 ids, in one read transaction.
    public func objects(kind: String, ids: [String]) async throws -> [StoredObject] {
        try await read("read \(kind) records") { db in
            try Self.objects(kind: kind, column: "id", values: ids, in: db)
        }
    }

    // Shred keys go between SQLite's own buffers and protected memory directly: going through
    // `Data` or `[UInt8]` would leave copies on the heap that nobody wipes.

    /// Checkpoints and truncates `pool`'s write-ahead log, so that deleted rows (which
    /// `secure_delete` zeroes in the database file) leave the log too. Best effort once the rows
    /// are deleted: a reader still on an old snapshot keeps the log until it finishes, and the next
    /// erasing write checkpoints again.
    static func checkpoint(_ pool: DatabasePool) async {
        try? await pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
    }

    /// Runs `body` in one immediate transaction on the writer connection, rolled back if it
    /// throws; database errors become ``TutelaError`` kinds (busy or locked: `.tryAgain`). A
    /// transaction that deleted or replaced anything checkpoints the log after commit.
    public func transaction<T: Sendable>(
        _ body: @escaping @Sendable (any VaultTransaction) async throws -> T
    ) async throws -> T {
        do {
            let (value, erased) = try await Self.write(pool) { db in
                let transaction = Transaction(db: db)
                let value = try await body(transaction)
                return (value, transaction.erased)
            }
            // The transaction has committed: a checkpoint that fails now must not report it as
            // not made. The next erasing write checkpoints again.
            if erased { await Self.checkpoint(pool) }
            return value
        } catch let error as DatabaseError {
            throw Self.map(error, doing: "write to the vault")
        }
    }

}
