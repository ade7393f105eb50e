import TutelaCrypto

/// The state's index of one subject's audit entries (`A:SUBJECT`): how many entries about it the
/// log holds, beyond the one that sealed its record, where the newest is, and a chain over them
/// all; and, for a record, where the entry that sealed it is, with that entry's content digest.
/// Each entry names the one before it about the same subject (``AuditEntry/previous``), so a
/// record's entries are read newest first without the rest of the log, and the index — in the
/// state the newest entry signs — shows none was left out, added, changed or moved.
struct SubjectIndex: Sendable, Equatable {
    /// Entries about the subject (its record's sealing not counted).
    private(set) var count: Int64 = 0
    /// The newest one's position in the log; -1 for none.
    private(set) var newest: Int64 = -1
    /// `chainₙ = BLAKE2b-256(string "tutela-subject-audit-v1" ‖ fixed(32) chainₙ₋₁ ‖ i64 position
    /// ‖ fixed(32) the entry's content digest)`, from 32 zero bytes.
    private(set) var chain = StateMap.zero
    /// The position of the entry that sealed the subject, a record (-1: none), and its content
    /// digest (zeros for none): bound when the index is made, the sealing being left out of it.
    private(set) var sealing: Int64 = -1
    private(set) var sealingDigest = StateMap.zero

    init() {}

    /// The index a state value holds (nil: none yet).
    init(_ value: [UInt8]?, subject: String) throws(TutelaError) {
        guard let value else { return }
        var r = CanonicalReader(value, context: "the state's index of \(subject)'s audit entries")
        count = try r.i64("count")
        newest = try r.i64("newest")
        chain = try r.fixed("chain", count: 32)
        sealing = try r.i64("sealing")
        sealingDigest = try r.fixed("sealing digest", count: 32)
        try r.finish()
        guard count > 0, newest >= 0, sealing >= -1 else {
            throw .tampered("the state's index of \(subject)'s audit entries is malformed")
        }
    }

    /// Its value in the state: i64 count ‖ i64 newest ‖ fixed(32) chain ‖ i64 sealing ‖ fixed(32)
    /// sealing digest.
    var value: [UInt8] {
        var w = CanonicalWriter(capacity: 88)
        w.i64(count)
        w.i64(newest)
        w.fixed(chain)
        w.i64(sealing)
        w.fixed(sealingDigest)
        return w.bytes
    }

    /// The same counts and chain with a record's sealing bound: as a writer binds it, and as
    /// `audit verify`, which rebuilds the rest from the log, states what the map must hold once it
    /// has checked that sealing.
    func with(sealing sequence: Int64, digest: [UInt8]) -> SubjectIndex {
        var index = self
        index.sealing = sequence
        index.sealingDigest = digest
        return index
    }

    /// The index after `entry`, at `sequence`, whose ``AuditEntry/previous`` must be the newest.
    mutating func append(_ entry: AuditEntry, at sequence: Int64) throws(TutelaError) {
        guard entry.previous == newest, sequence > newest else {
            throw .tampered(
                "audit entry \(sequence) does not follow the entry before it about "
                    + "\(entry.subject ?? "its subject")")
        }
        var w = CanonicalWriter(capacity: 108)
        w.string("tutela-subject-audit-v1")
        w.fixed(chain)
        w.i64(sequence)
        w.fixed(try entry.contentDigest())
        chain = try StateMap.hash(w.bytes)
        count += 1
        newest = sequence
    }

    /// Whether `entry` is the one that sealed its subject, a record whose label the same
    /// transaction filed just before it (`labelAdded`): kept out of the count and chain, which
    /// would otherwise cost every sealed record a write to the map. An ``ObjectKind/auditMade`` row
    /// says where it is until the record's first other entry binds it into the index.
    static func isSealing(_ entry: AuditEntry, labelAdded: Bool) -> Bool {
        labelAdded && entry.outcome == .allowed
            && (entry.action == .seal || entry.action == .addendum)
    }

    /// Whether `entry` can be the sealing of `subject`: about it, allowed, a `seal` or `addendum`,
    /// linked to no entry before it. (Which label it filed is for the caller.)
    static func seals(_ entry: AuditEntry, _ subject: String) -> Bool {
        entry.subject == subject && entry.previous == -1 && isSealing(entry, labelAdded: true)
    }

