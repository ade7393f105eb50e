public import TutelaCrypto

/// What a vault records about itself at `init`.
public struct VaultMeta: Sendable, Equatable {
    /// The vault's id, drawn at random at creation (32 hex digits); its directory names it too.
    public let vaultID: String
    /// The principal id of the vault's authority, which its directory must name too.
    public let authorityID: PrincipalID
    /// The authority's Ed25519 key, pinned: the directory's first statement must be signed by it.
    public let authoritySigningKey: [UInt8]
    /// The Argon2id profile new identities are sealed with.
    public let kdfProfile: String
    /// Seconds since 1970 UTC.
    public let createdAt: Int64

    /// Makes the metadata; nothing is checked here.
    public init(
        vaultID: String, authorityID: PrincipalID, authoritySigningKey: [UInt8], kdfProfile: String,
        createdAt: Int64
    ) {
        self.vaultID = vaultID
        self.authorityID = authorityID
        self.authoritySigningKey = authoritySigningKey
        self.kdfProfile = kdfProfile
        self.createdAt = createdAt
    }
}

/// A record as stored: the canonical label (for listing without reading envelopes), the envelope's
/// sealed part, and its key slots.
///
/// A store keeps the label once: the envelope's canonical encoding carries the label too, so the
/// core hands the store the envelope with its label field cut out (``sealedBytes``) and joins the
/// two again on reading (``envelopeBytes``). A store only keeps bytes; it never cuts or joins them.
public struct StoredRecord: Sendable, Equatable {
    /// The record id.
    public let record: RecordID
    /// The label's canonical encoding: the same bytes as the record's label row.
    public let labelBytes: [UInt8]
    /// The envelope's canonical encoding without its label field (``Envelope/sealedPart(of:)``).
    public let sealedBytes: [UInt8]
    /// The record's key slots, one per recipient.
    public let slots: [Slot]

    /// Makes a stored record from its parts; nothing is parsed or checked here.
    public init(record: RecordID, labelBytes: [UInt8], sealedBytes: [UInt8], slots: [Slot]) {
        self.record = record
        self.labelBytes = labelBytes
        self.sealedBytes = sealedBytes
        self.slots = slots
    }

    /// The envelope's canonical encoding: the sealed part with this record's label put back. A
    /// label or sealed part changed in the store no longer matches the signature over both.
    public var envelopeBytes: [UInt8] { Envelope.join(sealed: sealedBytes, label: labelBytes) }

    /// The same record with other slots.
    public func with(slots: [Slot]) -> StoredRecord {
        StoredRecord(record: record, labelBytes: labelBytes, sealedBytes: sealedBytes, slots: slots)
    }
}

/// A break-glass key share as stored: sealed to an approver group's key at one version, filed under
/// its record. Its body is a ``BoundBox`` bound to ``id``.
public struct StoredShare: Sendable, Equatable {
    /// The record whose key share this is.
    public let record: RecordID
    /// The group key version the share is sealed to.
    public let holder: Recipient
    /// The sealed share, which the store keeps as it is.
    public let body: [UInt8]

    /// Makes a share to store; nothing is checked here.
    public init(record: RecordID, holder: Recipient, body: [UInt8]) {
        self.record = record
        self.holder = holder
        self.body = body
    }

    /// The share's id, `RECORD/HOLDER`, which its box is bound to.
    public var id: ShareID { ShareID(record: record, holder: holder) }
}

/// Where the next page of labels starts: a position only the store that made it understands.
public struct LabelCursor: Sendable, Hashable {
    /// The store's own encoding of the position.
    public let position: String

    /// Wraps a store's position; only that store reads it back.
    public init(_ position: String) { self.position = position }
}

/// A label row as stored, with the columns a store indexes (learner) beside the canonical bytes.
public struct StoredLabel: Sendable, Equatable {
    /// The record id.
    public let record: RecordID
    /// The learner the record is about, which the store indexes for
    /// ``VaultStore/labels(learner:)``.
    public let learner: LearnerID
    /// The label's canonical encoding.
    public let labelBytes: [UInt8]

