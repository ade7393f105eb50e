internal import CSodium
import Synchronization

/// One ephemeral key pair for many boxes to one recipient (`crypto_box_beforenm`): the X25519 key
/// agreement is done once, then each box is `crypto_box_easy_afternm` (XSalsa20-Poly1305) under the
/// precomputed key with a fresh random 24-byte nonce of its own. A recipient opens any one box with
/// one key agreement (`crypto_box_open_easy` with the ephemeral public key), as a sealed box.
///
/// The ephemeral private key is wiped as soon as the shared key is computed; the shared key lives
/// in protected memory until ``wipe()`` or the last reference goes.
public final class BatchBoxKey: Sendable {
    /// Who every box made with this key is for.
    public let recipient: KeyAgreementPublicKey
    /// The ephemeral public key, stored beside each box so the recipient can agree the same key.
    public let ephemeralPublicKey: KeyAgreementPublicKey
    private let shared: SecretBytes
    /// Whether the key is still whole. Held for each seal and for the wipe, so that no seal ever
    /// runs under a key being zeroed (a box under a zeroed key could be opened by anyone, and
    /// never by its recipient).
    private let live = Mutex<Bool>(true)

    /// A fresh ephemeral key pair and its shared key with `recipient`.
    /// - Throws: ``CryptoError/invalidPublicKey`` for a key nothing can be sealed to (small order).
    public convenience init(to recipient: KeyAgreementPublicKey) throws(CryptoError) {
        let ephemeral = try KeyAgreementPrivateKey()
        defer { ephemeral.secret.wipe() }
        try self.init(to: recipient, ephemeral: ephemeral)
    }

    /// The shared key of a given ephemeral key pair: for known-answer tests, which need the same
    /// bytes every run. Never reuse an ephemeral key across batches.
    package init(to recipient: KeyAgreementPublicKey, ephemeral: KeyAgreementPrivateKey)
        throws(CryptoError)
    {
        self.recipient = recipient
        self.ephemeralPublicKey = ephemeral.publicKey
        self.shared = try BatchBox.precompute(secret: ephemeral.secret, publicKey: recipient.bytes)
    }

    /// Seals `message` under a fresh random nonce.
    /// - Returns: `fixed(24) nonce ‖ tag(16) ‖ ciphertext`.
    public func seal(_ message: SecretBytes) throws(CryptoError) -> [UInt8] {
        var nonce = [UInt8](repeating: 0, count: BatchBox.nonceByteCount)
        randombytes_buf(&nonce, nonce.count)
        return try seal(message, nonce: nonce)
    }

    /// Seals `message` under `nonce`, which must never be used twice with this key (known-answer
    /// tests only; ``seal(_:)`` draws a random one).
    package func seal(_ message: SecretBytes, nonce: [UInt8]) throws(CryptoError) -> [UInt8] {
        try checkLength("a box nonce", nonce.count, BatchBox.nonceByteCount)
        var box = [UInt8](repeating: 0, count: message.count + BatchBox.tagByteCount)
        let status = try live.withLock { live throws(CryptoError) in
            guard live else { throw .keyWiped }
            return message.withBytePointer { m in
                shared.withBytePointer { k in
                    crypto_box_easy_afternm(&box, m, UInt64(message.count), nonce, k)
                }
            }
        }
        // libsodium refuses only a message too long for one box.
        guard status == 0 else {
            throw .invalidLength(
                what: "a box's message", expected: "fewer bytes", actual: message.count)
        }
        return nonce + box
    }

    /// Wipes the shared key now, after any seal under way; later seals throw
    /// ``CryptoError/keyWiped``.
    public func wipe() {
        live.withLock { live in
            live = false
            shared.wipe()
        }
    }
}

/// Opening boxes made with a ``BatchBoxKey``, and the primitives it rests on (exposed for vector
/// tests).
public enum BatchBox {
    /// A box's own nonce.
    public static let nonceByteCount = 24
    /// The Poly1305 tag a box adds.
    public static let tagByteCount = 16

    /// Opens `sealed` (`nonce ‖ tag ‖ ciphertext`) made under `ephemeral` for `recipient`'s key.
    /// - Throws: ``CryptoError/authenticationFailed`` for a wrong key or altered bytes, a low-order
    ///   ephemeral key among them.
    public static func open(
        _ sealed: ArraySlice<UInt8>, ephemeral: ArraySlice<UInt8>,
        with recipient: KeyAgreementPrivateKey
    ) throws(CryptoError) -> SecretBytes {
        try Sodium.ensureInitialized()
        guard ephemeral.count == KeyAgreementPublicKey.byteCount,
            sealed.count >= nonceByteCount + tagByteCount
        else { throw .authenticationFailed }
        let nonce = Array(sealed.prefix(nonceByteCount))
        let box = Array(sealed.dropFirst(nonceByteCount))
        let peer = Array(ephemeral)
        let message = try SecretBytes(zeroedCount: box.count - tagByteCount)
        let status = message.withMutableBytePointer { out in
            recipient.secret.withBytePointer { sk in
                crypto_box_open_easy(out, box, UInt64(box.count), nonce, peer, sk)
            }
        }
        guard status == 0 else {
            message.wipe()
            throw .authenticationFailed
        }
        return message
    }

    /// `crypto_box_beforenm`: HSalsa20 of the X25519 shared secret of `secret` and `publicKey`.
    /// - Throws: ``CryptoError/invalidPublicKey`` if the shared secret is zero (a low-order point).
    package static func precompute(secret: SecretBytes, publicKey: [UInt8]) throws(CryptoError)
        -> SecretBytes
    {
        try Sodium.ensureInitialized()
        try checkLength("an X25519 private key", secret.count, KeyAgreementPrivateKey.byteCount)
        try checkLength("an X25519 public key", publicKey.count, KeyAgreementPublicKey.byteCount)
        let shared = try SecretBytes(zeroedCount: Int(crypto_box_beforenmbytes()))
        let status = shared.withMutableBytePointer { out in
            secret.withBytePointer { sk in crypto_box_beforenm(out, publicKey, sk) }
        }
        guard status == 0 else {
            shared.wipe()
            throw .invalidPublicKey
        }
        return shared
    }

    /// HSalsa20 of `key` with an all-zero input block: what `crypto_box_beforenm` applies to an
    /// X25519 shared secret, for checking it against independent X25519 vectors.
    package static func hsalsa20(_ key: SecretBytes) throws(CryptoError) -> SecretBytes {
        try Sodium.ensureInitialized()
        try checkLength("an HSalsa20 key", key.count, 32)
        let out = try SecretBytes(zeroedCount: 32)
        let input = [UInt8](repeating: 0, count: 16)
        _ = out.withMutableBytePointer { o in
            key.withBytePointer { k in crypto_core_hsalsa20(o, input, k, nil) }
        }
        return out
    }
}
