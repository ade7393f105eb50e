// Over 400 lines: the envelope's two versions, their signed bytes and their one reader belong
// together, so that a change to the format is made in one place.
import TutelaCrypto

/// A sealed record: label, nonce, ciphertext and a signature — by the author (the original,
/// format v3), or, after a re-encryption under fresh keys, by whoever re-sealed it (format v4, which
/// names them, the key generation and the directory they sealed under, and carries the author's
/// original signature over the label so a re-sealed record still proves who wrote it).
///
/// Key slots are stored beside it (one per recipient) because they change over a record's life
/// (re-grants, flags, revocations) while the envelope itself never does.
public struct Envelope: Sendable, Equatable {
    /// The format version of an author's original envelope.
    public static let formatVersion: UInt8 = 3
    /// The format version of a re-sealed envelope.
    public static let resealedFormatVersion: UInt8 = 4
    /// No form is anywhere near this; the cap bounds what a hostile store can make Tutela read.
    public static let maximumCiphertextByteCount = 1 << 20

    /// The record's label: the content encryption's associated data, and covered by the signature.
    public let label: Label
    /// The XChaCha20-Poly1305 nonce (24 bytes).
    public let nonce: [UInt8]
    /// The encrypted contents, Poly1305 tag included: at most ``maximumCiphertextByteCount``
    /// bytes.
    public let ciphertext: [UInt8]
    /// The ``signer``'s Ed25519 signature (64 bytes).
    public let signature: [UInt8]
    /// Who sealed this version, and when: nil for the author's original.
    public let resealing: Resealing?

    /// A re-seal's own fields: who, which generation, under which directory, and the author's proof.
    public struct Resealing: Sendable, Equatable {
        /// Who re-sealed it (and signed this envelope).
        public let sealer: PrincipalID
        /// 2 for the first re-seal, one more for each after.
        public let generation: Int
        /// How many directory statements the sealer's session had verified when it sealed: the
        /// policy, roles and revocations that judge whether they could.
        public let sealedAt: Int64
        /// The author's signature over the label, from the original envelope.
        public let authorship: Authorship
    }

    /// The author's signature over the original envelope, carried into every re-seal: it covers
    /// the label, the original nonce, a hash of the original ciphertext and a commitment to the
    /// contents, so it can be checked without the ciphertext a re-seal replaced, and no re-seal can
    /// change what the author wrote.
    public struct Authorship: Sendable, Equatable {
        /// The original envelope's nonce.
        public let nonce: [UInt8]
        /// BLAKE2b-256 of the original ciphertext.
        public let ciphertextHash: [UInt8]
        /// Keyed BLAKE2b-256 of the contents under a random 32-byte key sealed with them (so it
        /// says nothing about them): what every opening checks the decrypted contents against.
        public let commitment: [UInt8]
        /// The author's Ed25519 signature.
        public let signature: [UInt8]
    }

    /// The commitment to the contents that opening checks (the author's).
    public let commitment: [UInt8]

    /// Who sealed this version: nil for the author's original.
    public var sealer: PrincipalID? { resealing?.sealer }
    /// 1 for the original; one more for each re-encryption under fresh keys.
    public var generation: Int { resealing?.generation ?? 1 }

    /// Who signed it: the sealer of a re-encryption, else the author.
    public var signer: PrincipalID { sealer ?? label.author }

    /// The key-store id of this generation's shred key.
    var shredKeyID: String { Self.shredKeyID(label.record, generation: generation) }

    static func shredKeyID(_ record: RecordID, generation: Int) -> String {
        ShredKeyID(record: record, generation: generation).description
    }

    init(
        label: Label, nonce: [UInt8], ciphertext: [UInt8], commitment: [UInt8],
        signature: [UInt8], resealing: Resealing? = nil
    ) {
        self.label = label
        self.commitment = resealing?.authorship.commitment ?? commitment
        self.nonce = nonce
        self.ciphertext = ciphertext
        self.signature = signature
        self.resealing = resealing
    }

    /// The author's proof: this envelope's own signature for an original, the carried one for a
    /// re-seal.
    func authorship() throws(TutelaError) -> Authorship {
        if let resealing { return resealing.authorship }
        return Authorship(
            nonce: nonce, ciphertextHash: try Self.hash(ciphertext), commitment: commitment,
            signature: signature)
    }

    /// The canonical encoding. v3: version ‖ label ‖ nonce (24) ‖ ciphertext ‖ commitment (32) ‖
    /// signature (64). v4: version ‖ label ‖ nonce ‖ ciphertext ‖ `string sealer ‖ u32 generation
    /// ‖ i64 sealedAt ‖ nonce (24) ‖ hash (32) ‖ commitment (32) ‖ signature (64)` (the re-seal and
    /// the author's proof) ‖ signature.
    public var canonical: [UInt8] { encoded(withLabel: true) }