    /// Makes a label row; nothing is parsed or checked here.
    public init(record: RecordID, learner: LearnerID, labelBytes: [UInt8]) {
        self.record = record
        self.learner = learner
        self.labelBytes = labelBytes
    }
}

/// Where a vault keeps its data. Holds only sealed blobs, public keys, labels and signed chains —
/// never plaintext — so an implementation needs no cryptography and sees nothing secret.
///
/// Every method throws ``TutelaError`` only: `.tryAgain` when the store is busy or cannot write,
/// `.exists` when creating over an existing vault, `.notFound` when there is no vault.
public protocol VaultStore: Sendable {
    /// The vault's metadata; `.notFound` if there is no vault.
    func meta() async throws -> VaultMeta
    /// Up to `limit` links of `chain` from sequence number `from`, in order.
    func links(_ chain: ChainName, from: Int64, limit: Int) async throws -> [ChainLink]
    /// The last link of `chain`, or nil while it is empty.
    func lastLink(_ chain: ChainName) async throws -> ChainLink?
    /// A principal's sealed identity (public keys, and private keys sealed under their
    /// passphrase), or nil when none is stored for `principal`.
    func sealedIdentity(_ principal: PrincipalID) async throws -> SealedIdentity?
    /// A record with its envelope and key slots, or nil when there is none: never stored, or
    /// shredded (its label row alone remains, in ``labels(learner:)``).
    func record(_ id: RecordID) async throws -> StoredRecord?
    /// Labels, tombstones included, optionally only one learner's, in the order they were stored:
    /// every label's, the order of the vault's label chain (``StateHead``); one learner's, the
    /// order the state chains theirs in.
    func labels(learner: LearnerID?) async throws -> [StoredLabel]
    /// The labels of the records `author` sealed, tombstones included, in the order they were
    /// stored (the order the state chains them in).
    func labels(author: PrincipalID) async throws -> [StoredLabel]
    /// The label row of `record` (a destroyed record's included), or nil when there is none.
    func label(_ record: RecordID) async throws -> StoredLabel?
    /// A page of at most `limit` labels, from `cursor` (nil for the first page), in the order they
    /// were stored, and where the next page starts (nil after the last). Paging to the end yields
    /// each label once, oldest first — the order the vault's label chain is kept in (see
    /// ``StateHead``); reading them in pages keeps memory flat.
    func labels(from cursor: LabelCursor?, limit: Int) async throws -> (
        labels: [StoredLabel], next: LabelCursor?
    )
    /// The break-glass shares of `record`, ordered by holder.
    func shares(record: RecordID) async throws -> [StoredShare]
    /// A page of at most `limit` break-glass shares sealed to `holder`, following the share of
    /// record `after` (from the start when nil), in an order the store chooses and keeps from page
    /// to page: for work over every share sealed to one group key. Paging to the end yields each
    /// such share once.
    func shares(holder: Recipient, after: RecordID?, limit: Int) async throws -> [StoredShare]
    /// Every key slot addressed to `recipient` (a principal id or `group:ROLE#V`), up to `limit`.
    func slots(recipient: Recipient, limit: Int) async throws -> [Slot]
    /// How many boxes are sealed to `recipient`: key slots, and break-glass shares (a group's), counted
    /// without reading them.
    func boxCount(recipient: Recipient) async throws -> (slots: Int, shares: Int)
    /// How many records have contents (an envelope) stored under their label, counted without
    /// reading one: what `audit verify` holds against the labels less the destroyed, so none went
    /// missing (contents with no label row are not counted).
    func recordCount() async throws -> Int
    /// Stored objects of `kind`, optionally only those filed under `key`, ordered by id.
    func objects(kind: String, key: String?) async throws -> [StoredObject]
    /// Stored objects of `kind` filed under any of `keys`, in no particular order: one read where
    /// a proof needs many rows (the state buckets of a learner's hundred records).
    func objects(kind: String, keys: [String]) async throws -> [StoredObject]
    /// The stored objects of `kind` with any of `ids`, in no particular order: one read for the
    /// rows a batch may find (an import's index rows for its forms), where holding every row
    /// would grow with the vault.
    func objects(kind: String, ids: [String]) async throws -> [StoredObject]
    /// A record's shred key, from the separate key store; nil once destroyed. A fresh copy in
    /// protected memory, which the caller wipes.
    func shredKey(_ record: String) async throws -> SecretBytes?
    /// Adds shred keys to the key store, before the records that need them are written. The store
    /// copies them from protected memory straight into its own storage and keeps no other copy; the
    /// caller still owns (and wipes) `keys`.
    func putShredKeys(_ keys: [(record: String, key: SecretBytes)]) async throws
    /// Deletes shred keys from the key store: crypto-shredding. When it returns the keys are gone
    /// from the key store's files too, not only from its tables (no journal or free page keeps a
    /// copy).
    func deleteShredKeys(_ records: [String]) async throws
    /// Shred keys whose record no longer has an envelope (left by an interrupted destruction).
    func orphanShredKeys() async throws -> [String]
    /// The id of every shred key in the key store, ordered: what a copy of the vault copies.
    func shredKeyIDs() async throws -> [String]
    /// Every kind of stored object there is a row of, ordered: what a copy of the vault copies.
    func objectKinds() async throws -> [String]
    /// Runs `body` as one transaction: all of its writes land, or none do, and no other transaction
    /// of this vault commits between its reads and its writes (one writer at a time). When a
    /// transaction that deleted or replaced anything returns, the old bytes are gone from the
    /// store's files as well as its tables (a destroyed envelope must not linger in a journal). The body is
    /// asynchronous so that a store over a network database can implement it without blocking; it
    /// should still do no slow work of its own, since every other writer waits for it.
    func transaction<T: Sendable>(
        _ body: @escaping @Sendable (any VaultTransaction) async throws -> T
    ) async throws -> T
}

