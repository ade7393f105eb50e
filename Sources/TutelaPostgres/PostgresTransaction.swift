import Logging
import NIOCore
import PostgresNIO
import Tutela

extension PostgresVaultStore {
    /// One write transaction on one connection, holding the vault's writer lock. Inserts that may
    /// meet an existing row say so (`ON CONFLICT DO NOTHING … RETURNING`) rather than fail, since a
    /// failed statement would end the whole transaction in PostgreSQL; the refusal is thrown here
    /// and the transaction rolled back by ``PostgresDatabase/write(_:_:)``.
    ///
    /// Inserts of labels, envelopes, slots, shares, objects and chain links wait in
    /// ``PendingWrites`` until the transaction reads one of those tables, or commits (``flush()``);
    /// each object read or written is remembered for the rest of the transaction, so reading one
    /// back needs no round trip. The writer lock keeps every other Tutela writer out meanwhile;
    /// it cannot stop someone with write access to the tables who does not take it. An object
    /// this transaction found absent is inserted only if it still is (``PendingWrites``), so one
    /// planted meanwhile is reported; an edit made meanwhile to a row it read and then rewrites
    /// is overwritten (SECURITY.md, "PostgreSQL").
    final class Transaction: VaultTransaction {
        let connection: PostgresConnection
        let s: String
        private var heads: [ChainName: ChainLink] = [:]
        /// Whether ``heads`` holds every chain's last link (a chain missing from it has none):
        /// read together when a head is first asked for, then moved on by ``append(_:to:)``.
        private var headsRead = false
        private var pending = PendingWrites()
        /// Objects read or written in this transaction, by kind and id (nil: known not to exist).
        private var seen: [String: StoredObject?] = [:]
        /// Objects filed by key read ahead (``prefetch(kinds:keys:)``), by kind and key, in id
        /// order; a kind's are forgotten once this transaction puts or deletes an object of it.
        private var byKey: [String: [String: [StoredObject]]] = [:]
        /// The last record inserted or looked up, and its row: a batch's shares and slots follow
        /// their record.
        private var lastRow: (record: RecordID, id: Int64)?

        init(connection: PostgresConnection, schema: String) {
            self.connection = connection
            self.s = schema
        }

        @discardableResult
        private func run(_ query: PostgresQuery) async throws -> Rows {
            try await connection.fetch(query, logger: PostgresDatabase.logger)
        }

        /// Whether a flush failed: the transaction may then only roll back, never commit part.
        private var failed = false

        /// Sends the inserts held back: before a read of their tables, and before the commit.
        /// Once one fails, every later flush (the commit's included) fails too.
        func flush() async throws {
            guard !failed else {
                throw TutelaError(
                    .internal, "a write of this transaction failed; it was rolled back")
            }
            do {
                try await pending.flush(on: connection, schema: s)
            } catch {
                failed = true
                throw error
            }
            // Objects written are in the database now; the memory of them is kept within bounds —
            // but not of those found absent, which a later put must insert only if still absent.
            if seen.count > Self.seenLimit { seen = seen.filter { $0.value == nil } }
        }

        /// Objects remembered before the memory of them is let go (at a flush).
        static let seenLimit = 65_536

        /// Sends the inserts held back once there are enough of them.
        private func flushIfFull() async throws {
            if pending.isFull { try await flush() }
        }

        private static func key(_ kind: String, _ id: String) -> String { "\(kind)\u{0}\(id)" }

        /// Whether `query` returned a row (its `RETURNING` clause): whether it changed one.
        private func changed(_ query: PostgresQuery) async throws -> Bool {
            try await !run(query).isEmpty
        }

        func create(_ meta: VaultMeta) async throws {
            guard
                try await changed(
                    """
                    INSERT INTO \(unescaped: s).vault
                        (id, vault_id, authority_id, authority_key, kdf, created_at)
                    VALUES (1, \(meta.vaultID), \(meta.authorityID.text),
                        \(bytea(meta.authoritySigningKey)), \(meta.kdfProfile), \(meta.createdAt))
                    ON CONFLICT (id) DO NOTHING RETURNING id
                    """)
            else { throw TutelaError(.exists, "a vault exists here already") }
        }

