import Foundation
import GRDB
import Tutela

/// The embedded store's schema: the vault's and the key store's migrations. Schema changes go here, as a
/// new migration; docs/FORMAT.md describes the tables.
extension SQLiteVaultStore {
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
        migrator.registerMigration("v5-labels-by-author", migrate: Self.migrateToLabelsByAuthor)
        migrator.registerMigration("v6-state-nodes-whole", migrate: Self.migrateToWholeNodes)
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
            let cells = Cells(row, "a v3 envelope")
            let record = try cells.text(1)
            guard let body = Self.strip(try cells.bytes(3), label: try cells.bytes(2)) else {
                throw TutelaError(
                    .tampered,
                    "the vault database is damaged: the envelope of \(record) does not carry its label; nothing was changed",
                    hint: "keep the damaged copy as evidence and restore a backup")
            }
            try insert.execute(arguments: [try cells.integer(0), body])
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
                """, arguments: ["break-glass-share"])
        try db.execute(
            sql: """
                DELETE FROM objects
                    WHERE kind = ? AND substr(id, 1, length(key) + 1) = key || '/'
                    AND key IN (SELECT record FROM labels)
                """, arguments: ["break-glass-share"])
        try db.execute(
            sql: """
                DROP TABLE v3_slots;
                DROP TABLE v3_envelopes;
                DROP TABLE v3_labels;
                """)
    }

    /// v5: a label row is filed under its author too, for a tutor's own list (the vault's state
    /// counts and chains each author's labels, `W:`). Rows are filled in from their labels; one
    /// that does not parse is left without an author, for the lists and `audit verify` to report.
    static func migrateToLabelsByAuthor(_ db: Database) throws {
        try db.execute(sql: "ALTER TABLE labels ADD COLUMN author TEXT NOT NULL DEFAULT ''")
        for row in try Row.fetchAll(db, sql: "SELECT id, label FROM labels") {
            guard let id = Int64.fromDatabaseValue(row[0] as DatabaseValue),
                let label = Data.fromDatabaseValue(row[1] as DatabaseValue),
                let author = Label.author(ofCanonical: [UInt8](label))
            else { continue }
            try db.execute(
                sql: "UPDATE labels SET author = ? WHERE id = ?", arguments: [author.text, id])
        }
        try db.execute(sql: "CREATE INDEX labels_by_author ON labels(author)")
    }

    /// v6: the state map's nodes are one row each (docs/FORMAT.md, "State map"), where each child
    /// had a row of its own: a proof reads the four nodes on its path, not their 64 children.
    ///
    /// A whole node row (named `/…`) already there was written by no earlier version: planted, so
    /// the migration stops with 65 and changes nothing. A child row whose cells are not text and
    /// bytes is left where it is, unread, for the map's proofs to report.
    static func migrateToWholeNodes(_ db: Database) throws {
        let kind = StateNodeMigration.kind
        let planted =
            try Int.fetchOne(
                db,
                sql: "SELECT COUNT(*) FROM objects WHERE kind = ? AND substr(id, 1, 1) = '/'",
                arguments: [kind]) ?? 0
        guard planted == 0 else {
            throw TutelaError(
                .tampered,
                "the vault database is damaged: it holds state rows no earlier version wrote; "
                    + "nothing was changed",
                hint: "keep the damaged copy as evidence and restore a backup")
        }
        var old: [StoredObject] = []
        for row in try Row.fetchAll(
            db, sql: "SELECT id, key, body FROM objects WHERE kind = ?", arguments: [kind])
        {
            guard let id = String.fromDatabaseValue(row[0] as DatabaseValue),
                let key = String.fromDatabaseValue(row[1] as DatabaseValue),
                let body = Data.fromDatabaseValue(row[2] as DatabaseValue)
            else { continue }
            old.append(StoredObject(kind: kind, id: id, key: key, body: [UInt8](body)))
        }
        let (rows, replaced) = StateNodeMigration.wholeNodes(old)
        for id in replaced {
            try db.execute(
                sql: "DELETE FROM objects WHERE kind = ? AND id = ?", arguments: [kind, id])
        }
        for row in rows {
            try db.execute(
                sql: "INSERT INTO objects (kind, id, key, body) VALUES (?, ?, ?, ?)",
                arguments: [row.kind, row.id, row.key, Data(row.body)])
        }
    }

    /// The stored form of an envelope written before v4, which carried its label: nil when it does
    /// not carry exactly `label`.
    static func strip(_ envelope: [UInt8], label: [UInt8]) -> Data? {
        guard Envelope.labelField(of: envelope) == label,
            let sealed = Envelope.sealedPart(of: envelope)
        else { return nil }
        return Data(sealed)
    }
}