    /// The canonical encoding without its label field: what a store keeps beside the label row
    /// (``StoredRecord/sealedBytes``).
    public var sealedBytes: [UInt8] { encoded(withLabel: false) }

    private func encoded(withLabel: Bool) -> [UInt8] {
        var w = CanonicalWriter(capacity: ciphertext.count + 384)
        w.u8(resealing == nil ? Self.formatVersion : Self.resealedFormatVersion)
        if withLabel { w.data(label.canonical) }
        w.fixed(nonce)
        w.data(ciphertext)
        if let resealing {
            w.id(resealing.sealer)
            w.u32(UInt32(resealing.generation))
            w.i64(resealing.sealedAt)
            w.fixed(resealing.authorship.nonce)
            w.fixed(resealing.authorship.ciphertextHash)
            w.fixed(resealing.authorship.commitment)
            w.fixed(resealing.authorship.signature)
        } else {
            w.fixed(commitment)
        }
        w.fixed(signature)
        return w.bytes
    }

    /// The part of a canonical envelope a store keeps beside the label row: the encoding with its
    /// label field (a four-byte length and the label, after the version byte) cut out. Nil when the
    /// bytes are too short to hold the label field they announce.
    public static func sealedPart(of canonical: [UInt8]) -> [UInt8]? {
        guard canonical.count >= 5 else { return nil }
        let length = canonical[1..<5].reduce(0) { $0 << 8 | Int($1) }
        let end = 5 + length
        guard canonical.count > end else { return nil }
        return [canonical[0]] + canonical[end...]
    }

    /// The label field of a canonical envelope (see ``sealedPart(of:)``), or nil when it is cut short.
    public static func labelField(of canonical: [UInt8]) -> [UInt8]? {
        guard canonical.count >= 5 else { return nil }
        let length = canonical[1..<5].reduce(0) { $0 << 8 | Int($1) }
        guard canonical.count > 5 + length else { return nil }
        return Array(canonical[5..<(5 + length)])
    }

    /// The canonical envelope from its sealed part and its record's label: the inverse of
    /// ``sealedPart(of:)``. Empty when `sealed` is.
    public static func join(sealed: [UInt8], label: [UInt8]) -> [UInt8] {
        guard let version = sealed.first else { return [] }
        var w = CanonicalWriter(capacity: sealed.count + 4 + label.count)
        w.u8(version)
        w.data(label)
        w.fixed(Array(sealed.dropFirst()))
        return w.bytes
    }

    /// Strictly parses an envelope: version, sizes, label and no trailing bytes.
    static func parse(_ bytes: [UInt8]) throws(TutelaError) -> Envelope {
        var r = CanonicalReader(bytes, context: "envelope")
        let version = try r.u8("version")
        guard version == formatVersion || version == resealedFormatVersion else {
            throw .tampered("envelope has an unknown format version")
        }
        let label = try Label.parse(r.data("label", max: 1024))
        let nonce = try r.fixed("nonce", count: XChaCha20Poly1305.nonceByteCount)
        let ciphertext = try r.data("ciphertext", max: maximumCiphertextByteCount)
        var resealing: Resealing?
        var commitment: [UInt8] = []
        if version == formatVersion {
            commitment = try r.fixed("commitment", count: 32)
        } else {
            let sealer = try r.id("sealer") as PrincipalID
            let generation = Int(try r.u32("generation"))
            guard generation >= 2 else {
                throw .tampered("re-sealed envelope has generation \(generation)")
            }
            let sealedAt = try r.i64("sealed at")
            guard sealedAt >= 1 else { throw .tampered("re-sealed envelope has no directory") }
            let authorship = Authorship(
                nonce: try r.fixed("author nonce", count: XChaCha20Poly1305.nonceByteCount),
                ciphertextHash: try r.fixed("author ciphertext hash", count: 32),
                commitment: try r.fixed("author commitment", count: 32),
                signature: try r.fixed(
                    "author signature", count: SigningPublicKey.signatureByteCount))
            resealing = Resealing(
                sealer: sealer, generation: generation, sealedAt: sealedAt, authorship: authorship)
        }
        let signature = try r.fixed("signature", count: SigningPublicKey.signatureByteCount)
        try r.finish()
        guard ciphertext.count >= XChaCha20Poly1305.tagByteCount else {
            throw .tampered("envelope ciphertext is shorter than its tag")
        }
        return Envelope(
            label: label, nonce: nonce, ciphertext: ciphertext, commitment: commitment,
            signature: signature, resealing: resealing)
    }