        func lastLink(_ chain: ChainName) async throws -> ChainLink? {
            // Every chain's at once: a transaction that reads one nearly always reads the other.
            if headsRead { return heads[chain] }
            try await flush()
            heads = try await PostgresVaultStore.lastLinks(schema: s, on: connection)
            headsRead = true
            return heads[chain]
        }

        func link(_ chain: ChainName, at sequence: Int64) async throws -> ChainLink? {
            try await flush()
            return try await PostgresVaultStore.links(
                run(
                    """
                    SELECT \(unescaped: PostgresVaultStore.linkColumns)
                    FROM \(unescaped: s).\(unescaped: chain.rawValue) WHERE seq = \(sequence)
                    """)
            ).first
        }

        func append(_ link: ChainLink, to chain: ChainName) async throws {
            // A chain takes only its next link: a gap or a second link at one number would fork
            // it. The writer lock makes this check and the insert one step; the primary key
            // refuses a second link at one number even from a writer that skipped the lock.
            guard link.sequence == (try await lastLink(chain)?.sequence ?? -1) + 1 else {
                throw PostgresErrors.movedOn(chain)
            }
            // Sent with the transaction's other inserts; one at a taken number is refused then.
            pending.add(link, to: chain)
            try await flushIfFull()
            heads[chain] = link
        }

        func insert(_ identity: SealedIdentity) async throws {
            guard try await changed(insertIdentity(identity, replacing: false)) else {
                throw TutelaError(.exists, "\(identity.principal) has keys already")
            }
        }

        func replace(_ identity: SealedIdentity) async throws {
            try await run(insertIdentity(identity, replacing: true))
        }

        private func insertIdentity(_ identity: SealedIdentity, replacing: Bool) -> PostgresQuery {
            let conflict =
                replacing
                ? """
                DO UPDATE SET signing_key = EXCLUDED.signing_key,
                    agreement_key = EXCLUDED.agreement_key, salt = EXCLUDED.salt,
                    ops = EXCLUDED.ops, mem = EXCLUDED.mem, nonce = EXCLUDED.nonce,
                    ciphertext = EXCLUDED.ciphertext
                """ : "DO NOTHING"
            return """
                INSERT INTO \(unescaped: s).identities
                    (principal, signing_key, agreement_key, salt, ops, mem, nonce, ciphertext)
                VALUES (\(identity.principal.text), \(bytea(identity.signingKey)),
                    \(bytea(identity.agreementKey)), \(bytea(identity.salt)),
                    \(Int64(clamping: identity.opsLimit)), \(Int64(clamping: identity.memLimit)),
                    \(bytea(identity.nonce)), \(bytea(identity.ciphertext)))
                ON CONFLICT (principal) \(unescaped: conflict) RETURNING principal
                """
        }

        func sealedIdentity(_ principal: PrincipalID) async throws -> SealedIdentity? {
            try await PostgresVaultStore.sealedIdentity(principal, schema: s, on: connection)
        }

        /// The row of `record`'s label, or nil when there is no such record.
        private func row(_ record: RecordID) async throws -> Int64? {
            // Before the cache: what follows (a delete) must see the inserts held back.
            try await flush()
            if let lastRow, lastRow.record == record { return lastRow.id }
            for id in try await run(
                "SELECT id FROM \(unescaped: s).labels WHERE record = \(record.text)"
            ).decode(Int64.self) {
                lastRow = (record, id)
                return id
            }
            return nil
        }

        func insert(_ record: StoredRecord, learner: LearnerID, author: PrincipalID) async throws {
            pending.add(record, learner: learner, author: author)
            try await flushIfFull()
        }

        func insert(_ slot: Slot) async throws {
            pending.add(slot)
            try await flushIfFull()
        }

        func deleteSlot(record: RecordID, recipient: Recipient) async throws {
            guard let id = try await row(record) else { return }
            try await run(
                """
                DELETE FROM \(unescaped: s).slots
                WHERE id = \(id) AND recipient = \(recipient.description)
                """)
        }

        func slots(recipient: Recipient) async throws -> [Slot] {
            try await flush()
            return try await PostgresVaultStore.slots(
                recipient: recipient, limit: Int.max, schema: s, on: connection)
        }

