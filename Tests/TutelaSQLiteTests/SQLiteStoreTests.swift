import Foundation
import GRDB
import Testing
import TutelaCrypto
import TutelaTesting

@testable import Tutela
@testable import TutelaSQLite

@Suite("The embedded SQLite store")
struct SQLiteStoreTests {
    @Test(
        "a sealed form's unique marker is in no file of the vault (database, WAL, shm) and no temp file"
    )
    func noPlaintextAtRest() async throws {
        let started = Date().addingTimeInterval(-1)
        let disk = try await DiskVault()
        let marker = "MARKER-\(UUID().uuidString)"
        let price = try await disk.session("price")
        let label = try await price.seal(disk.form(marker), confidential: true)
        let opened = try await price.open(label.record)
        #expect(opened.form?.comments == marker)
        let files = try FileManager.default.contentsOfDirectory(atPath: disk.directory.path)
        #expect(files.contains("vault.sqlite"))
        #expect(files.contains("vault.sqlite-wal"))
        let tmp = FileManager.default.temporaryDirectory
        let hits = disk.filesContaining(
            marker, alsoUnder: [tmp, URL(fileURLWithPath: "/var/tmp")], since: started)
        #expect(hits.isEmpty, "plaintext found in \(hits)")
        // The label is the readable part, as intended.
        #expect(!disk.filesContaining("Confidential tutorial").isEmpty)
    }

    @Test("the vault directory and database are private to their owner")
    func permissions() async throws {
        let disk = try await DiskVault()
        let attributes = try FileManager.default.attributesOfItem(atPath: disk.directory.path)
        #expect((attributes[.posixPermissions] as? Int).map { $0 & 0o077 } == 0)
        let db = try FileManager.default.attributesOfItem(
            atPath: disk.directory.appendingPathComponent("vault.sqlite").path)
        #expect((db[.posixPermissions] as? Int).map { $0 & 0o077 } == 0)
    }