/// The writes available inside ``VaultStore/transaction(_:)``.
public protocol VaultTransaction {
    /// Creates the vault; `.exists` if one is there already.
    func create(_ meta: VaultMeta) async throws
    /// The last link of `chain`, including one appended earlier in this transaction; nil while
    /// the chain is empty.
    func lastLink(_ chain: ChainName) async throws -> ChainLink?
    /// Appends `link` to `chain`. Its sequence number must be exactly one past the last link's (0
    /// for an empty chain); anything else, a gap or a second link at one number, throws `.tryAgain`
    /// (another writer moved the chain on) and appends nothing. The store checks no hash or
    /// signature: Tutela does.
    func append(_ link: ChainLink, to chain: ChainName) async throws
    /// The link of `chain` at `sequence`, read inside this transaction; nil when there is none.
    func link(_ chain: ChainName, at sequence: Int64) async throws -> ChainLink?
    /// Stores a new principal's sealed identity; `.exists` if that principal has one already.
    func insert(_ identity: SealedIdentity) async throws
    /// Replaces a principal's sealed keys (a new passphrase, or new keys after a lost one).
    func replace(_ identity: SealedIdentity) async throws
    /// A principal's sealed keys, read inside this transaction (its own writes included).
    func sealedIdentity(_ principal: PrincipalID) async throws -> SealedIdentity?
    /// Stores a new record: its label row, filed under `learner` and `author`, its envelope and
    /// its key slots. `.exists` if a record with that id is stored already.
    func insert(_ record: StoredRecord, learner: LearnerID, author: PrincipalID) async throws
    /// Adds a key slot to an existing record.
    func insert(_ slot: Slot) async throws
    /// Deletes `record`'s key slot for `recipient`; does nothing when there is no such slot or
    /// record.
    func deleteSlot(record: RecordID, recipient: Recipient) async throws
    /// Every key slot sealed to `recipient`, as this transaction sees them: what a revocation or
    /// a re-key removes in the transaction that records it, so none stored meanwhile survives.
    func slots(recipient: Recipient) async throws -> [Slot]
    /// Replaces a record's envelope (a re-encryption under fresh keys) by its new sealed part
    /// (``StoredRecord/sealedBytes``); its label stays the same. `.notFound` when there is no
    /// such record.
    func replaceEnvelope(record: RecordID, sealed: [UInt8]) async throws
    /// Deletes a record's envelope and key slots; keeps its label row (the tombstone's label).
    func shred(_ record: RecordID) async throws
    /// Inserts or replaces an object.
    func put(_ object: StoredObject) async throws
    /// Inserts or replaces a break-glass share of an existing record (`.invalidInput` when there is
    /// no such record).
    func put(_ share: StoredShare) async throws
    /// Deletes `record`'s share sealed to `holder`; does nothing when there is none.
    func deleteShare(record: RecordID, holder: Recipient) async throws
    /// The break-glass shares of `record`, read inside this transaction, ordered by holder.
    func shares(record: RecordID) async throws -> [StoredShare]
    /// Deletes the object of `kind` with `id`; does nothing when there is none.
    func deleteObject(kind: String, id: String) async throws
    /// The object of `kind` with `id`, read inside this transaction (its own writes included), or
    /// nil when there is none.
    func object(kind: String, id: String) async throws -> StoredObject?
    /// A record with its slots, read inside this transaction (so a decision and its audit entry
    /// see the same state).
    func record(_ id: RecordID) async throws -> StoredRecord?
    /// Objects of `kind` filed under `key`, read inside this transaction, ordered by id.
    func objects(kind: String, key: String) async throws -> [StoredObject]
    /// A hint that ``object(kind:id:)`` will soon be asked for these rows: a store whose every
    /// read is a round trip may read them now, in one go, and answer those calls from what it
    /// read. Changes nothing and decides nothing; a store may ignore it (the default does).
    func prefetch(kind: String, ids: [String]) async throws
    /// The same for ``objects(kind:key:)``: each of `kinds` will soon be asked for under each of
    /// `keys`. A store may read them all in one go and answer those calls from what it read,
    /// forgetting a kind's answers once the transaction writes or deletes an object of it.
    func prefetch(kinds: [String], keys: [String]) async throws
}

