import Logging
import NIOCore
import PostgresNIO
import Tutela

/// A transaction's inserts of labels, envelopes, slots, shares, objects and chain links, held until the
/// transaction next reads one of those tables, reaches a size, or commits, then sent as
/// multi-row statements (`INSERT … SELECT … FROM unnest(…)`): one per table for labels, envelopes,
/// slots and shares, and one for the objects and both chains together.
///
/// Every statement is a round trip to the server, and a sealed record is a dozen of them; sent
/// together, a batch of records costs a handful. The statements check what the single inserts
/// checked, row for row: each must insert exactly the rows given (a label or slot already there is
/// `.exists`; a slot, share or envelope whose record has no label is `.invalidInput`; a chain link
/// at a taken sequence number is `.tryAgain`), or the whole transaction fails. A refusal is thrown
/// when the rows are sent, still inside the transaction, which then rolls back: no write of it
/// lands.
struct PendingWrites {
    var labels: [(record: String, learner: String, author: String, label: ByteBuffer)] = []
    var envelopes: [(record: String, body: ByteBuffer)] = []
    var slots: [(record: String, recipient: String, box: ByteBuffer)] = []
    /// Shares replace one another by record and holder: the last put of a pair is kept.
    var shares: [String: (record: String, holder: String, body: ByteBuffer)] = [:]
    var shareOrder: [String] = []
    var links: [ChainName: [ChainLink]] = [:]
    /// Objects replace one another by kind and id: the last put of one is kept.
    var objects: [String: StoredObject] = [:]
    var objectOrder: [String] = []
    /// Held objects this transaction found absent from the database (read, or deleted, before it
    /// put them): inserted only if still absent — one that appeared meanwhile was written by
    /// someone who did not take the writer lock, and is reported, not overwritten.
    var freshObjects: Set<String> = []
    /// Bytes held, to bound the memory a long transaction (a migration) takes.
    var bytes = 0

    /// Rows held before they are sent regardless: a statement's parameters stay small.
    static let rowLimit = 2048
    static let byteLimit = 8 << 20

    var isEmpty: Bool {
        labels.isEmpty && envelopes.isEmpty && slots.isEmpty && shares.isEmpty
            && links.values.allSatisfy(\.isEmpty) && objects.isEmpty
    }

    var isFull: Bool {
        bytes >= Self.byteLimit
            || max(labels.count, envelopes.count, slots.count, shares.count, objects.count)
                >= Self.rowLimit
            || links.values.contains { $0.count >= Self.rowLimit }
    }

    mutating func add(_ record: StoredRecord, learner: LearnerID, author: PrincipalID) {
        labels.append(
            (record.record.text, learner.text, author.text, ByteBuffer(bytes: record.labelBytes)))
        envelopes.append((record.record.text, ByteBuffer(bytes: record.sealedBytes)))
        bytes += record.labelBytes.count + record.sealedBytes.count
        for slot in record.slots { add(slot) }
    }

    mutating func add(_ slot: Slot) {
        slots.append((slot.record.text, slot.recipient.description, ByteBuffer(bytes: slot.box)))
        bytes += slot.box.count
    }

    mutating func add(_ share: StoredShare) {
        let key = "\(share.record.text)\u{0}\(share.holder.description)"
        if shares[key] == nil { shareOrder.append(key) }
        shares[key] = (share.record.text, share.holder.description, ByteBuffer(bytes: share.body))
        bytes += share.body.count
    }

    mutating func add(_ object: StoredObject, key: String, fresh: Bool) {
        if fresh { freshObjects.insert(key) }
        if objects[key] == nil { objectOrder.append(key) }
        objects[key] = object
        bytes += object.body.count + object.id.utf8.count + object.key.utf8.count
    }

    /// Forgets a held put of an object that is being deleted.
    mutating func drop(objectKey key: String) {
        guard objects.removeValue(forKey: key) != nil else { return }
        freshObjects.remove(key)
        objectOrder.removeAll { $0 == key }
    }

