import Foundation
import GRDB
import Testing

@testable import Tutela
@testable import TutelaSQLite

/// Vaults written before schema v4 (records keyed by their random id, envelopes carrying a copy of
/// their label, break-glass shares among the general objects) are carried over when opened.
@Suite("Schema v4: records keyed by row")
struct MigrationTests {
    /// The centre on disk (its head of centre, officer and group keys) with a second officer who
    /// holds the officers' key, and three records with shares.
    func populated() async throws -> (DiskVault, [RecordID]) {
        let disk = try await DiskVault()
        let office = try await disk.vault.unlock("office", passphrase: DiskVault.pass("office"))
        try await office.administration.enrol(
            "dsl2", name: "Deputy DSL", roles: [.safeguardingOfficer],
            passphrase: DiskVault.pass("dsl2"))
        #expect(try await disk.session("dsl").lifecycle.syncGroup(.safeguardingOfficer) == ["dsl2"])
        let price = try await disk.session("price")
        var records: [RecordID] = []
        for (i, confidential) in [true, false, true].enumerated() {
            records.append(
                try await price.seal(disk.form("migrated \(i)"), confidential: confidential).record)
        }
        return (disk, records)
    }

    /// A copy of `disk`'s two databases, each with its write-ahead log (which holds whatever is not
    /// checkpointed yet).
    func filesCopy(of disk: DiskVault) throws -> URL {
        let copy = disk.root.appendingPathComponent("copy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: true)
        for base in [SQLiteVaultStore.fileName, SQLiteVaultStore.keyStoreFileName] {
            for name in [base, base + "-wal"]
            where FileManager.default.fileExists(
                atPath: disk.directory.appendingPathComponent(name).path)
            {
                try FileManager.default.copyItem(
                    at: disk.directory.appendingPathComponent(name),
                    to: copy.appendingPathComponent(name))
            }
        }
        return copy
    }

    /// Rewrites the state's node rows as schema v5 wrote them: a row per non-zero child.
    static func undoWholeNodes(_ db: Database) throws {
        for row in try Row.fetchAll(
            db, sql: "SELECT id, body FROM objects WHERE kind = 'state-node'")
        {
            let name: String = row[0]
            let prefix = String(name.dropFirst())
            let node = StoredObject(
                kind: StateMap.nodeKind, id: name, key: name, body: [UInt8](row[1] as Data))
            let children = try StateMap.children(prefix, rows: [node])
            for (digit, child) in children.enumerated() where child != StateMap.zero {
                try db.execute(
                    sql: "INSERT INTO objects (kind, id, key, body) VALUES ('state-node', ?, ?, ?)",
                    arguments: [prefix + String(digit, radix: 16), name, Data(child)])
            }
            try db.execute(
                sql: "DELETE FROM objects WHERE kind = 'state-node' AND id = ?", arguments: [name])
        }
    }

    /// A copy of `disk`'s files as schema v5 left them (each state node a row per child), marked as
    /// not yet at v6; `damage` may change its rows before the copy is closed.
    func v5Copy(of disk: DiskVault, damage: ((Database) throws -> Void)? = nil) throws -> URL {
        let copy = try filesCopy(of: disk)
        let db = try DatabaseQueue(
            path: copy.appendingPathComponent(SQLiteVaultStore.fileName).path)
        try db.write { db in
            try Self.undoWholeNodes(db)
            try db.execute(
                sql: "DELETE FROM grdb_migrations WHERE identifier = 'v6-state-nodes-whole'")
            try damage?(db)
        }
        try db.close()
        return copy
    }

    /// A copy of `disk`'s files, rewritten into the v3 layout (exactly as v3 wrote it) and marked as
    /// not yet migrated. `damage` may change the v3 rows before the copy is closed.
    func v3Copy(of disk: DiskVault, damage: ((Database) throws -> Void)? = nil) throws -> URL {
        let copy = try filesCopy(of: disk)
        let db = try DatabaseQueue(
            path: copy.appendingPathComponent(SQLiteVaultStore.fileName).path)
        try db.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA foreign_keys = OFF")
            try db.inTransaction {
                try db.execute(
                    sql: """
                        ALTER TABLE shares RENAME TO v4_shares;
                        ALTER TABLE slots RENAME TO v4_slots;
                        ALTER TABLE envelopes RENAME TO v4_envelopes;
                        ALTER TABLE labels RENAME TO v4_labels;
                        DROP INDEX labels_by_learner;
                        DROP INDEX slots_by_recipient;
                        CREATE TABLE labels (
                            record TEXT PRIMARY KEY, learner TEXT NOT NULL, label BLOB NOT NULL);
                        CREATE INDEX labels_by_learner ON labels(learner, record);
                        CREATE TABLE envelopes (
                            record TEXT PRIMARY KEY REFERENCES labels(record), envelope BLOB NOT NULL);
                        CREATE TABLE slots (
                            record TEXT NOT NULL REFERENCES labels(record), recipient TEXT NOT NULL,
                            box BLOB NOT NULL, PRIMARY KEY (record, recipient)) WITHOUT ROWID;
                        CREATE INDEX slots_by_recipient ON slots(recipient, record);
                        INSERT INTO labels (rowid, record, learner, label)
                            SELECT id, record, learner, label FROM v4_labels;
                        INSERT INTO slots (record, recipient, box)
                            SELECT l.record, s.recipient, s.box FROM v4_slots s JOIN v4_labels l USING (id);
                        INSERT INTO objects (kind, id, key, body)
                            SELECT 'break-glass-share', l.record || '/' || s.holder, l.record, s.body
                            FROM v4_shares s JOIN v4_labels l USING (id);
                        """)
                for row in try Row.fetchAll(
                    db,
                    sql:
                        "SELECT l.record, l.label, e.body FROM v4_envelopes e JOIN v4_labels l USING (id)"
                ) {
                    let envelope = Envelope.join(
                        sealed: [UInt8](row[2] as Data), label: [UInt8](row[1] as Data))
                    try db.execute(
                        sql: "INSERT INTO envelopes (record, envelope) VALUES (?, ?)",
                        arguments: [row[0] as String, Data(envelope)])
                }
                try db.execute(
                    sql: """
                        DROP TABLE v4_shares; DROP TABLE v4_slots; DROP TABLE v4_envelopes;
                        DROP TABLE v4_labels;
                        DELETE FROM grdb_migrations
                            WHERE identifier IN (
                                'v4-records-by-row', 'v5-labels-by-author', 'v6-state-nodes-whole');
                        """)
                try Self.undoWholeNodes(db)
                try damage?(db)
                return .commit
            }
        }
        return copy
    }