    static func hash(_ bytes: [UInt8]) throws(TutelaError) -> [UInt8] {
        do { return try BLAKE2b.hash(bytes) } catch { throw .internal("hashing failed: \(error)") }
    }

    /// What the author signs: BLAKE2b-256 over a domain string, the label, the nonce and a hash of
    /// the ciphertext — so a re-seal can carry it without the ciphertext.
    static func authorDigest(
        label: [UInt8], nonce: [UInt8], ciphertextHash: [UInt8], commitment: [UInt8]
    ) throws(TutelaError) -> [UInt8] {
        var w = CanonicalWriter()
        w.string("tutela/envelope/v3")
        w.data(label)
        w.fixed(nonce)
        w.fixed(ciphertextHash)
        w.fixed(commitment)
        return try hash(w.bytes)
    }

    /// What a re-sealer signs: their name, the generation, the directory they sealed under, the
    /// same fields as the author's, and the author's proof.
    static func resealDigest(
        label: [UInt8], nonce: [UInt8], ciphertextHash: [UInt8], resealing: Resealing
    ) throws(TutelaError) -> [UInt8] {
        var w = CanonicalWriter()
        w.string("tutela/envelope/v4")
        w.id(resealing.sealer)
        w.u32(UInt32(resealing.generation))
        w.i64(resealing.sealedAt)
        w.data(label)
        w.fixed(nonce)
        w.fixed(ciphertextHash)
        w.fixed(resealing.authorship.nonce)
        w.fixed(resealing.authorship.ciphertextHash)
        w.fixed(resealing.authorship.commitment)
        w.fixed(resealing.authorship.signature)
        return try hash(w.bytes)
    }

    /// What this envelope's signer signed.
    func signedDigest() throws(TutelaError) -> [UInt8] {
        let labelBytes = label.canonical
        let ciphertextHash = try Self.hash(ciphertext)
        guard let resealing else {
            return try Self.authorDigest(
                label: labelBytes, nonce: nonce, ciphertextHash: ciphertextHash,
                commitment: commitment)
        }
        return try Self.resealDigest(
            label: labelBytes, nonce: nonce, ciphertextHash: ciphertextHash, resealing: resealing)
    }

    /// The key the contents are encrypted under: HKDF-SHA-256 of the data key (which slots and
    /// break-glass shares carry) and the record's shred key (kept in the separate key store), bound to
    /// the record. Deleting the shred key destroys the contents even where slots survive in a backup.
    static func contentKey(
        dataKey: SecretBytes, shredKey: SecretBytes, record: RecordID
    ) throws(TutelaError) -> SecretBytes {
        do {
            return try HKDFSHA256.deriveKey(
                inputKeyMaterial: dataKey.appending(shredKey), salt: [],
                info: Array("tutela/content/v1 \(record.text)".utf8), outputByteCount: 32)
        } catch { throw .internal("key derivation failed: \(error)") }
    }

    /// Seals `content` as its author, under a fresh data key and the record's shred key, with a
    /// fresh commitment key sealed in front of it.
    /// - Returns: the envelope and the data key (for making slots), in protected memory.
    static func seal(
        _ content: SecretBytes, label: Label, author: Identity, shredKey: SecretBytes
    ) throws(TutelaError) -> (Envelope, SecretBytes) {
        do {
            let salt = try SecretBytes.random(count: 32)
            defer { salt.wipe() }
            let commitment = try BLAKE2b.commitment(to: content, key: salt)
            let whole = try salt.appending(content)
            defer { whole.wipe() }
            return try encrypt(
                whole, label: label, signer: author, shredKey: shredKey, commitment: commitment,
                resealing: nil)
        } catch let error as TutelaError {
            throw error
        } catch {
            throw .internal("sealing failed: \(error)")
        }
    }

    /// Re-seals `whole` (from ``openWhole(with:shredKey:)``: commitment key and contents) under a
    /// fresh data key and shred key, signed by `sealer`, carrying the author's proof.
    static func reseal(
        _ whole: SecretBytes, label: Label, sealer: Identity, shredKey: SecretBytes,
        generation: Int, sealedAt: Int64, authorship: Authorship
    ) throws(TutelaError) -> (Envelope, SecretBytes) {
        try encrypt(
            whole, label: label, signer: sealer, shredKey: shredKey,
            commitment: authorship.commitment,
            resealing: Resealing(
                sealer: sealer.principal, generation: generation, sealedAt: sealedAt,
                authorship: authorship))
    }

