public import TutelaCrypto

/// A passphrase, held in protected memory from the moment Tutela receives it.
public struct Passphrase: Sendable {
    /// New passphrases shorter than this are refused.
    public static let minimumLength = 12
    let bytes: SecretBytes

    /// Wraps a passphrase someone typed or supplied. Trailing newlines (from a file) are removed.
    /// The text is copied straight into protected memory (no array on the way).
    public init(_ text: String) throws(TutelaError) {
        var trimmed = Substring(text)
        // `isNewline`, not a comparison with "\n": a Windows line ending is one Character, "\r\n".
        while let last = trimmed.last, last.isNewline { trimmed = trimmed.dropLast() }
        let utf8 = trimmed.utf8
        do {
            bytes = try SecretBytes(count: utf8.count) { out in out.copyBytes(from: utf8) }
        } catch { throw .internal("\(error)") }
        characterCount = trimmed.unicodeScalars.count
    }

    /// Wraps a passphrase read into protected memory (from a file or a terminal), which it copies:
    /// the caller wipes `secret`. Trailing line endings are removed.
    /// - Throws: `.usage` unless the bytes are UTF-8 text.
    public init(secret: SecretBytes) throws(TutelaError) {
        let (length, scalars) = secret.withUnsafeBytes { raw -> (Int, Int?) in
            var end = raw.count
            while end > 0, raw[end - 1] == UInt8(ascii: "\n") || raw[end - 1] == UInt8(ascii: "\r")
            {
                end -= 1
            }
            // Validated and counted in place: no decoded copy of the passphrase is made.
            var iterator = raw[0..<end].makeIterator()
            var decoder = UTF8()
            var count = 0
            while true {
                switch decoder.decode(&iterator) {
                case .scalarValue: count += 1
                case .emptyInput: return (end, count)
                case .error: return (end, nil)
                }
            }
        }
        guard let scalars else {
            throw .usage("the passphrase is not UTF-8 text", hint: "save the file as UTF-8")
        }
        do { bytes = try secret.slice(0..<length) } catch { throw .internal("\(error)") }
        characterCount = scalars
    }

    /// Its length in characters (Unicode scalars), for the minimum a new one must have.
    let characterCount: Int

    /// Refuses a new passphrase that is too short.
    public func validateAsNew() throws(TutelaError) {
        guard characterCount >= Self.minimumLength else {
            throw .usage(
                "the passphrase is \(characterCount) characters; at least \(Self.minimumLength) are required",
                hint: "a few unrelated words make a long passphrase that is easy to remember")
        }
    }
}

/// The public half of a person's identity, as enrolled in the directory.
public struct PublicIdentity: Sendable, Hashable {
    /// The Ed25519 key that verifies what they sign.
    public let signingKey: SigningPublicKey
    /// The X25519 key that key slots and boxes for them are sealed to.
    public let agreementKey: KeyAgreementPublicKey

    /// A short, stable fingerprint to read aloud or print: 8 groups of 4 hex digits.
    public var fingerprint: String {
        let digest =
            (try? BLAKE2b.hash(
                parts: [Array("tutela/fingerprint/v1".utf8), signingKey.bytes, agreementKey.bytes],
                outputByteCount: 16)) ?? []
        let hex = digest.map { byte in
            let s = String(byte, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined()
        var groups: [String] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let end = hex.index(index, offsetBy: 4, limitedBy: hex.endIndex) ?? hex.endIndex
            groups.append(String(hex[index..<end]))
            index = end
        }
        return groups.joined(separator: "-")
    }
}

/// A person's unlocked identity: their Ed25519 signing key and X25519 key-agreement key.
public struct Identity: Sendable {
    /// The id of the principal whose keys these are.
    public let principal: PrincipalID
    let signing: SigningPrivateKey
    let agreement: KeyAgreementPrivateKey
    /// Their second factor (an authenticator app's key and their recovery codes), if enrolled.
    var secondFactor: SecondFactor? = nil

    /// The public halves of both keys, which must match what the directory holds for them.
    public var publicIdentity: PublicIdentity {
        PublicIdentity(signingKey: signing.publicKey, agreementKey: agreement.publicKey)
    }

    /// A fresh identity with new random keys.
    static func generate(principal: PrincipalID) throws(TutelaError) -> Identity {
        do {
            return Identity(
                principal: principal, signing: try SigningPrivateKey(),
                agreement: try KeyAgreementPrivateKey())
        } catch { throw .internal("could not generate keys: \(error)") }
    }

    func sign(_ message: [UInt8]) throws(TutelaError) -> [UInt8] {
        do { return try signing.sign(message) } catch {
            throw .internal("signing failed: \(error)")
        }
    }
}

/// An identity's private keys at rest, sealed under a key derived from the passphrase.
///
/// Plaintext: Ed25519 seed (32) ‖ X25519 secret (32) ‖ the second factor, if enrolled.
/// Key: Argon2id(passphrase, salt, cost).
/// AEAD: XChaCha20-Poly1305 with the principal id, both public keys and the cost as associated data,
/// so a sealed key cannot be moved to another person or given a different cost.
public struct SealedIdentity: Sendable, Equatable {
    /// The id of the principal whose keys these are; bound to the ciphertext.
    public let principal: PrincipalID
    /// Their Ed25519 public key (32 bytes), kept in the clear and bound to the ciphertext.
    public let signingKey: [UInt8]
    /// Their X25519 public key (32 bytes), kept in the clear and bound to the ciphertext.
    public let agreementKey: [UInt8]
    /// The random 16-byte Argon2id salt.
    public let salt: [UInt8]
    /// The Argon2id operations limit the key was derived with; bound to the ciphertext.
    public let opsLimit: UInt64
    /// The Argon2id memory limit, in bytes, the key was derived with; bound to the ciphertext.
    public let memLimit: UInt64
    /// The 24-byte XChaCha20-Poly1305 nonce.
    public let nonce: [UInt8]
    /// The encrypted private keys (64 bytes, then the second factor if any) and the 16-byte tag.
    public let ciphertext: [UInt8]