    /// The entry that sealed `subject`, for its index to bind, when it is a record stored here
    /// (`label`, if the caller has read it; else read through `tx`): found through the record's
    /// `audit-made` row, and shown to be a sealing of the record by its label's author with its
    /// hash intact — else tampering, as is a stored record with no such row. Nil for any other
    /// subject, whatever rows name it. Its signature is not checked here: every reading of the
    /// index checks the entry it binds, and `audit verify` the chain it sits in.
    static func sealing(of subject: String, label: [UInt8]?, in tx: any VaultTransaction)
        async throws -> (sequence: Int64, digest: [UInt8])?
    {
        guard let id = RecordID(validating: subject) else { return nil }
        var label = label
        if label == nil { label = try await tx.record(id)?.labelBytes }
        guard let label else { return nil }
        let author = try Label.parse(label).author
        let rows = try await tx.objects(kind: ObjectKind.auditMade, key: subject)
        guard let row = rows.first else {
            throw TutelaError.tampered("the log's entry that sealed \(subject) is not recorded")
        }
        guard rows.count == 1 else {
            throw TutelaError.tampered("the log's entry that sealed \(subject) is recorded twice")
        }
        let sequence = try made(row)
        guard let link = try await tx.link(.audit, at: sequence), link.sequence == sequence,
            SignedChain.checkHash(link, in: .audit),
            let entry = try? AuditEntry.parse(link.body, context: "audit entry \(sequence)"),
            entry.actor == link.signer, entry.actor == author, seals(entry, subject)
        else {
            throw TutelaError.tampered(
                "audit entry \(sequence) is not the one that sealed \(subject)")
        }
        return (sequence, try entry.contentDigest())
    }

    /// Files where the log holds the entry at `sequence`, which seals `record`. A row already
    /// named by that sequence was planted ahead of the entry: tampering, reported rather than
    /// overwritten.
    static func fileSealing(_ record: String, sequence: Int64, in tx: any VaultTransaction)
        async throws
    {
        let row = madeRow(record, sequence: sequence)
        guard try await tx.object(kind: row.kind, id: row.id) == nil else {
            throw TutelaError.tampered(
                "a row says where audit entry \(sequence) is before the entry was written")
        }
        try await tx.put(row)
    }

    /// The `audit-made` row for the entry at `sequence` that sealed `record`: u8 1 ‖ i64 sequence,
    /// filed under the record and named by the sequence in 20 digits, so that sealing appends these
    /// rows in log order (named by the random record id, each dirtied a random page of its own).
    static func madeRow(_ record: String, sequence: Int64) -> StoredObject {
        var w = CanonicalWriter(capacity: 9)
        w.u8(1)
        w.i64(sequence)
        return StoredObject(
            kind: ObjectKind.auditMade, id: madeName(sequence), key: record, body: w.bytes)
    }

    /// The id of the `audit-made` row for the entry at `sequence`: the sequence in 20 digits.
    static func madeName(_ sequence: Int64) -> String {
        let digits = String(sequence)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }

    /// The position an `audit-made` row gives.
    static func made(_ row: StoredObject) throws(TutelaError) -> Int64 {
        var r = CanonicalReader(row.body, context: "where the log holds \(row.id)'s sealing")
        guard try r.u8("version") == 1 else {
            throw .tampered("where the log holds \(row.id)'s sealing has an unknown version")
        }
        let sequence = try r.i64("sequence")
        try r.finish()
        return sequence
    }
}

/// The index of every subject as `audit verify` rebuilds it from the log, entry by entry, checking
/// each entry's link to the one before it about its subject; and, over the entries that filed
/// labels, a chain of the records they sealed, which must be the label rows' records in order.
struct SubjectReplay: Sendable {
    private(set) var subjects: [String: SubjectIndex] = [:]
    /// Labels the entries walked filed.
    private(set) var labels: Int64 = 0
    /// `BLAKE2b-256(string "tutela-sealed-records-v1" ‖ fixed(32) previous ‖ string record)` over
    /// the subjects of the entries that filed labels, in order, from 32 zero bytes.
    private(set) var sealed = StateMap.zero

    init() {}

    mutating func visit(_ entry: AuditEntry, at sequence: Int64) throws(TutelaError) {
        if entry.state.labelCount > labels {
            // One label per sealing, by the entry that seals its record and nothing else.
            guard entry.state.labelCount == labels + 1, let subject = entry.subject,
                SubjectIndex.seals(entry, subject)
            else {
                throw .tampered("audit entry \(sequence) files a label it does not seal")
            }
            labels = entry.state.labelCount
            sealed = try Self.chain(sealed, subject)
            return
        }
        guard let subject = entry.subject else {
            guard entry.previous == -1 else {
                throw .tampered(
                    "audit entry \(sequence) links to an entry before it it cannot have")
            }
            return
        }
        try subjects[subject, default: SubjectIndex()].append(entry, at: sequence)
    }

    /// ``sealed`` after one more record.
    static func chain(_ previous: [UInt8], _ record: String) throws(TutelaError) -> [UInt8] {
        var w = CanonicalWriter(capacity: 96)
        w.string("tutela-sealed-records-v1")
        w.fixed(previous)
        w.string(record)
        return try StateMap.hash(w.bytes)
    }
}