    private static func encrypt(
        _ whole: SecretBytes, label: Label, signer: Identity, shredKey: SecretBytes,
        commitment: [UInt8], resealing: Resealing?
    ) throws(TutelaError) -> (Envelope, SecretBytes) {
        let labelBytes = label.canonical
        do {
            let key = try XChaCha20Poly1305.generateKey()
            let contentKey = try contentKey(dataKey: key, shredKey: shredKey, record: label.record)
            defer { contentKey.wipe() }
            let sealed = try XChaCha20Poly1305.seal(
                whole, key: contentKey, authenticating: labelBytes)
            let ciphertextHash = try hash(sealed.ciphertext)
            let digest =
                try resealing.map {
                    try resealDigest(
                        label: labelBytes, nonce: sealed.nonce, ciphertextHash: ciphertextHash,
                        resealing: $0)
                }
                ?? authorDigest(
                    label: labelBytes, nonce: sealed.nonce, ciphertextHash: ciphertextHash,
                    commitment: commitment)
            let envelope = Envelope(
                label: label, nonce: sealed.nonce, ciphertext: sealed.ciphertext,
                commitment: commitment, signature: try signer.sign(digest), resealing: resealing)
            return (envelope, key)
        } catch let error as TutelaError {
            throw error
        } catch {
            throw .internal("sealing failed: \(error)")
        }
    }

    /// Checks the signer's signature and, for a re-seal, the author's carried one.
    /// - Parameters:
    ///   - author: every signing key the label's author ever had.
    ///   - sealer: the re-sealer's, for a re-sealed envelope.
    func verifySignature(
        author: [SigningPublicKey], sealer: [SigningPublicKey] = []
    ) throws(TutelaError) {
        let digest = try signedDigest()
        guard let resealing else {
            guard author.contains(where: { (try? $0.verify(signature, for: digest)) != nil }) else {
                throw .tampered(
                    "record \(label.record) does not carry a valid signature of its author")
            }
            return
        }
        guard sealer.contains(where: { (try? $0.verify(signature, for: digest)) != nil }) else {
            throw .tampered(
                "record \(label.record) does not carry a valid signature of '\(resealing.sealer)', "
                    + "who it says re-sealed it")
        }
        let proof = resealing.authorship
        let original = try Self.authorDigest(
            label: label.canonical, nonce: proof.nonce, ciphertextHash: proof.ciphertextHash,
            commitment: proof.commitment)
        guard author.contains(where: { (try? $0.verify(proof.signature, for: original)) != nil })
        else {
            throw .tampered(
                "record \(label.record) was re-sealed without its author's signature over its label"
            )
        }
    }

    /// Decrypts with the data key from a slot and the record's shred key, and checks the contents
    /// against the author's commitment.
    /// - Returns: the contents, without the commitment key in front of them.
    func open(with key: SecretBytes, shredKey: SecretBytes) throws(TutelaError) -> SecretBytes {
        let whole = try openWhole(with: key, shredKey: shredKey)
        defer { whole.wipe() }
        do { return try whole.slice(32..<whole.count) } catch {
            throw .internal("the contents could not be copied: \(error)")
        }
    }

    /// Decrypts as ``open(with:shredKey:)`` does, keeping the commitment key in front of the
    /// contents: what a re-seal encrypts again.
    func openWhole(with key: SecretBytes, shredKey: SecretBytes) throws(TutelaError)
        -> SecretBytes
    {
        let contentKey = try Self.contentKey(dataKey: key, shredKey: shredKey, record: label.record)
        defer { contentKey.wipe() }
        let whole: SecretBytes
        do {
            whole = try XChaCha20Poly1305.open(
                .init(nonce: nonce, ciphertext: ciphertext), key: contentKey,
                authenticating: label.canonical)
        } catch {
            throw .tampered(
                "record \(label.record) could not be decrypted: its contents or key slot were altered"
            )
        }
        let committed: Bool
        do {
            guard whole.count >= 32 else { throw CryptoError.initializationFailed }
            let salt = try whole.slice(0..<32)
            defer { salt.wipe() }
            let content = try whole.slice(32..<whole.count)
            defer { content.wipe() }
            committed = try BLAKE2b.commitment(to: content, key: salt) == commitment
        } catch { committed = false }
        guard committed else {
            whole.wipe()
            throw .tampered(
                "the contents of \(label.record) are not the ones its author sealed"
                    + (resealing.map { ": '\($0.sealer)' re-sealed it with others" } ?? ""))
        }
        return whole
    }
}
