import TutelaCrypto

/// A record's data key sealed to one recipient, as a ``RecipientBox`` of the message `u8 version ‖
/// string "tutela/slot" ‖ string record ‖ string recipient ‖ u32 generation ‖ key`: version 2 sealed
/// alone (`crypto_box_seal`), version 3 batched with its transaction's other boxes to the same
/// recipient (#26). The tag keeps a slot from ever being taken for another kind of box sealed to
/// the same key (a group-member box, a released share); the record, recipient and envelope
/// generation keep it from being moved.
public struct Slot: Sendable, Equatable {
    /// The record whose data key the box carries.
    public let record: RecordID
    /// Who the box is sealed to: a person, or a group key at one version.
    public let recipient: Recipient
    /// The sealed box; opening refuses one larger than 512 bytes.
    public let box: [UInt8]

    /// Makes a slot from its parts; nothing is checked until it is opened.
    public init(record: RecordID, recipient: Recipient, box: [UInt8]) {
        self.record = record
        self.recipient = recipient
        self.box = box
    }

    static let tag = "tutela/slot"
    static let maximumBoxByteCount = 512

    /// What a slot's plaintext starts with, before its generation and key.
    private static func prefix(record: RecordID, recipient: Recipient, version: UInt8) -> [UInt8] {
        var header = CanonicalWriter()
        header.u8(version)
        header.string(tag)
        header.id(record)
        header.string(recipient.description)
        return header.bytes
    }

    /// Seals `key`, the data key of `record`'s envelope `generation`, for `recipient`: in `batch`
    /// (version 3) when one is given, else alone (version 2).
    static func make(
        record: RecordID, generation: Int, key: SecretBytes, recipient: Recipient,
        to publicKey: KeyAgreementPublicKey, batch: SealBatch? = nil
    ) throws(TutelaError) -> Slot {
        var header = CanonicalWriter()
        header.fixed(
            prefix(
                record: record, recipient: recipient,
                version: RecipientBox.version(batched: batch != nil)))
        header.u32(UInt32(generation))
        let message: SecretBytes
        do { message = try SecretBytes(copying: header.bytes).appending(key) } catch {
            throw .internal("could not make a key slot: \(error)")
        }
        defer { message.wipe() }
        return Slot(
            record: record, recipient: recipient,
            box: try RecipientBox.seal(message, to: publicKey, batch: batch))
    }

    /// Opens the slot with a person's key; checks it is a slot of `record`'s envelope `generation`
    /// for them.
    func open(with identity: Identity, expecting record: RecordID, generation: Int)
        throws(TutelaError) -> SecretBytes
    {
        try open(with: identity.agreement, expecting: record, generation: generation)
    }

    /// Opens the slot with an X25519 key (a person's or a group's); checks it is a slot of
    /// `record`'s envelope `generation` for its recipient.
    func open(with key: KeyAgreementPrivateKey, expecting record: RecordID, generation: Int)
        throws(TutelaError) -> SecretBytes
    {
        let (dataKey, sealedFor) = try open(with: key, expecting: record)
        guard sealedFor == generation else {
            dataKey.wipe()
            throw .tampered(
                "the key slot of \(record) for '\(recipient)' was made for another generation of it"
            )
        }
        return dataKey
    }

    /// Opens the slot and checks its tag, record and recipient; returns the data key and the
    /// envelope generation the slot names (a re-wrap carries it over unchanged).
    func open(with key: KeyAgreementPrivateKey, expecting record: RecordID) throws(TutelaError)
        -> (key: SecretBytes, generation: Int)
    {
        guard box.count <= Self.maximumBoxByteCount else {
            throw .tampered("the key slot of \(record) is oversized")
        }
        let (message, version): (SecretBytes, UInt8)
        do { (message, version) = try RecipientBox.open(box, with: key) } catch {
            throw .tampered(
                "the key slot of \(record) for '\(recipient)' does not open: it was altered")
        }
        let expected = Self.prefix(record: record, recipient: recipient, version: version)
        let headerCount = expected.count + 4
        guard message.count == headerCount + XChaCha20Poly1305.keyByteCount,
            message.withUnsafeBytes({ Array($0.prefix(expected.count)) }) == expected
        else {
            message.wipe()
            throw .tampered(
                "the key slot for '\(recipient)' was made for another record, recipient or kind "
                    + "of box, not \(record)")
        }
        let generation = message.withUnsafeBytes { bytes in
            bytes[expected.count..<headerCount].reduce(0) { $0 << 8 | Int($1) }
        }
        do {
            defer { message.wipe() }
            return (try message.slice(headerCount..<message.count), generation)
        } catch { throw .internal("\(error)") }
    }
}