    mutating func add(_ link: ChainLink, to chain: ChainName) {
        links[chain, default: []].append(link)
        bytes += link.body.count + link.signature.count + 96
    }

    /// Sends everything held, in dependency order, and empties the buffer.
    mutating func flush(on connection: PostgresConnection, schema s: String) async throws {
        guard !isEmpty else { return }
        let held = self
        self = PendingWrites()
        if !held.labels.isEmpty {
            // In the order they were stored: their ids are drawn row by row, and the state
            // chains labels in id order.
            let inserted = try await connection.fetch(
                """
                INSERT INTO \(unescaped: s).labels (record, learner, author, label)
                SELECT u.record, u.learner, u.author, u.label
                FROM unnest(\(held.labels.map(\.record)), \(held.labels.map(\.learner)),
                    \(held.labels.map(\.author)), \(held.labels.map(\.label)))
                    WITH ORDINALITY AS u(record, learner, author, label, n)
                ORDER BY u.n
                ON CONFLICT (record) DO NOTHING RETURNING record
                """
            ).rows.count
            guard inserted == held.labels.count else {
                throw TutelaError(.exists, "a record being stored is stored already")
            }
        }
        if !held.envelopes.isEmpty {
            let inserted = try await connection.fetch(
                """
                INSERT INTO \(unescaped: s).envelopes (id, body)
                SELECT l.id, u.body FROM unnest(\(held.envelopes.map(\.record)),
                    \(held.envelopes.map(\.body))) AS u(record, body)
                JOIN \(unescaped: s).labels l ON l.record = u.record
                RETURNING id
                """
            ).rows.count
            guard inserted == held.envelopes.count else {
                throw TutelaError(
                    .invalidInput, "the vault refused an inconsistent change: an envelope's record")
            }
        }
        if !held.slots.isEmpty {
            try await Self.insert(held.slots, on: connection, schema: s)
        }
        if !held.shares.isEmpty {
            let shares = held.shareOrder.compactMap { held.shares[$0] }
            let stored = try await connection.fetch(
                """
                INSERT INTO \(unescaped: s).shares (id, holder, body)
                SELECT l.id, u.holder, u.body FROM unnest(\(shares.map(\.record)),
                    \(shares.map(\.holder)), \(shares.map(\.body))) AS u(record, holder, body)
                JOIN \(unescaped: s).labels l ON l.record = u.record
                ON CONFLICT (id, holder) DO UPDATE SET body = EXCLUDED.body RETURNING id
                """
            ).rows.count
            guard stored == shares.count else {
                throw TutelaError(
                    .invalidInput,
                    "the vault refused an inconsistent change: a break-glass share of a record that is not stored"
                )
            }
        }
        try await Self.insertObjectsAndLinks(held, on: connection, schema: s)
    }

