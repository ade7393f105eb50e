internal import CSodium

/// XChaCha20-Poly1305-IETF authenticated encryption with associated data.
///
/// The 24-byte nonce is large enough to be chosen at random for every message, which is what
/// ``seal(_:key:authenticating:)`` does. The associated data is authenticated but not encrypted:
/// Tutela passes the canonical label, so a ciphertext cannot be moved to another record.
public enum XChaCha20Poly1305 {
    /// A key is 32 bytes.
    public static let keyByteCount = 32
    /// A nonce is 24 bytes: large enough to pick at random for every message.
    public static let nonceByteCount = 24
    /// The Poly1305 tag appended to every ciphertext is 16 bytes.
    public static let tagByteCount = 16

    /// A nonce and the ciphertext with its 16-byte tag appended.
    public struct SealedMessage: Sendable, Equatable {
        /// The 24-byte nonce; not secret, stored beside the ciphertext.
        public let nonce: [UInt8]
        /// The encrypted bytes followed by the 16-byte tag.
        public let ciphertext: [UInt8]

        /// Reassembles a sealed message read from storage; nothing is checked until it is opened.
        public init(nonce: [UInt8], ciphertext: [UInt8]) {
            self.nonce = nonce
            self.ciphertext = ciphertext
        }
    }

    /// A fresh random 32-byte key.
    public static func generateKey() throws(CryptoError) -> SecretBytes {
        try SecretBytes.random(count: keyByteCount)
    }

    /// Encrypts and authenticates `plaintext` under `key` with a fresh random nonce.
    /// - Parameters:
    ///   - plaintext: the bytes to protect.
    ///   - key: a 32-byte key.
    ///   - associatedData: bytes that must travel with the ciphertext unchanged.
    /// - Returns: the nonce and ciphertext (plaintext length + 16).
    /// - Throws: ``CryptoError/invalidLength(what:expected:actual:)`` for a bad key.
    public static func seal(
        _ plaintext: SecretBytes, key: SecretBytes, authenticating associatedData: [UInt8]
    ) throws(CryptoError) -> SealedMessage {
        let nonce = try SecureRandom.bytes(count: nonceByteCount)
        return try seal(plaintext, key: key, nonce: nonce, authenticating: associatedData)
    }

    /// Encryption with a caller-chosen nonce: for test vectors only, never reuse a nonce.
    static func seal(
        _ plaintext: SecretBytes, key: SecretBytes, nonce: [UInt8],
        authenticating associatedData: [UInt8]
    ) throws(CryptoError) -> SealedMessage {
        try Sodium.ensureInitialized()
        try checkLength("an XChaCha20-Poly1305 key", key.count, keyByteCount)
        try checkLength("an XChaCha20-Poly1305 nonce", nonce.count, nonceByteCount)
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + tagByteCount)
        var produced: UInt64 = 0
        let status = plaintext.withBytePointer { message in
            key.withBytePointer { keyBytes in
                crypto_aead_xchacha20poly1305_ietf_encrypt(
                    &ciphertext, &produced,
                    message, UInt64(plaintext.count),
                    associatedData, UInt64(associatedData.count),
                    nil, nonce, keyBytes)
            }
        }
        guard status == 0, produced == UInt64(ciphertext.count) else { throw .authenticationFailed }
        return SealedMessage(nonce: nonce, ciphertext: ciphertext)
    }

    /// Verifies and decrypts a sealed message.
    /// - Returns: the plaintext, in protected memory.
    /// - Throws: ``CryptoError/authenticationFailed`` when the key is wrong or any byte of nonce,
    ///   ciphertext, tag or associated data was changed.
    public static func open(
        _ message: SealedMessage, key: SecretBytes, authenticating associatedData: [UInt8]
    ) throws(CryptoError) -> SecretBytes {
        try Sodium.ensureInitialized()
        try checkLength("an XChaCha20-Poly1305 key", key.count, keyByteCount)
        try checkLength("an XChaCha20-Poly1305 nonce", message.nonce.count, nonceByteCount)
        guard message.ciphertext.count >= tagByteCount else { throw .authenticationFailed }
        let plaintext = try SecretBytes(zeroedCount: message.ciphertext.count - tagByteCount)
        var produced: UInt64 = 0
        let status = plaintext.withMutableBytePointer { output in
            key.withBytePointer { keyBytes in
                crypto_aead_xchacha20poly1305_ietf_decrypt(
                    output, &produced, nil,
                    message.ciphertext, UInt64(message.ciphertext.count),
                    associatedData, UInt64(associatedData.count),
                    message.nonce, keyBytes)
            }
        }
        guard status == 0, produced == UInt64(plaintext.count) else { throw .authenticationFailed }
        return plaintext
    }
}
