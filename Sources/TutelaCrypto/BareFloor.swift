internal import CSodium

/// The physical floor of Tutela's hot paths: exactly the libsodium operations each path needs, on
/// plain buffers, with nothing else — no protected memory, no encoding, no storage. `tutela-bench`
/// times these in the same run as the real paths and reports the real paths as ratios against them.
///
/// Benchmark support only (package access): the keys here are throwaway and never protected.
package final class BareFloor {
    /// The shape of one record, as the benchmark's vault stores it.
    package struct Shape: Sendable {
        /// Bytes of the encoded form that the envelope encrypts.
        package var plaintextByteCount: Int
        /// Bytes of the canonical label (the envelope's associated data).
        package var labelByteCount: Int
        /// Key slots per record (sealed boxes of a 32-byte key with its header).
        package var slots: Int
        /// Break-glass shares per record (sealed boxes of a serialized share with its header).
        package var shares: Int
        /// Bytes of an audit entry's signed part.
        package var auditByteCount: Int

        /// Describes one record; see the properties for units.
        package init(
            plaintextByteCount: Int, labelByteCount: Int, slots: Int, shares: Int,
            auditByteCount: Int
        ) {
            self.plaintextByteCount = plaintextByteCount
            self.labelByteCount = labelByteCount
            self.slots = slots
            self.shares = shares
            self.auditByteCount = auditByteCount
        }
    }

    let shape: Shape
    var signSecret = [UInt8](repeating: 0, count: Int(crypto_sign_secretkeybytes()))
    var signPublic = [UInt8](repeating: 0, count: Int(crypto_sign_publickeybytes()))
    var boxSecret = [UInt8](repeating: 0, count: Int(crypto_box_secretkeybytes()))
    var boxPublic = [UInt8](repeating: 0, count: Int(crypto_box_publickeybytes()))
    var plaintext: [UInt8]
    var label: [UInt8]
    var audit: [UInt8]
    // Outputs of a sealed record, kept so that `open` has something real to open.
    var nonce = [UInt8](repeating: 0, count: Int(crypto_aead_xchacha20poly1305_ietf_npubbytes()))
    var ciphertext: [UInt8]
    var signature = [UInt8](repeating: 0, count: Int(crypto_sign_bytes()))
    var auditSignature = [UInt8](repeating: 0, count: Int(crypto_sign_bytes()))
    var digest = [UInt8](repeating: 0, count: 32)
    var slot: [UInt8]
    var shredKey = [UInt8](repeating: 9, count: 32)
    // The BLAKE2b state is a 64-byte-aligned opaque struct that Swift imports only as a pointer.
    let hashStorage = UnsafeMutableRawPointer.allocate(
        byteCount: crypto_generichash_statebytes(), alignment: 64)
    var hashState: OpaquePointer { OpaquePointer(hashStorage) }
    /// Folded from every output so that no operation can be optimised away.
    package private(set) var checksum: UInt8 = 0

    static let slotMessageByteCount = 1 + 4 + 16 + 32
    static let shareMessageByteCount = 1 + 4 + 40 + 34

    /// Makes throwaway keys and seals one record, so that ``openRecord()`` has one to open.
    /// - Throws: ``CryptoError/initializationFailed`` if libsodium or key generation fails.
    package init(_ shape: Shape) throws(CryptoError) {
        try Sodium.ensureInitialized()
        self.shape = shape
        plaintext = [UInt8](repeating: 0x41, count: shape.plaintextByteCount)
        label = [UInt8](repeating: 0x4C, count: shape.labelByteCount)
        audit = [UInt8](repeating: 0x61, count: shape.auditByteCount)
        ciphertext = [UInt8](
            repeating: 0,
            count: shape.plaintextByteCount + Int(crypto_aead_xchacha20poly1305_ietf_abytes()))
        slot = [UInt8](
            repeating: 0, count: Self.slotMessageByteCount + Int(crypto_box_sealbytes()))
        guard crypto_sign_keypair(&signPublic, &signSecret) == 0,
            crypto_box_keypair(&boxPublic, &boxSecret) == 0
        else { throw .initializationFailed }
        crypto_sign_detached(&auditSignature, nil, audit, UInt64(audit.count), signSecret)
        sealRecord()
    }

    deinit { hashStorage.deallocate() }

    /// BLAKE2b-256 over `parts`.
    func hash(_ parts: [[UInt8]], into out: inout [UInt8]) {
        crypto_generichash_init(hashState, nil, 0, 32)
        for part in parts { crypto_generichash_update(hashState, part, UInt64(part.count)) }
        crypto_generichash_final(hashState, &out, 32)
    }

    /// HKDF-SHA-256 of 64 bytes of key material to 32 bytes: one HMAC to extract, one to expand.
    func hkdf(into key: inout [UInt8]) {
        var prk = [UInt8](repeating: 0, count: 32)
        let zeros = [UInt8](repeating: 0, count: 32)
        var state = crypto_auth_hmacsha256_state()
        crypto_auth_hmacsha256_init(&state, zeros, 32)
        crypto_auth_hmacsha256_update(&state, shredKey, 32)
        crypto_auth_hmacsha256_update(&state, shredKey, 32)
        crypto_auth_hmacsha256_final(&state, &prk)
        let info = [UInt8](repeating: 0x69, count: 36)
        crypto_auth_hmacsha256_init(&state, prk, 32)
        crypto_auth_hmacsha256_update(&state, info, UInt64(info.count))
        crypto_auth_hmacsha256_final(&state, &key)
    }

    /// Sign-and-hash of one audit entry or chain link.
    func signLink() {
        var sig = [UInt8](repeating: 0, count: Int(crypto_sign_bytes()))
        crypto_sign_detached(&sig, nil, audit, UInt64(audit.count), signSecret)
        var h = [UInt8](repeating: 0, count: 32)
        hash([audit, sig], into: &h)
        checksum ^= h[0]
    }

    /// One record sealed: a fresh data key, HKDF with the shred key, XChaCha20-Poly1305 over the
    /// form with the label as associated data, BLAKE2b and Ed25519 over the envelope, a sealed box
    /// per slot and per break-glass share, and the signed, hashed audit entry.
    package func sealRecord() {
        var dataKey = [UInt8](repeating: 0, count: 32)
        randombytes_buf(&dataKey, 32)
        randombytes_buf(&nonce, nonce.count)
        var contentKey = [UInt8](repeating: 0, count: 32)
        hkdf(into: &contentKey)
        var length: UInt64 = 0
        crypto_aead_xchacha20poly1305_ietf_encrypt(
            &ciphertext, &length, plaintext, UInt64(plaintext.count), label, UInt64(label.count),
            nil, nonce, contentKey)
        hash([label, nonce, ciphertext], into: &digest)
        crypto_sign_detached(&signature, nil, digest, 32, signSecret)
        let slotMessage = [UInt8](repeating: 0x53, count: Self.slotMessageByteCount)
        for _ in 0..<shape.slots {
            crypto_box_seal(&slot, slotMessage, UInt64(slotMessage.count), boxPublic)
        }
        let shareMessage = [UInt8](repeating: 0x68, count: Self.shareMessageByteCount)
        var share = [UInt8](repeating: 0, count: shareMessage.count + Int(crypto_box_sealbytes()))
        for _ in 0..<shape.shares {
            crypto_box_seal(&share, shareMessage, UInt64(shareMessage.count), boxPublic)
        }
        signLink()
        checksum ^= ciphertext[0] ^ signature[0] ^ slot[0] ^ share[0]
    }

    /// The least a per-record-key, signed, sealed-envelope design seems to need (#26): a random key
    /// and nonce, XChaCha20-Poly1305 over the form with the label as associated data, one
    /// `crypto_box_seal` of the key and one Ed25519 signature over the ciphertext — called bare,
    /// with nothing else. Tutela's import is measured against it.
    package func sealBare() {
        var dataKey = [UInt8](repeating: 0, count: 32)
        randombytes_buf(&dataKey, 32)
        randombytes_buf(&nonce, nonce.count)
        var length: UInt64 = 0
        crypto_aead_xchacha20poly1305_ietf_encrypt(
            &ciphertext, &length, plaintext, UInt64(plaintext.count), label, UInt64(label.count),
            nil, nonce, dataKey)
        var box = [UInt8](repeating: 0, count: 32 + Int(crypto_box_sealbytes()))
        crypto_box_seal(&box, dataKey, 32, boxPublic)
        crypto_sign_detached(
            &signature, nil, ciphertext, UInt64(ciphertext.count), signSecret)
        checksum ^= ciphertext[0] ^ signature[0] ^ box[0]
    }

    /// One record opened: the author's signature checked over the envelope's hash, the slot opened,
    /// HKDF, XChaCha20-Poly1305 decryption, and the signed, hashed audit entry.
    package func openRecord() {
        var h = [UInt8](repeating: 0, count: 32)
        hash([label, nonce, ciphertext], into: &h)
        let verified = crypto_sign_verify_detached(signature, h, 32, signPublic)
        var message = [UInt8](repeating: 0, count: Self.slotMessageByteCount)
        let opened = crypto_box_seal_open(
            &message, slot, UInt64(slot.count), boxPublic, boxSecret)
        var contentKey = [UInt8](repeating: 0, count: 32)
        hkdf(into: &contentKey)
        var out = [UInt8](repeating: 0, count: plaintext.count)
        var length: UInt64 = 0
        let decrypted = crypto_aead_xchacha20poly1305_ietf_decrypt(
            &out, &length, nil, ciphertext, UInt64(ciphertext.count), label, UInt64(label.count),
            nonce, contentKey)
        signLink()
        checksum ^= UInt8(truncatingIfNeeded: verified + opened + decrypted) ^ message[0] ^ out[0]
    }

    /// One group box re-wrapped: opened with the old group key, sealed to the new one.
    package func rewrapBox() {
        var message = [UInt8](repeating: 0, count: Self.slotMessageByteCount)
        let opened = crypto_box_seal_open(
            &message, slot, UInt64(slot.count), boxPublic, boxSecret)
        var box = [UInt8](repeating: 0, count: slot.count)
        crypto_box_seal(&box, message, UInt64(message.count), boxPublic)
        checksum ^= UInt8(truncatingIfNeeded: opened) ^ box[0]
    }

    /// One audit entry appended: sign, then hash the signed bytes and signature.
    package func appendEntry() { signLink() }

    /// One audit entry verified: hash and Ed25519 verification.
    package func verifyEntry() {
        var h = [UInt8](repeating: 0, count: 32)
        hash([audit, auditSignature], into: &h)
        let verified = crypto_sign_verify_detached(
            auditSignature, audit, UInt64(audit.count), signPublic)
        checksum ^= h[0] ^ UInt8(truncatingIfNeeded: verified)
    }
}
