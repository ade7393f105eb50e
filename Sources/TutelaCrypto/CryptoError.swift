/// The one error type of the crypto layer.
///
/// Every failure of a cryptographic operation is thrown as a `CryptoError`; nothing in this module
/// returns `nil` or a default value when cryptography fails. Descriptions name the problem and never
/// contain key material or plaintext.
public enum CryptoError: Error, Equatable, Sendable {
    /// libsodium could not be initialised (no entropy source, or a broken installation).
    case initializationFailed
    /// Secure memory could not be allocated (address space or locked-memory limits).
    case allocationFailed(byteCount: Int)
    /// A key, nonce, tag, signature or share had the wrong length.
    case invalidLength(what: String, expected: String, actual: Int)
    /// An authenticated ciphertext, sealed box or MAC did not verify: wrong key or tampered bytes.
    case authenticationFailed
    /// A signature did not verify against the public key.
    case invalidSignature
    /// A public key was rejected (for example a low-order X25519 point giving an all-zero secret).
    case invalidPublicKey
    /// The password-based key derivation failed, usually because memory could not be reserved.
    case keyDerivationFailed
    /// A stored key-derivation cost is outside the range Tutela accepts.
    case costOutOfRange(opsLimit: UInt64, memLimit: UInt64)
    /// A requested output length is outside what the primitive can produce.
    case outputLengthOutOfRange(requested: Int, maximum: Int)
    /// Secret-sharing parameters make no sense (threshold above share count, zero shares, …).
    case invalidSharingParameters(threshold: Int, shares: Int)
    /// A secret share is malformed (bad version, zero index, wrong length).
    case malformedShare(reason: String)
    /// Fewer shares than the threshold were supplied.
    case insufficientShares(required: Int, supplied: Int)
    /// The same share index was supplied twice.
    case duplicateShare(index: Int)
    /// Shares from different splits (different thresholds) were mixed.
    case inconsistentShares
    /// An operating-system hardening step failed.
    case hardeningFailed(step: String)
    /// A key was used after it was wiped.
    case keyWiped
}

extension CryptoError: CustomStringConvertible {
    /// What went wrong, in a short phrase; never key material or plaintext.
    public var description: String {
        switch self {
        case .initializationFailed:
            return "the cryptographic library could not be initialised"
        case .allocationFailed(let byteCount):
            return "could not allocate \(byteCount) bytes of protected memory"
        case .invalidLength(let what, let expected, let actual):
            return "\(what) must be \(expected) bytes, got \(actual)"
        case .authenticationFailed:
            return "authentication failed: wrong key or the data was altered"
        case .invalidSignature:
            return "the signature does not verify"
        case .invalidPublicKey:
            return "the public key was rejected"
        case .keyDerivationFailed:
            return "the passphrase key derivation failed (not enough memory?)"
        case .costOutOfRange(let ops, let mem):
            return "key-derivation cost out of the accepted range (ops \(ops), memory \(mem) bytes)"
        case .outputLengthOutOfRange(let requested, let maximum):
            return "requested output of \(requested) bytes exceeds the maximum of \(maximum)"
        case .invalidSharingParameters(let threshold, let shares):
            return "cannot split into \(shares) shares with threshold \(threshold)"
        case .malformedShare(let reason):
            return "malformed secret share: \(reason)"
        case .insufficientShares(let required, let supplied):
            return "\(required) shares are required, \(supplied) supplied"
        case .duplicateShare(let index):
            return "share \(index) was supplied more than once"
        case .inconsistentShares:
            return "the shares come from different splits"
        case .hardeningFailed(let step):
            return "process hardening failed: \(step)"
        case .keyWiped:
            return "a key was used after it was wiped"
        }
    }
}
