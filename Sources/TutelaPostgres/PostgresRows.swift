import Logging
import NIOCore
import PostgresNIO
import Tutela

/// Reading rows into the store protocol's values; a row that names something by what is not an id
/// is tampering (65), as on SQLite.
extension PostgresVaultStore {
    static let linkColumns = "seq, prev_hash, signer, body, signature, hash"

    static func links(_ rows: Rows) async throws -> [ChainLink] {
        var links: [ChainLink] = []
        for (seq, previous, signer, body, signature, hash) in try rows.decode(
            (Int64, ByteBuffer, String, ByteBuffer, ByteBuffer, ByteBuffer).self)
        {
            links.append(
                ChainLink(
                    sequence: seq, previousHash: previous.bytes, signer: try storedID(signer),
                    body: body.bytes, signature: signature.bytes, hash: hash.bytes))
        }
        return links
    }

    static func lastLink(_ chain: ChainName, schema s: String, on connection: PostgresConnection)
        async throws -> ChainLink?
    {
        try await links(
            connection.fetch(
                """
                SELECT \(unescaped: linkColumns) FROM \(unescaped: s).\(unescaped: chain.rawValue)
                ORDER BY seq DESC LIMIT 1
                """, logger: PostgresDatabase.logger)
        ).first
    }

    /// The last link of every chain, in one statement: a chain with none has no entry.
    static func lastLinks(schema s: String, on connection: PostgresConnection)
        async throws -> [ChainName: ChainLink]
    {
        let query = ChainName.allCases.map {
            """
            (SELECT '\($0.rawValue)'::text, \(linkColumns) FROM \(s).\($0.rawValue)
            ORDER BY seq DESC LIMIT 1)
            """
        }.joined(separator: " UNION ALL ")
        var heads: [ChainName: ChainLink] = [:]
        for (chain, seq, previous, signer, body, signature, hash) in try await connection.fetch(
            PostgresQuery(unsafeSQL: query), logger: PostgresDatabase.logger
        ).decode((String, Int64, ByteBuffer, String, ByteBuffer, ByteBuffer, ByteBuffer).self) {
            guard let name = ChainName(rawValue: chain) else { continue }
            heads[name] = ChainLink(
                sequence: seq, previousHash: previous.bytes, signer: try storedID(signer),
                body: body.bytes, signature: signature.bytes, hash: hash.bytes)
        }
        return heads
    }

    static func sealedIdentity(
        _ principal: PrincipalID, schema s: String, on connection: PostgresConnection
    ) async throws -> SealedIdentity? {
        let rows = try await connection.fetch(
            """
            SELECT principal, signing_key, agreement_key, salt, ops, mem, nonce, ciphertext
            FROM \(unescaped: s).identities WHERE principal = \(principal.text)
            """, logger: PostgresDatabase.logger)
        for (id, signing, agreement, salt, ops, mem, nonce, ciphertext) in try rows.decode(
            (
                String, ByteBuffer, ByteBuffer, ByteBuffer, Int64, Int64, ByteBuffer, ByteBuffer
            ).self)
        {
            return SealedIdentity(
                principal: try storedID(id), signingKey: signing.bytes,
                agreementKey: agreement.bytes, salt: salt.bytes,
                opsLimit: UInt64(clamping: ops), memLimit: UInt64(clamping: mem),
                nonce: nonce.bytes, ciphertext: ciphertext.bytes)
        }
        return nil
    }

    /// A record's label, envelope and slots; nil without an envelope. Run in one snapshot.
    static func record(_ id: RecordID, schema s: String, on connection: PostgresConnection)
        async throws -> StoredRecord?
    {
        // One round trip: the slots come as two arrays in recipient order (none: NULL).
        let rows = try await connection.fetch(
            """
            SELECT l.label, e.body, s.recipients, s.boxes FROM \(unescaped: s).labels l
            JOIN \(unescaped: s).envelopes e ON e.id = l.id
            CROSS JOIN LATERAL (
                SELECT array_agg(recipient ORDER BY recipient) AS recipients,
                    array_agg(box ORDER BY recipient) AS boxes
                FROM \(unescaped: s).slots WHERE slots.id = l.id) s
            WHERE l.record = \(id.text)
            """, logger: PostgresDatabase.logger)
        var found: StoredRecord?
        for (label, sealed, recipients, boxes) in try rows.decode(
            (ByteBuffer, ByteBuffer, [String]?, [ByteBuffer]?).self)
        {
            let (recipients, boxes) = (recipients ?? [], boxes ?? [])
            guard recipients.count == boxes.count else {
                throw PostgresErrors.damaged("a record's slots came back uneven")
            }
            var slots: [Slot] = []
            for (recipient, box) in zip(recipients, boxes) {
                slots.append(
                    Slot(record: id, recipient: try Self.recipient(recipient), box: box.bytes))
            }
            found = StoredRecord(
                record: id, labelBytes: label.bytes, sealedBytes: sealed.bytes, slots: slots)
        }
        return found
    }