/// A small, self-describing stored object (a flag, a break-glass request, an approval, a review, a
/// group member's key box, a notice). The body is Tutela's canonical encoding, usually signed; the
/// store only files it by kind, id and one lookup key.
public struct StoredObject: Sendable, Equatable {
    /// The object's kind: a ``FactKind`` raw value, or a group member's box or a notice.
    public let kind: String
    /// The object's id, unique within its kind: a `put` with the same kind and id replaces it.
    public let id: String
    /// What the object is filed under for lookups: a record id, a recipient, a group.
    public let key: String
    /// The object's bytes, which the store keeps as they are.
    public let body: [UInt8]

    /// Makes an object to store; nothing is checked here.
    public init(kind: String, id: String, key: String, body: [UInt8]) {
        self.kind = kind
        self.id = id
        self.key = key
        self.body = body
    }
}

extension VaultStore {
    /// Every link of `chain`, in order.
    public func links(_ chain: ChainName) async throws -> [ChainLink] {
        try await links(chain, from: 0, limit: Int.max)
    }

    /// The link at `sequence`, if the chain is that long.
    public func link(_ chain: ChainName, at sequence: Int64) async throws -> ChainLink? {
        try await links(chain, from: sequence, limit: 1).first
    }

    /// One key at a time, for a store with nothing better.
    public func objects(kind: String, keys: [String]) async throws -> [StoredObject] {
        var found: [StoredObject] = []
        for key in Set(keys) { found += try await objects(kind: kind, key: key) }
        return found
    }

    /// One id at a time in one transaction, for a store with nothing better.
    public func objects(kind: String, ids: [String]) async throws -> [StoredObject] {
        let ids = Array(Set(ids))
        return try await transaction { tx in
            var found: [StoredObject] = []
            for id in ids {
                if let object = try await tx.object(kind: kind, id: id) { found.append(object) }
            }
            return found
        }
    }
}

extension VaultTransaction {
    /// Ignores the hint: every read is answered when it is asked.
    public func prefetch(kind: String, ids: [String]) async throws {}

    /// Ignores the hint: every read is answered when it is asked.
    public func prefetch(kinds: [String], keys: [String]) async throws {}

    /// Stores a new record filed under the learner and the author its label names.
    package func insert(_ record: StoredRecord) async throws {
        let label = try Label.parse(record.labelBytes)
        try await insert(record, learner: label.learner, author: label.author)
    }
}
