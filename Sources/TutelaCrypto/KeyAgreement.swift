internal import CSodium

/// An X25519 public key: the address a slot or sealed box is sealed to.
public struct KeyAgreementPublicKey: Sendable, Hashable {
    /// An X25519 public key is 32 bytes.
    public static let byteCount = 32
    /// The key's raw 32 bytes.
    public let bytes: [UInt8]

    /// - Throws: ``CryptoError/invalidLength(what:expected:actual:)`` unless 32 bytes.
    public init(bytes: [UInt8]) throws(CryptoError) {
        try checkLength("an X25519 public key", bytes.count, Self.byteCount)
        self.bytes = bytes
    }

    /// A key someone publishes for others to seal to, refused unless it is the one encoding of a
    /// point anything can be sealed to: a point of small order (all zeros among them) has a zero
    /// shared secret with every scalar, so every seal to it fails; a non-canonical encoding (the
    /// top bit set, or a value of at least 2^255 − 19) names the same point as another, so it
    /// could pass for a new key. Checked where a key enters the directory, so that one person's
    /// bad key cannot stop everyone else's seals.
    /// - Throws: ``CryptoError/invalidLength(what:expected:actual:)`` unless 32 bytes,
    ///   ``CryptoError/invalidPublicKey`` for a non-canonical encoding or a point of small order.
    public init(validating bytes: [UInt8]) throws(CryptoError) {
        try self.init(bytes: bytes)
        // Little-endian: canonical means below p = 2^255 − 19, so the top bit is clear and the
        // value is not one of the 19 from p to 2^255 − 1 (0x7f, then thirty 0xff, then ≥ 0xed).
        guard bytes[31] & 0x80 == 0,
            !(bytes[31] == 0x7f && bytes[1...30].allSatisfy({ $0 == 0xff }) && bytes[0] >= 0xed)
        else { throw .invalidPublicKey }
        try Sodium.ensureInitialized()
        // Any fixed scalar serves (it is clamped to a multiple of the cofactor): the product is the
        // identity, which libsodium reports as failure, exactly for points of small order.
        var scalar = [UInt8](repeating: 0, count: 32)
        scalar[0] = 9
        var product = [UInt8](repeating: 0, count: 32)
        guard crypto_scalarmult(&product, scalar, bytes) == 0 else { throw .invalidPublicKey }
    }
}

/// An X25519 private key, held in protected memory.
public struct KeyAgreementPrivateKey: Sendable {
    /// An X25519 private key is 32 bytes.
    public static let byteCount = 32
    /// The 32-byte secret scalar.
    public let secret: SecretBytes
    /// The public key computed from ``secret``, which others seal to.
    public let publicKey: KeyAgreementPublicKey

    /// A new random key pair.
    public init() throws(CryptoError) {
        try Sodium.ensureInitialized()
        let secret = try SecretBytes(zeroedCount: Self.byteCount)
        var publicBytes = [UInt8](repeating: 0, count: KeyAgreementPublicKey.byteCount)
        let status = secret.withMutableBytePointer { sk in
            crypto_box_keypair(&publicBytes, sk)
        }
        guard status == 0 else { throw .initializationFailed }
        self.secret = secret
        self.publicKey = try KeyAgreementPublicKey(bytes: publicBytes)
    }

    /// Restores a key from its stored 32-byte secret, recomputing the public key.
    public init(secret: SecretBytes) throws(CryptoError) {
        try Sodium.ensureInitialized()
        try checkLength("an X25519 private key", secret.count, Self.byteCount)
        var publicBytes = [UInt8](repeating: 0, count: KeyAgreementPublicKey.byteCount)
        let status = secret.withBytePointer { sk in
            crypto_scalarmult_base(&publicBytes, sk)
        }
        guard status == 0 else { throw .invalidPublicKey }
        self.secret = secret
        self.publicKey = try KeyAgreementPublicKey(bytes: publicBytes)
    }
}

/// Raw X25519 (`crypto_scalarmult`), exposed for vector tests and protocols that need it.
public enum X25519 {
    /// The shared secret of `privateKey` and `publicKey`.
    /// - Throws: ``CryptoError/invalidPublicKey`` if the result is all zeros (a low-order point).
    public static func sharedSecret(
        privateKey: SecretBytes, publicKey: [UInt8]
    ) throws(CryptoError) -> SecretBytes {
        try Sodium.ensureInitialized()
        try checkLength("an X25519 private key", privateKey.count, 32)
        try checkLength("an X25519 public key", publicKey.count, 32)
        let shared = try SecretBytes(zeroedCount: 32)
        let status = shared.withMutableBytePointer { out in
            privateKey.withBytePointer { sk in
                crypto_scalarmult(
                    out,
                    sk, publicKey)
            }
        }
        guard status == 0 else { throw .invalidPublicKey }
        return shared
    }
}

/// Anonymous sealed boxes (`crypto_box_seal`): anyone can seal to a public key, only the holder of
/// the private key can open, and the sender stays anonymous. Boxes Tutela seals one at a time are
/// sealed boxes; a transaction's many boxes to one recipient are ``BatchBoxKey`` boxes.
public enum SealedBox {
    /// Bytes a sealed box adds to its message (ephemeral public key and tag).
    public static var overhead: Int { Int(crypto_box_sealbytes()) }

    /// Seals `message` to `recipient`.
    public static func seal(
        _ message: SecretBytes, to recipient: KeyAgreementPublicKey
    ) throws(CryptoError) -> [UInt8] {
        try Sodium.ensureInitialized()
        var box = [UInt8](repeating: 0, count: message.count + overhead)
        let status = message.withBytePointer { m in
            crypto_box_seal(
                &box, m, UInt64(message.count), recipient.bytes)
        }
        guard status == 0 else { throw .invalidPublicKey }
        return box
    }

    /// Opens a sealed box with the recipient's key pair.
    /// - Throws: ``CryptoError/authenticationFailed`` for a wrong key or altered bytes.
    public static func open(
        _ box: [UInt8], with recipient: KeyAgreementPrivateKey
    ) throws(CryptoError) -> SecretBytes {
        try Sodium.ensureInitialized()
        guard box.count >= overhead else { throw .authenticationFailed }
        let message = try SecretBytes(zeroedCount: box.count - overhead)
        let status = message.withMutableBytePointer { out in
            recipient.secret.withBytePointer { sk in
                crypto_box_seal_open(
                    out, box, UInt64(box.count),
                    recipient.publicKey.bytes, sk)
            }
        }
        guard status == 0 else { throw .authenticationFailed }
        return message
    }
}