    @Test(
        "a v3 vault opens as v4: every record, slot, share and label byte for byte, in the same order, and it still opens and verifies"
    )
    func carriedOver() async throws {
        let (disk, records) = try await populated()
        var before: [StoredRecord] = []
        var sharesBefore: [[StoredShare]] = []
        for record in records {
            before.append(try #require(await disk.store.record(record)))
            sharesBefore.append(try await disk.store.shares(record: record))
        }
        #expect(sharesBefore.map(\.count) == [2, 2, 2])
        let labelsBefore = try await disk.store.pagedLabels(pageSize: 100)
        let copy = try v3Copy(of: disk)
        // The copy really is v3: the envelope carries its label, the shares are objects.
        let old = try DatabaseQueue(
            path: copy.appendingPathComponent(SQLiteVaultStore.fileName).path)
        let v3Envelope = try await old.read { db in
            try Data.fetchOne(
                db, sql: "SELECT envelope FROM envelopes WHERE record = ?",
                arguments: [records[0].text])
        }
        #expect(v3Envelope.map { [UInt8]($0) } == before[0].envelopeBytes)
        #expect(
            try await old.read { db in
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM objects WHERE kind = 'break-glass-share'")
            } == 6)
        try old.close()

        let store = try SQLiteVaultStore(directory: copy)
        for (i, record) in records.enumerated() {
            #expect(try await store.record(record) == before[i])
            #expect(try await store.shares(record: record) == sharesBefore[i])
        }
        #expect(try await store.pagedLabels(pageSize: 100) == labelsBefore)
        // Schema v5 files each row under its label's author too.
        #expect(try await store.labels(author: "price") == labelsBefore)
        #expect(try await store.objects(kind: "break-glass-share", key: nil).isEmpty)
        #expect(try await store.boxCount(recipient: "group:head-of-centre#1") == (0, 3))
        #expect(try await store.boxCount(recipient: "group:safeguarding-officer#1") == (0, 3))
        #expect(try await store.boxCount(recipient: "price") == (3, 0))
        let migrated = try DatabaseQueue(
            path: copy.appendingPathComponent(SQLiteVaultStore.fileName).path)
        #expect(
            try await migrated.read { db in
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM objects WHERE kind = 'break-glass-share'")
            } == 0)
        // Schema v6 keeps each state node whole, in one row named after its prefix.
        let nodeIDs = try await migrated.read { db in
            try String.fetchAll(db, sql: "SELECT id FROM objects WHERE kind = 'state-node'")
        }
        #expect(!nodeIDs.isEmpty)
        #expect(nodeIDs.allSatisfy { $0.hasPrefix("/") })
        try migrated.close()
        let vault = Vault(store: store)
        let price = try await vault.unlock("price", passphrase: DiskVault.pass("price"))
        for record in records { _ = try await price.open(record) }
        let dsl = try await vault.unlock("dsl", passphrase: DiskVault.pass("dsl"))
        let request = try await dsl.breakGlass.request(records[1], reason: "after migration")
        let head = try await vault.unlock("head", passphrase: DiskVault.pass("head"))
        _ = try await head.breakGlass.approve(request.id)
        let dsl2 = try await vault.unlock("dsl2", passphrase: DiskVault.pass("dsl2"))
        _ = try await dsl2.breakGlass.approve(request.id)
        #expect(try await dsl.breakGlass.open(request.id).form?.comments == "migrated 1")
        _ = try await vault.verifyAudit(checkpoint: nil)
    }

    /// Every schema entry and every row of the tables a migration touches, as text.
    func contents(of file: URL) throws -> [String] {
        let db = try DatabaseQueue(path: file.path)
        defer { try? db.close() }
        return try db.read { db in
            var lines = try String.fetchAll(
                db,
                sql:
                    "SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master ORDER BY name"
            )
            for table in ["grdb_migrations", "labels", "envelopes", "slots", "objects"] {
                for row in try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY 1") {
                    lines.append(
                        "\(table) \(row.databaseValues.map(\.description).joined(separator: " "))")
                }
            }
            return lines.sorted()
        }
    }

    @Test(
        "a v3 envelope that does not carry its own label stops the migration with 65, changing nothing"
    )
    func damagedEnvelope() async throws {
        let (disk, records) = try await populated()
        let copy = try v3Copy(of: disk) { db in
            var envelope = try #require(
                try Data.fetchOne(
                    db, sql: "SELECT envelope FROM envelopes WHERE record = ?",
                    arguments: [records[1].text]))
            envelope[12] ^= 0x01
            try db.execute(
                sql: "UPDATE envelopes SET envelope = ? WHERE record = ?",
                arguments: [envelope, records[1].text])
        }
        let file = copy.appendingPathComponent(SQLiteVaultStore.fileName)
        let before = try contents(of: file)
        do {
            _ = try SQLiteVaultStore(directory: copy)
            Issue.record("a damaged v3 vault was migrated")
        } catch let error as TutelaError {
            #expect(error.kind == .tampered)
            #expect(error.message.contains(records[1].text))
        }
        let after = try contents(of: file)
        #expect(after == before)
        #expect(!after.contains { $0.hasPrefix("grdb_migrations v4") })
    }

    @Test(
        "a v5 vault holding a whole node row no earlier version wrote is not migrated: 65, nothing changed"
    )
    func plantedNodeRow() async throws {
        let (disk, _) = try await populated()
        let copy = try v5Copy(of: disk) { db in
            try db.execute(
                sql: "INSERT INTO objects (kind, id, key, body) VALUES ('state-node', '/', 'x', ?)",
                arguments: [Data([1, 0, 1] + [UInt8](repeating: 7, count: 32))])
        }
        let file = copy.appendingPathComponent(SQLiteVaultStore.fileName)
        let before = try contents(of: file)
        do {
            _ = try SQLiteVaultStore(directory: copy)
            Issue.record("a planted node row was migrated")
        } catch let error as TutelaError { #expect(error.kind == .tampered) }
        #expect(try contents(of: file) == before)
    }

    @Test(
        "a node row whose hash is a number is left by the migration, and reported, not trapped on")
    func nodeRowOfAnotherType() async throws {
        let (disk, records) = try await populated()
        // A child of the root off the opened record's path: the proof of a path recomputes the
        // child it goes through, so damage there would (rightly) not be read by this open.
        let onPath = StateMap.prefix(StateKey.record(records[0]).bucket, depth: 1)
        let copy = try v5Copy(of: disk) { db in
            try db.execute(
                sql: "UPDATE objects SET body = 7 WHERE kind = 'state-node' AND id = ("
                    + "SELECT MIN(id) FROM objects WHERE kind = 'state-node' AND key = '/' "
                    + "AND id <> ?)",
                arguments: [onPath])
            #expect(db.changesCount == 1)
        }
        let store = try SQLiteVaultStore(directory: copy)
        let vault = Vault(store: store)
        do {
            let price = try await vault.unlock("price", passphrase: DiskVault.pass("price"))
            _ = try await price.open(records[0])
            Issue.record("a record was opened through a node row of another type")
        } catch let error as TutelaError { #expect(error.kind == .tampered) }
    }

}