        func replaceEnvelope(record: RecordID, sealed: [UInt8]) async throws {
            guard let id = try await row(record),
                try await changed(
                    """
                    UPDATE \(unescaped: s).envelopes SET body = \(bytea(sealed))
                    WHERE id = \(id) RETURNING id
                    """)
            else { throw TutelaError(.notFound, "there is no record \(record)") }
        }

        func shred(_ record: RecordID) async throws {
            guard let id = try await row(record) else { return }
            try await run("DELETE FROM \(unescaped: s).slots WHERE id = \(id)")
            try await run("DELETE FROM \(unescaped: s).envelopes WHERE id = \(id)")
        }

        func put(_ object: StoredObject) async throws {
            let key = Self.key(object.kind, object.id)
            var absent = false
            if case .some(.none) = seen[key] { absent = true }
            seen[key] = .some(object)
            byKey[object.kind] = nil
            pending.add(object, key: key, fresh: absent)
            try await flushIfFull()
        }

        func put(_ share: StoredShare) async throws {
            pending.add(share)
            try await flushIfFull()
        }

        func deleteShare(record: RecordID, holder: Recipient) async throws {
            guard let id = try await row(record) else { return }
            try await run(
                """
                DELETE FROM \(unescaped: s).shares
                WHERE id = \(id) AND holder = \(holder.description)
                """)
        }

        func shares(record: RecordID) async throws -> [StoredShare] {
            try await flush()
            return try await PostgresVaultStore.shares(record: record, schema: s, on: connection)
        }

        func deleteObject(kind: String, id: String) async throws {
            let key = Self.key(kind, id)
            seen[key] = .some(nil)
            byKey[kind] = nil
            pending.drop(objectKey: key)
            try await run(
                "DELETE FROM \(unescaped: s).objects WHERE kind = \(kind) AND id = \(id)")
        }

        func object(kind: String, id: String) async throws -> StoredObject? {
            if let known = seen[Self.key(kind, id)] { return known }
            let found = try await PostgresVaultStore.objects(
                run(
                    """
                    SELECT kind, id, key, body FROM \(unescaped: s).objects
                    WHERE kind = \(kind) AND id = \(id)
                    """)
            ).first
            seen[Self.key(kind, id)] = .some(found)
            return found
        }

        /// Reads the rows not known yet in one statement per 4,096, and remembers each (or that it
        /// is not there) for ``object(kind:id:)``.
        func prefetch(kind: String, ids: [String]) async throws {
            let wanted = Set(ids.filter { seen[Self.key(kind, $0)] == nil }).sorted()
            for start in stride(from: 0, to: wanted.count, by: 4096) {
                let chunk = Array(wanted[start..<min(start + 4096, wanted.count)])
                let rows = try await PostgresVaultStore.objects(
                    run(
                        """
                        SELECT kind, id, key, body FROM \(unescaped: s).objects
                        WHERE kind = \(kind) AND id = ANY(\(chunk))
                        """))
                var found: [String: StoredObject] = [:]
                for row in rows where row.kind == kind { found[row.id] = row }
                for id in chunk { seen[Self.key(kind, id)] = .some(found[id]) }
            }
        }

        func record(_ id: RecordID) async throws -> StoredRecord? {
            try await flush()
            return try await PostgresVaultStore.record(id, schema: s, on: connection)
        }

        /// Reads every object of `kinds` filed under `keys` in one statement, and remembers them
        /// (and the pairs with none) for ``objects(kind:key:)``.
        func prefetch(kinds: [String], keys: [String]) async throws {
            let (kinds, keys) = (Array(Set(kinds)), Array(Set(keys)))
            guard !kinds.isEmpty, !keys.isEmpty else { return }
            try await flush()
            let rows = try await PostgresVaultStore.objects(
                run(
                    """
                    SELECT kind, id, key, body FROM \(unescaped: s).objects
                    WHERE kind = ANY(\(kinds)) AND key = ANY(\(keys)) ORDER BY id
                    """))
            for kind in kinds { for key in keys { byKey[kind, default: [:]][key] = [] } }
            for row in rows { byKey[row.kind, default: [:]][row.key, default: []].append(row) }
        }

        func objects(kind: String, key: String) async throws -> [StoredObject] {
            if let known = byKey[kind]?[key] { return known }
            try await flush()
            return try await PostgresVaultStore.objects(
                kind: kind, key: key, schema: s, on: connection)
        }
    }
}