    /// Sends the held objects and chain links in one statement (each insert a data-modifying
    /// `WITH` part; none reads another's rows), then checks each part's count: a fresh object
    /// found there already is tampering, a link at a taken number a log that moved on.
    static func insertObjectsAndLinks(
        _ held: PendingWrites, on connection: PostgresConnection, schema s: String
    ) async throws {
        var binds = PostgresBindings()
        func bind<V: PostgresThrowingDynamicTypeEncodable>(_ value: V) throws -> String {
            try binds.append(value)
            return "$\(binds.count)"
        }
        func insert(_ objects: [StoredObject]) throws -> String {
            """
            INSERT INTO \(s).objects (kind, id, key, body)
            SELECT * FROM unnest(\(try bind(objects.map(\.kind))), \(try bind(objects.map(\.id))),
                \(try bind(objects.map(\.key))), \(try bind(objects.map { bytea($0.body) })))
            """
        }
        var parts: [String] = []
        // What each counted part (the fresh objects, a chain's links) must have inserted, in the
        // order its count is selected.
        var counted: [(name: String, chain: ChainName?, rows: Int)] = []
        let fresh = held.objectOrder.filter(held.freshObjects.contains).compactMap {
            held.objects[$0]
        }
        if !fresh.isEmpty {
            parts.append(
                "fresh AS (\(try insert(fresh)) ON CONFLICT (kind, id) DO NOTHING RETURNING 1)")
            counted.append(("fresh", nil, fresh.count))
        }
        let replacing = held.objectOrder.filter { !held.freshObjects.contains($0) }.compactMap {
            held.objects[$0]
        }
        if !replacing.isEmpty {
            parts.append(
                """
                replacing AS (\(try insert(replacing))
                ON CONFLICT (kind, id) DO UPDATE SET key = EXCLUDED.key, body = EXCLUDED.body)
                """)
        }
        for chain in ChainName.allCases {
            guard let links = held.links[chain], !links.isEmpty else { continue }
            parts.append(
                """
                chain_\(chain.rawValue) AS (
                    INSERT INTO \(s).\(chain.rawValue) (seq, prev_hash, signer, body, signature, hash)
                    SELECT * FROM unnest(\(try bind(links.map(\.sequence))),
                        \(try bind(links.map { bytea($0.previousHash) })),
                        \(try bind(links.map(\.signer.text))), \(try bind(links.map { bytea($0.body) })),
                        \(try bind(links.map { bytea($0.signature) })),
                        \(try bind(links.map { bytea($0.hash) })))
                    ON CONFLICT (seq) DO NOTHING RETURNING 1)
                """)
            counted.append(("chain_\(chain.rawValue)", chain, links.count))
        }
        guard !parts.isEmpty else { return }
        let counts =
            counted.isEmpty
            ? "1"
            : counted.map { "(SELECT count(*) FROM \($0.name))" }
                .joined(separator: ", ")
        let rows = try await connection.fetch(
            PostgresQuery(
                unsafeSQL: "WITH \(parts.joined(separator: ", ")) SELECT \(counts)", binds: binds),
            logger: PostgresDatabase.logger)
        guard rows.rows.count == 1 else {
            throw PostgresErrors.damaged("a write was answered with \(rows.rows.count) rows")
        }
        let cells = rows.rows[0].makeRandomAccess()
        for (index, part) in counted.enumerated()
        where try cells[index].decode(Int64.self) != Int64(part.rows) {
            guard let chain = part.chain else {
                throw TutelaError(
                    .tampered,
                    "a row appeared in the vault while a change was written: something wrote to "
                        + "the database without the writer lock",
                    hint: "the vault was altered outside Tutela; keep it as evidence")
            }
            throw PostgresErrors.movedOn(chain)
        }
    }

    /// Inserts slots, telling a slot that is there already (`.exists`) from one whose record is
    /// not (`.invalidInput`).
    static func insert(
        _ slots: [(record: String, recipient: String, box: ByteBuffer)],
        on connection: PostgresConnection, schema s: String
    ) async throws {
        let records = slots.map(\.record)
        let inserted = try await connection.fetch(
            """
            INSERT INTO \(unescaped: s).slots (id, recipient, box)
            SELECT l.id, u.recipient, u.box FROM unnest(\(records), \(slots.map(\.recipient)),
                \(slots.map(\.box))) AS u(record, recipient, box)
            JOIN \(unescaped: s).labels l ON l.record = u.record
            ON CONFLICT (id, recipient) DO NOTHING RETURNING id
            """
        ).rows.count
        guard inserted != slots.count else { return }
        let known = try await connection.fetch(
            """
            SELECT count(DISTINCT record) FROM \(unescaped: s).labels
            WHERE record = ANY(\(Array(Set(records))))
            """
        ).decode(Int64.self).first
        guard known == Int64(Set(records).count) else {
            throw TutelaError(
                .invalidInput, "the vault refused an inconsistent change: a slot's record")
        }
        throw TutelaError(.exists, "a key slot being stored is stored already")
    }
}