    /// Reassembles a sealed identity read from storage; nothing is checked until it is unlocked.
    public init(
        principal: PrincipalID, signingKey: [UInt8], agreementKey: [UInt8], salt: [UInt8],
        opsLimit: UInt64, memLimit: UInt64, nonce: [UInt8], ciphertext: [UInt8]
    ) {
        self.principal = principal
        self.signingKey = signingKey
        self.agreementKey = agreementKey
        self.salt = salt
        self.opsLimit = opsLimit
        self.memLimit = memLimit
        self.nonce = nonce
        self.ciphertext = ciphertext
    }

    private static func associatedData(
        principal: PrincipalID, signingKey: [UInt8], agreementKey: [UInt8], ops: UInt64, mem: UInt64
    ) -> [UInt8] {
        var w = CanonicalWriter()
        w.string("tutela/identity/v1")
        w.string(principal.text)
        w.fixed(signingKey)
        w.fixed(agreementKey)
        w.u64(ops)
        w.u64(mem)
        return w.bytes
    }

    /// Seals `identity` under `passphrase` at `cost`.
    static func seal(
        _ identity: Identity, passphrase: Passphrase, cost: PasswordKDF.Cost
    ) throws(TutelaError) -> SealedIdentity {
        let salt: [UInt8]
        let key: SecretBytes
        do {
            salt = try PasswordKDF.generateSalt()
            key = try PasswordKDF.deriveKey(passphrase: passphrase.bytes, salt: salt, cost: cost)
        } catch { throw .internal("could not seal the identity: \(error)") }
        return try seal(identity, key: key, salt: salt, cost: cost)
    }

    /// Seals `identity` under `key`, already derived from the passphrase with `salt` at `cost`
    /// (a fresh nonce: a key may seal more than once).
    static func seal(
        _ identity: Identity, key: SecretBytes, salt: [UInt8], cost: PasswordKDF.Cost
    ) throws(TutelaError) -> SealedIdentity {
        do {
            var secrets = try identity.signing.seed.appending(identity.agreement.secret)
            if let factor = identity.secondFactor {
                secrets = try secrets.appending(factor.encoded())
            }
            let pub = identity.publicIdentity
            let ad = associatedData(
                principal: identity.principal, signingKey: pub.signingKey.bytes,
                agreementKey: pub.agreementKey.bytes, ops: cost.opsLimit, mem: cost.memLimit)
            let sealed = try XChaCha20Poly1305.seal(secrets, key: key, authenticating: ad)
            return SealedIdentity(
                principal: identity.principal, signingKey: pub.signingKey.bytes,
                agreementKey: pub.agreementKey.bytes, salt: salt, opsLimit: cost.opsLimit,
                memLimit: cost.memLimit, nonce: sealed.nonce, ciphertext: sealed.ciphertext)
        } catch { throw .internal("could not seal the identity: \(error)") }
    }

    /// Unlocks the private keys with `passphrase`.
    /// - Throws: permission denied for a wrong passphrase; data error for a stored cost out of range
    ///   or keys that do not match the stored public keys.
    func unlock(with passphrase: Passphrase) throws(TutelaError) -> Identity {
        try unlockKeepingKey(with: passphrase).identity
    }

    /// ``unlock(with:)``, also giving the key derived from the passphrase, to seal a changed
    /// identity under the same passphrase without deriving it again.
    func unlockKeepingKey(
        with passphrase: Passphrase
    ) throws(TutelaError) -> (identity: Identity, key: SecretBytes, cost: PasswordKDF.Cost) {
        let cost: PasswordKDF.Cost
        do { cost = try PasswordKDF.Cost(opsLimit: opsLimit, memLimit: memLimit) } catch {
            throw .tampered(
                "the stored key of '\(principal)' asks for an unacceptable cost: \(error)")
        }
        let secrets: SecretBytes
        let key: SecretBytes
        do {
            key = try PasswordKDF.deriveKey(
                passphrase: passphrase.bytes, salt: salt, cost: cost)
            let ad = Self.associatedData(
                principal: principal, signingKey: signingKey, agreementKey: agreementKey,
                ops: opsLimit, mem: memLimit)
            secrets = try XChaCha20Poly1305.open(
                .init(nonce: nonce, ciphertext: ciphertext), key: key, authenticating: ad)
        } catch CryptoError.authenticationFailed {
            throw .denied(
                "wrong passphrase for '\(principal)'",
                hint: "passphrases are case-sensitive; after a few failures ask an administrator")
        } catch {
            throw .tampered("the stored key of '\(principal)' cannot be read: \(error)")
        }
        defer { secrets.wipe() }
        do {
            guard secrets.count >= 64 else { throw CryptoError.authenticationFailed }
            let identity = Identity(
                principal: principal,
                signing: try SigningPrivateKey(seed: secrets.slice(0..<32)),
                agreement: try KeyAgreementPrivateKey(secret: secrets.slice(32..<64)),
                secondFactor: secrets.count == 64
                    ? nil : try SecondFactor(decoding: secrets.slice(64..<secrets.count)))
            guard identity.signing.publicKey.bytes == signingKey,
                identity.agreement.publicKey.bytes == agreementKey
            else { throw CryptoError.authenticationFailed }
            return (identity, key, cost)
        } catch {
            throw .tampered("the stored key of '\(principal)' does not match its public keys")
        }
    }
}
