import Foundation
import GRDB
import Tutela

extension SQLiteVaultStore {
    /// One write transaction. Statements are prepared once per connection (GRDB's statement cache)
    /// and each chain's head is carried from one append to the next, so a batch of thousands of
    /// audit entries reads the head once.
    final class Transaction: VaultTransaction {
        let db: Database
        private var heads: [ChainName: ChainLink] = [:]
        /// Whether this transaction deleted or replaced anything, so that the store checkpoints
        /// the write-ahead log after commit and the old bytes leave the files.
        private(set) var erased = false

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
                    meta.vaultID, meta.authorityID.text, Data(meta.authoritySigningKey),
                    meta.kdfProfile,
                    meta.createdAt,
                ])
        }

        func lastLink(_ chain: ChainName) throws -> ChainLink? {
            if let head = heads[chain] { return head }
            let head = try Row.fetchOne(
                db.cachedStatement(
                    sql:
                        "SELECT \(SQLiteVaultStore.linkColumns) FROM \(chain.rawValue) ORDER BY seq DESC LIMIT 1"
                )
            ).map(SQLiteVaultStore.link)
            heads[chain] = head
            return head
        }

        func link(_ chain: ChainName, at sequence: Int64) throws -> ChainLink? {
            try Row.fetchOne(
                db.cachedStatement(
                    sql:
                        "SELECT \(SQLiteVaultStore.linkColumns) FROM \(chain.rawValue) WHERE seq = ?"
                ),
                arguments: [sequence]
            ).map(SQLiteVaultStore.link)
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
                    link.sequence, Data(link.previousHash), link.signer.text, Data(link.body),
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
                    identity.principal.text, Data(identity.signingKey), Data(identity.agreementKey),
                    Data(identity.salt), Int64(identity.opsLimit), Int64(identity.memLimit),
                    Data(identity.nonce), Data(identity.ciphertext),
                ])
        }

        /// The last record inserted or looked up, and its row: a batch's shares and slots follow
        /// their record.
        private var lastRow: (record: RecordID, id: Int64)?

        /// The row of `record`'s label, or nil when there is no such record.
        private func row(_ record: RecordID) throws -> Int64? {
            if let lastRow, lastRow.record == record { return lastRow.id }
            let id = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT id FROM labels WHERE record = ?"),
                arguments: [record.text])
            if let id { lastRow = (record, id) }
            return id
        }

        /// The row of `record`'s label, which must exist.
        private func existingRow(_ record: RecordID) throws -> Int64 {
            guard let id = try row(record) else {
                throw TutelaError(
                    .invalidInput, "the vault refused an inconsistent change: no record \(record)")
            }
            return id
        }

        func insert(_ record: StoredRecord, learner: LearnerID, author: PrincipalID) throws {
            try run(
                "INSERT INTO labels (record, learner, author, label) VALUES (?, ?, ?, ?)",
                [record.record.text, learner.text, author.text, Data(record.labelBytes)])
            let id = db.lastInsertedRowID
            lastRow = (record.record, id)
            try run(
                "INSERT INTO envelopes (id, body) VALUES (?, ?)", [id, Data(record.sealedBytes)])
            for slot in record.slots { try insert(slot) }
        }

        func insert(_ slot: Slot) throws {
            try run(
                "INSERT INTO slots (id, recipient, box) VALUES (?, ?, ?)",
                [try existingRow(slot.record), slot.recipient.description, Data(slot.box)])
        }

        func put(_ object: StoredObject) throws {
            try run(
                "INSERT OR REPLACE INTO objects (kind, id, key, body) VALUES (?, ?, ?, ?)",
                [object.kind, object.id, object.key, Data(object.body)])
        }

        func put(_ share: StoredShare) throws {
            try run(
                "INSERT OR REPLACE INTO shares (id, holder, body) VALUES (?, ?, ?)",
                [try existingRow(share.record), share.holder.description, Data(share.body)])
        }

        func deleteShare(record: RecordID, holder: Recipient) throws {
            guard let row = try row(record) else { return }
            erased = true
            try run("DELETE FROM shares WHERE id = ? AND holder = ?", [row, holder.description])
        }

        func shares(record: RecordID) throws -> [StoredShare] {
            try SQLiteVaultStore.shares(
                where: "labels.record = ? ORDER BY shares.holder", [record.text], in: db)
        }

        func object(kind: String, id: String) throws -> StoredObject? {
            try Row.fetchOne(
                db.cachedStatement(
                    sql:
                        "SELECT \(SQLiteVaultStore.objectColumns) FROM objects WHERE kind = ? AND id = ?"
                ),
                arguments: [kind, id]
            )
            .map(SQLiteVaultStore.object)
        }

        func record(_ id: RecordID) throws -> StoredRecord? {
            try SQLiteVaultStore.record(id, in: db)
        }

        func objects(kind: String, key: String) throws -> [StoredObject] {
            try SQLiteVaultStore.objects(kind: kind, key: key, in: db)
        }

        func slots(recipient: Recipient) throws -> [Slot] {
            try SQLiteVaultStore.slots(recipient: recipient, limit: Int.max, in: db)
        }

        func replaceEnvelope(record: RecordID, sealed: [UInt8]) throws {
            guard let id = try row(record) else {
                throw TutelaError(.notFound, "there is no record \(record)")
            }
            erased = true
            try db.execute(
                sql: "UPDATE envelopes SET body = ? WHERE id = ?", arguments: [Data(sealed), id])
            guard db.changesCount == 1 else {
                throw TutelaError(.notFound, "there is no record \(record)")
            }
        }

        func sealedIdentity(_ principal: PrincipalID) throws -> SealedIdentity? {
            try SQLiteVaultStore.sealedIdentity(principal, in: db)
        }

        func replace(_ identity: SealedIdentity) throws {
            erased = true
            try db.execute(
                sql: "DELETE FROM identities WHERE principal = ?",
                arguments: [identity.principal.text])
            try insert(identity)
        }

        func deleteObject(kind: String, id: String) throws {
            erased = true
            try run(
                "DELETE FROM objects WHERE kind = ? AND id = ?", [kind, id])
        }

        func shred(_ record: RecordID) throws {
            guard let id = try row(record) else { return }
            erased = true
            try db.execute(sql: "DELETE FROM slots WHERE id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM envelopes WHERE id = ?", arguments: [id])
        }

        func deleteSlot(record: RecordID, recipient: Recipient) throws {
            guard let id = try row(record) else { return }
            erased = true
            try run(
                "DELETE FROM slots WHERE id = ? AND recipient = ?", [id, recipient.description])
        }
    }
}
