internal import CSodium

/// An Ed25519 public key.
public struct SigningPublicKey: Sendable, Hashable {
    /// An Ed25519 public key is 32 bytes.
    public static let byteCount = 32
    /// An Ed25519 signature is 64 bytes.
    public static let signatureByteCount = 64
    /// The key's raw 32 bytes.
    public let bytes: [UInt8]

    /// - Throws: ``CryptoError/invalidLength(what:expected:actual:)`` unless 32 bytes.
    public init(bytes: [UInt8]) throws(CryptoError) {
        try checkLength("an Ed25519 public key", bytes.count, Self.byteCount)
        self.bytes = bytes
    }

    /// Verifies a detached signature.
    /// - Throws: ``CryptoError/invalidSignature`` if it does not verify (including a wrong length).
    public func verify(_ signature: [UInt8], for message: [UInt8]) throws(CryptoError) {
        try Sodium.ensureInitialized()
        guard signature.count == Self.signatureByteCount else { throw .invalidSignature }
        let status = crypto_sign_verify_detached(
            signature, message, UInt64(message.count), bytes)
        guard status == 0 else { throw .invalidSignature }
    }
}

/// An Ed25519 signing key, held in protected memory as its 32-byte seed.
public struct SigningPrivateKey: Sendable {
    /// An Ed25519 seed is 32 bytes.
    public static let seedByteCount = 32
    /// The 32-byte seed, which is all that needs storing.
    public let seed: SecretBytes
    private let expanded: SecretBytes
    /// The public key that verifies this key's signatures, derived from the seed.
    public let publicKey: SigningPublicKey

    /// A new random signing key.
    public init() throws(CryptoError) {
        try self.init(seed: SecretBytes.random(count: Self.seedByteCount))
    }

    /// Restores a signing key from its seed.
    public init(seed: SecretBytes) throws(CryptoError) {
        try Sodium.ensureInitialized()
        try checkLength("an Ed25519 seed", seed.count, Self.seedByteCount)
        let expanded = try SecretBytes(zeroedCount: Int(crypto_sign_secretkeybytes()))
        var publicBytes = [UInt8](repeating: 0, count: SigningPublicKey.byteCount)
        let status = expanded.withMutableBytePointer { sk in
            seed.withBytePointer { s in
                crypto_sign_seed_keypair(
                    &publicBytes, sk,
                    s)
            }
        }
        guard status == 0 else { throw .initializationFailed }
        self.seed = seed
        self.expanded = expanded
        self.publicKey = try SigningPublicKey(bytes: publicBytes)
    }

    /// A detached 64-byte signature over `message`.
    public func sign(_ message: [UInt8]) throws(CryptoError) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: SigningPublicKey.signatureByteCount)
        let status = expanded.withBytePointer { sk in
            crypto_sign_detached(
                &signature, nil, message, UInt64(message.count),
                sk)
        }
        guard status == 0 else { throw .invalidSignature }
        return signature
    }
}