    @Test("creating over an existing vault is refused; opening a missing one is not found")
    func createAndOpen() async throws {
        let disk = try await DiskVault()
        do {
            _ = try SQLiteVaultStore(directory: disk.directory, create: true)
            Issue.record("created over an existing vault")
        } catch let error as TutelaError { #expect(error.kind == .exists) }
        do {
            _ = try SQLiteVaultStore(directory: disk.root.appendingPathComponent("nowhere"))
            Issue.record("opened a missing vault")
        } catch let error as TutelaError { #expect(error.kind == .notFound) }
    }

    @Test(
        "when another process holds the write lock, open waits, then refuses with 75 and releases nothing"
    )
    func lockTimeout() async throws {
        let disk = try await DiskVault(busyTimeout: 0.3)
        let price = try await disk.session("price")
        let label = try await price.seal(disk.form("locked"), confidential: true)
        var config = Configuration()
        config.allowsUnsafeTransactions = true  // this connection plays another process mid-write
        let other = try DatabaseQueue(
            path: disk.directory.appendingPathComponent("vault.sqlite").path, configuration: config)
        try await other.writeWithoutTransaction { db in try db.execute(sql: "BEGIN EXCLUSIVE") }
        do {
            let opened = try await price.open(label.record)
            Issue.record("released \(opened.label.record) without an audit entry")
        } catch let error as TutelaError {
            #expect(error.kind == .tryAgain)
            #expect(error.message.contains("nothing was released"))
        }
        try await other.writeWithoutTransaction { db in try db.execute(sql: "ROLLBACK") }
        _ = try await price.open(label.record)
    }

    @Test("commits are fully synchronous, and a busy writer does not stop the vault opening")
    func durabilityAndOpening() async throws {
        let disk = try await DiskVault(busyTimeout: 0.3)
        #expect(try disk.store.writerSetting("synchronous") == 2)
        #expect(try disk.store.writerSetting("synchronous", keyStore: true) == 2)
        // The writers keep larger page caches than SQLite's default (negative: in KiB).
        #expect(try disk.store.writerSetting("cache_size") == -32768)
        #expect(try disk.store.writerSetting("cache_size", keyStore: true) == -8192)
        var config = Configuration()
        config.allowsUnsafeTransactions = true
        let other = try DatabaseQueue(
            path: disk.directory.appendingPathComponent("vault.sqlite").path, configuration: config)
        try await other.writeWithoutTransaction { db in try db.execute(sql: "BEGIN EXCLUSIVE") }
        defer { try? other.writeWithoutTransaction { db in try db.execute(sql: "ROLLBACK") } }
        let reopened = try SQLiteVaultStore(directory: disk.directory, busyTimeout: 0.3)
        #expect(try await reopened.meta().authorityID == "office")
    }

    @Test("bytes changed in the database file's rows are detected (65)")
    func tamperedRows() async throws {
        let disk = try await DiskVault()
        let price = try await disk.session("price")
        let label = try await price.seal(disk.form("tamper"), confidential: true)
        let db = try DatabaseQueue(path: disk.directory.appendingPathComponent("vault.sqlite").path)
        let original = try await db.read { db in
            try Data.fetchOne(
                db,
                sql:
                    "SELECT body FROM envelopes WHERE id = (SELECT id FROM labels WHERE record = ?)",
                arguments: [label.record.text])
        }
        let envelope = try #require(original)
        // The stored body: the version byte, then (the label being in its own table) the nonce.
        for offset in [0, 5, envelope.count / 2, envelope.count - 70, envelope.count - 1] {
            var flipped = envelope
            flipped[offset] ^= 0x04
            let changed = flipped
            try await db.write { db in
                try db.execute(
                    sql:
                        "UPDATE envelopes SET body = ? WHERE id = (SELECT id FROM labels WHERE record = ?)",
                    arguments: [changed, label.record.text])
            }
            do {
                _ = try await price.open(label.record)
                Issue.record("byte \(offset) changed but the record opened")
            } catch let error as TutelaError { #expect(error.kind == .tampered) }
        }
    }

    @Test(
        "a row inserted into the directory table behind Tutela's back grants nothing: the vault refuses"
    )
    func injectedDirectoryRow() async throws {
        let disk = try await DiskVault()
        let db = try DatabaseQueue(path: disk.directory.appendingPathComponent("vault.sqlite").path)
        try await db.write { db in
            try db.execute(
                sql: """
                    INSERT INTO directory (seq, prev_hash, signer, body, signature, hash)
                    SELECT seq + 1, hash, 'office', body, signature, hash FROM directory
                    ORDER BY seq DESC LIMIT 1
                    """)
        }
        do {
            _ = try await disk.session("price")
            Issue.record("the vault worked with a forged directory row")
        } catch let error as TutelaError { #expect(error.kind == .tampered) }
    }

    @Test(
        "a label row whose learner was changed to something that is not an id is tampering (65)")
    func invalidStoredLearnerID() async throws {
        let disk = try await DiskVault()
        let price = try await disk.session("price")
        let label = try await price.seal(disk.form("bad learner"), confidential: true)
        let db = try DatabaseQueue(path: disk.directory.appendingPathComponent("vault.sqlite").path)
        try await db.write { db in
            try db.execute(
                sql: "UPDATE labels SET learner = ? WHERE record = ?",
                arguments: ["not an id", label.record.text])
        }
        try db.close()
        let store = disk.store
        let reads: [(String, @Sendable () async throws -> Void)] = [
            ("labels", { _ = try await store.labels(learner: nil) }),
            ("label pages", { _ = try await store.pagedLabels(pageSize: 100) }),
            ("a listing", { _ = try await price.labels(learner: nil) }),
        ]
        for (what, read) in reads {
            do {
                try await read()
                Issue.record("\(what): an invalid stored learner id was read as an id")
            } catch let error as TutelaError {
                #expect(error.kind == .tampered, "\(what)")
            }
        }
    }

    @Test("the key-derivation profile is signed: lowering or raising its row is tampering (65)")
    func kdfProfileRow() async throws {
        let disk = try await DiskVault()
        let db = try DatabaseQueue(path: disk.directory.appendingPathComponent("vault.sqlite").path)
        for profile in ["moderate", "sensitive"] {
            try await db.write { db in
                try db.execute(sql: "UPDATE vault SET kdf = ?", arguments: [profile])
            }
            for (what, read) in [
                ("the directory", { _ = try await disk.vault.verifiedDirectory() }),
                ("an unlock", { _ = try await disk.session("office") }),
            ] as [(String, () async throws -> Void)] {
                do {
                    try await read()
                    Issue.record("\(what) accepted a kdf row of \(profile)")
                } catch let error as TutelaError {
                    #expect(error.kind == .tampered, "\(what)")
                }
            }
        }
        try await db.write { db in try db.execute(sql: "UPDATE vault SET kdf = 'interactive'") }
        try db.close()
        let (_, directory) = try await disk.vault.verifiedDirectory()
        #expect(directory.kdfProfile == .interactive)
    }

    @Test("a slot row or a directory row naming no one is tampering (65)")
    func invalidStoredPrincipals() async throws {
        let edits: [(String, String)] = [
            (
                "a slot's recipient",
                "UPDATE slots SET recipient = 'group:nobody#1' WHERE recipient = 'price'"
            ),
            (
                "a directory signer",
                "UPDATE directory SET signer = 'not an id' "
                    + "WHERE seq = (SELECT MAX(seq) FROM directory)"
            ),
        ]
        for (what, sql) in edits {
            let disk = try await DiskVault()
            let price = try await disk.session("price")
            let label = try await price.seal(disk.form(what), confidential: true)
            let db = try DatabaseQueue(
                path: disk.directory.appendingPathComponent("vault.sqlite").path)
            try await db.write { db in try db.execute(sql: sql) }
            try db.close()
            do {
                _ = try await disk.store.record(label.record)
                _ = try await disk.vault.verifiedDirectory()
                Issue.record("\(what): a stored name that is not an id was read as one")
            } catch let error as TutelaError {
                #expect(error.kind == .tampered, "\(what)")
            }
        }
    }

    @Test(
        "a label row whose record id was changed to something that is not an id is tampering (65)")
    func invalidStoredRecordID() async throws {
        let disk = try await DiskVault()
        let price = try await disk.session("price")
        let label = try await price.seal(disk.form("bad id"), confidential: true)
        let db = try DatabaseQueue(path: disk.directory.appendingPathComponent("vault.sqlite").path)
        try await db.write { db in
            try db.execute(
                sql: "UPDATE labels SET record = ? WHERE record = ?",
                arguments: ["not an id", label.record.text])
        }
        try db.close()
        let store = disk.store
        let reads: [(String, @Sendable () async throws -> Void)] = [
            ("labels", { _ = try await store.labels(learner: nil) }),
            ("a learner's labels", { _ = try await store.labels(learner: "sam") }),
            ("label pages", { _ = try await store.pagedLabels(pageSize: 100) }),
            ("slots", { _ = try await store.slots(recipient: "price", limit: 100) }),
            ("a listing", { _ = try await price.labels(learner: nil) }),
        ]
        for (what, read) in reads {
            do {
                try await read()
                Issue.record("\(what): an invalid stored record id was read as an id")
            } catch let error as TutelaError {
                #expect(error.kind == .tampered, "\(what)")
            }
        }
    }
}

@Suite("Destruction on disk")
struct DestructionOnDiskTests {
    /// A record about Kim (born 2000, left 2010): due under the school policy since 2025.
    func due() async throws -> (DiskVault, Label, [UInt8], [UInt8]) {
        let disk = try await DiskVault()
        let office = try await disk.session("office")
        try await office.administration.addLearner(
            "kim", name: "Kim", tutor: "price", dateOfBirth: CalendarDate("2000-01-01"),
            programme: nil)
        try await office.administration.learnerLeft("kim", on: #require(CalendarDate("2010-07-20")))
        let json =
            #"{"learner": "kim", "date": "2009-11-20", "course": "Maths", "comments": "old words"}"#
        let form = try ProgressReview.parse(Array(json.utf8), source: "form")
        let label = try await disk.session("price").seal(form, confidential: false)
        // Every destruction takes two people: a second keeper proposes it, Hale agrees.
        try await office.administration.enrol(
            "keeper2", name: "K2", roles: [.recordKeeper], passphrase: DiskVault.pass("keeper2"))
        guard case .proposed = try await disk.session("keeper2").retention.destroy(label.record)
        else { throw TutelaError(.internal, "one keeper destroyed the record alone") }
        let envelope = try #require(await disk.store.record(label.record)).envelopeBytes
        let shredKey = try #require(await disk.store.shredKey(label.record.text)).unprotectedCopy()
        return (disk, label, envelope, shredKey)
    }

    func files(_ directory: URL, contain needle: [UInt8]) -> [String] {
        let data = Data(needle)
        let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil)
        var hits: [String] = []
        while let url = walker?.nextObject() as? URL {
            if let bytes = try? Data(contentsOf: url), bytes.range(of: data) != nil {
                hits.append(url.lastPathComponent)
            }
        }
        return hits
    }

    @Test(
        "destroyed: ciphertext and shred key are in no file of the vault, and the record opens as 66"
    )
    func bytesGone() async throws {
        let (disk, label, envelope, shredKey) = try await due()
        let ciphertextChunk = Array(envelope.suffix(96).prefix(32))
        #expect(
            !files(disk.directory, contain: ciphertextChunk).isEmpty,
            "the scan must see the ciphertext first")
        #expect(
            !files(disk.directory, contain: shredKey).isEmpty,
            "the scan must see the shred key first")
        let keeper = try await disk.session("hale")
        guard case .destroyed(let certificate) = try await keeper.retention.destroy(label.record)
        else {
            Issue.record("not destroyed")
            return
        }
        try keeper.retention.verify(certificate)
        #expect(
            files(disk.directory, contain: ciphertextChunk).isEmpty, "ciphertext left in the files")
        #expect(files(disk.directory, contain: shredKey).isEmpty, "shred key left in the files")
        do {
            _ = try await disk.session("price").open(label.record)
            Issue.record("a destroyed record opened")
        } catch let error as TutelaError { #expect(error.kind == .notFound) }
        _ = try await disk.vault.verifyAudit(checkpoint: nil)
    }

    @Test("a vault backup taken before the destruction cannot open the destroyed record")
    func backupAfterDestruction() async throws {
        let (disk, label, _, _) = try await due()
        let backup = disk.root.appendingPathComponent("backup.sqlite")
        try disk.store.backup(to: backup)
        guard case .destroyed = try await disk.session("hale").retention.destroy(label.record)
        else {
            Issue.record("not destroyed")
            return
        }
        // Restore: the old vault database beside today's key store.
        let restored = disk.root.appendingPathComponent("restored")
        try FileManager.default.createDirectory(at: restored, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: backup, to: restored.appendingPathComponent("vault.sqlite"))
        try disk.store.backupKeyStore(to: restored.appendingPathComponent("keystore.sqlite"))
        let vault = Vault(store: try SQLiteVaultStore(directory: restored))
        let price = try await vault.unlock("price", passphrase: DiskVault.pass("price"))
        do {
            _ = try await price.open(label.record)
            Issue.record("the destroyed record opened from an old backup")
        } catch let error as TutelaError {
            #expect(error.kind == .notFound)
            #expect(error.message.contains("shredded"))
        }
    }
}

@Suite("The key store on disk")
struct KeyStoreOnDiskTests {
    @Test(
        "shred keys go in and come out byte for byte; the store keeps its own copy; a second key for a record is refused"
    )
    func roundTrip() async throws {
        let disk = try await DiskVault()
        let keys = try (0..<3).map { _ in try SecretBytes.random(count: 32) }
        let expected = keys.map { $0.unprotectedCopy() }
        try await disk.store.putShredKeys(
            zip(["R-one", "R-two", "R-three"], keys).map { ($0, $1) })
        for key in keys { key.wipe() }
        for (record, bytes) in zip(["R-one", "R-two", "R-three"], expected) {
            let read = try #require(await disk.store.shredKey(record))
            #expect(read.unprotectedCopy() == bytes)
            read.wipe()
            #expect(try #require(await disk.store.shredKey(record)).unprotectedCopy() == bytes)
        }
        #expect(try await disk.store.shredKey("R-missing") == nil)
        let again = try SecretBytes.random(count: 32)
        do {
            try await disk.store.putShredKeys([("R-new", again), ("R-two", again)])
            Issue.record("a second shred key for one record was accepted")
        } catch let error as TutelaError { #expect(error.kind == .exists) }
        // One transaction: the batch's first key did not land either.
        #expect(try await disk.store.shredKey("R-new") == nil)
        #expect(try #require(await disk.store.shredKey("R-two")).unprotectedCopy() == expected[1])
    }
}