    /// Label rows (id, record, learner, label), and the last row id.
    static func labels(_ rows: Rows) async throws -> (
        labels: [StoredLabel], last: Int64?
    ) {
        var labels: [StoredLabel] = []
        var last: Int64?
        for (row, record, learner, label) in try rows.decode(
            (Int64, String, String, ByteBuffer).self)
        {
            last = row
            labels.append(
                StoredLabel(
                    record: try storedID(record), learner: try storedID(learner),
                    labelBytes: label.bytes))
        }
        return (labels, last)
    }

    static func shares(_ rows: Rows) async throws -> [StoredShare] {
        var shares: [StoredShare] = []
        for (record, holder, body) in try rows.decode((String, String, ByteBuffer).self) {
            let record: RecordID = try storedID(record)
            guard let holder = Recipient(holder) else {
                throw PostgresErrors.damaged("a share of \(record) names no holder")
            }
            shares.append(StoredShare(record: record, holder: holder, body: body.bytes))
        }
        return shares
    }

    static func shares(record: RecordID, schema s: String, on connection: PostgresConnection)
        async throws -> [StoredShare]
    {
        try await shares(
            connection.fetch(
                """
                SELECT l.record, h.holder, h.body FROM \(unescaped: s).shares h
                JOIN \(unescaped: s).labels l ON l.id = h.id
                WHERE l.record = \(record.text) ORDER BY h.holder
                """, logger: PostgresDatabase.logger))
    }

    /// The recipient's slots in label-row order.
    static func slots(
        recipient: Recipient, limit: Int, schema s: String, on connection: PostgresConnection
    ) async throws -> [Slot] {
        var slots: [Slot] = []
        for (record, box) in try await connection.fetch(
            """
            SELECT l.record, t.box FROM \(unescaped: s).slots t
            JOIN \(unescaped: s).labels l ON l.id = t.id
            WHERE t.recipient = \(recipient.description) ORDER BY t.id
            LIMIT \(Int64(clamping: limit))
            """, logger: PostgresDatabase.logger
        ).decode((String, ByteBuffer).self) {
            slots.append(Slot(record: try storedID(record), recipient: recipient, box: box.bytes))
        }
        return slots
    }

    static func objects(
        kind: String, key: String?, schema s: String, on connection: PostgresConnection
    ) async throws -> [StoredObject] {
        let query: PostgresQuery =
            if let key {
                """
                SELECT kind, id, key, body FROM \(unescaped: s).objects
                WHERE kind = \(kind) AND key = \(key) ORDER BY id
                """
            } else {
                """
                SELECT kind, id, key, body FROM \(unescaped: s).objects
                WHERE kind = \(kind) ORDER BY id
                """
            }
        return try await objects(connection.fetch(query, logger: PostgresDatabase.logger))
    }

    static func objects(_ rows: Rows) async throws -> [StoredObject] {
        var objects: [StoredObject] = []
        for (kind, id, key, body) in try rows.decode(
            (String, String, String, ByteBuffer).self)
        {
            objects.append(StoredObject(kind: kind, id: id, key: key, body: body.bytes))
        }
        return objects
    }

    static func storedID<Kind>(_ text: String) throws -> ID<Kind> {
        guard let id = ID<Kind>(validating: text) else {
            throw PostgresErrors.damaged(
                "a row names a \(Kind.noun) by something that is not an id")
        }
        return id
    }

    static func recipient(_ text: String) throws -> Recipient {
        guard let recipient = Recipient(text) else {
            throw PostgresErrors.damaged("a key slot names no recipient")
        }
        return recipient
    }
}
