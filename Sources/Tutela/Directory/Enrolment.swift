public import TutelaCrypto

/// An enrolment (or a re-key after a lost passphrase) waiting for its person: what an
/// administrator signed — who, which roles, until when, and the public key of the one-time code
/// they were given. No private key of theirs exists until they activate it themselves.
public struct Invitation: Sendable, Equatable {
    /// Who is to enrol.
    public let principal: PrincipalID
    /// Their name, for people to read.
    public let name: String
    /// The roles they will hold.
    public let roles: [Role]
    /// The administrator who signed the invitation.
    public let invitedBy: PrincipalID
    /// The Ed25519 public key the enrolment code derives; the code itself is never stored.
    public let codeKey: SigningPublicKey
    /// When it was made, and when the code stops working (seconds since 1970 UTC).
    public let invitedAt: Int64
    public let expires: Int64
    /// True for new keys for someone already enrolled, false for a first enrolment.
    public let reissue: Bool

    static func codeKey(_ bytes: [UInt8]) throws(TutelaError) -> SigningPublicKey {
        do { return try SigningPublicKey(bytes: bytes) } catch {
            throw .invalidInput("bad enrolment code key: \(error)")
        }
    }

    /// What the code's key signs when its person activates: this vault, this person, their new
    /// public keys — so a proof can be neither replayed elsewhere nor moved to other keys.
    static func activationMessage(
        vaultID: String, principal: PrincipalID, identity: PublicIdentity
    ) -> [UInt8] {
        var w = CanonicalWriter()
        w.string("tutela/activate/v1")
        w.string(vaultID)
        w.id(principal)
        w.fixed(identity.signingKey.bytes)
        w.fixed(identity.agreementKey.bytes)
        return w.bytes
    }
}

/// A one-time enrolment code: 160 random bits, shown once to the administrator who makes it, to be
/// handed to its person (on paper, in person). Written as eight groups of four Crockford base-32
/// characters; typed in any case, with or without the dashes.
public struct EnrolmentCode: Sendable {
    /// Who it enrols.
    public let principal: PrincipalID
    /// When it stops working (seconds since 1970 UTC).
    public let expires: Int64
    /// The code's text, in protected memory.
    public let text: SecretBytes

    static let randomByteCount = 20
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)
    /// Codes live a week unless the administrator says otherwise; at most 30 days.
    public static let defaultLifetimeDays = 7
    public static let maximumLifetimeDays = 30

    /// A new random code for `principal`.
    static func generate(for principal: PrincipalID, expires: Int64) throws(TutelaError)
        -> EnrolmentCode
    {
        do {
            let random = try SecretBytes.random(count: randomByteCount)
            defer { random.wipe() }
            // 160 bits → 32 characters of 5 bits, each chosen without branching on the bits.
            let characters = randomByteCount * 8 / 5
            let grouped = characters + characters / 4 - 1
            let text = try SecretBytes(count: grouped) { out in
                random.withUnsafeBytes { bytes in
                    var o = 0
                    for c in 0..<characters {
                        if c > 0, c % 4 == 0 {
                            out[o] = UInt8(ascii: "-")
                            o += 1
                        }
                        let bit = c * 5
                        let byte = bit / 8
                        let wide =
                            UInt16(bytes[byte]) << 8
                            | UInt16(byte + 1 < bytes.count ? bytes[byte + 1] : 0)
                        let value = Int((wide >> (11 - UInt16(bit % 8))) & 31)
                        out[o] = alphabet[value]
                        o += 1
                    }
                }
            }
            return EnrolmentCode(principal: principal, expires: expires, text: text)
        } catch { throw .internal("\(error)") }
    }

    /// The key pair the code derives for `principal` in `vaultID`: its public half is what the
    /// invitation stores; its private half proves the code at activation.
    static func key(
        code: SecretBytes, principal: PrincipalID, vaultID: String
    ) throws(TutelaError) -> SigningPrivateKey {
        let normalised = try normalise(code)
        defer { normalised.wipe() }
        do {
            var info = CanonicalWriter()
            info.string("tutela/enrolment-code/v1")
            info.string(vaultID)
            info.id(principal)
            let seed = try HKDFSHA256.deriveKey(
                inputKeyMaterial: normalised, salt: [], info: info.bytes, outputByteCount: 32)
            defer { seed.wipe() }
            return try SigningPrivateKey(seed: seed)
        } catch { throw .internal("\(error)") }
    }

    /// The code's characters as typed, upper-cased, without dashes or spaces, with the letters
    /// people confuse read as the digits they look like (I, L → 1; O → 0).
    /// - Throws: `.usage` for a character that is not part of any code, or the wrong length.
    static func normalise(_ typed: SecretBytes) throws(TutelaError) -> SecretBytes {
        let wanted = randomByteCount * 8 / 5
        var bad = false
        var count = 0
        let result: SecretBytes
        do {
            result = try SecretBytes(count: wanted) { out in
                typed.withUnsafeBytes { bytes in
                    for var b in bytes {
                        if b == UInt8(ascii: "-") || b == 32 || b == 10 || b == 13 { continue }
                        if b >= UInt8(ascii: "a"), b <= UInt8(ascii: "z") { b -= 32 }
                        if b == UInt8(ascii: "I") || b == UInt8(ascii: "L") {
                            b = UInt8(ascii: "1")
                        }
                        if b == UInt8(ascii: "O") { b = UInt8(ascii: "0") }
                        guard alphabet.contains(b), count < wanted else {
                            bad = true
                            return
                        }
                        out[count] = b
                        count += 1
                    }
                }
            }
        } catch { throw .internal("\(error)") }
        guard !bad, count == wanted else {
            result.wipe()
            throw .usage(
                "that is not an enrolment code: a code is 32 letters and digits, in groups of four",
                hint: "type it as it was printed; dashes and case do not matter")
        }
        return result
    }
}

extension Vault {
    /// Activates `principalID`'s enrolment (or reissue) with the code an administrator gave them:
    /// makes their keys here, seals them under `passphrase`, and publishes the public halves in a
    /// directory statement signed by the new key, with the code's proof. Only this process ever
    /// holds the private keys.
    /// - Returns: the new public identity; its fingerprint is worth comparing with a colleague's.
    /// - Throws: `.notFound` when nothing waits for them; `.permissionDenied` for a wrong or
    ///   expired code; `.usage` for a short passphrase or a malformed code.
    @discardableResult
    public func activate(
        _ principalID: PrincipalID, code: SecretBytes, passphrase: Passphrase
    ) async throws -> PublicIdentity {
        try passphrase.validateAsNew()
        let (meta, directory) = try await verifiedDirectory()
        try await checkPin(meta, directory: directory)
        let principalID = directory.resolve(principalID)
        guard let invitation = directory.invitations[principalID] else {
            if directory.principals[principalID] != nil {
                throw TutelaError.exists(
                    "'\(principalID)' is enrolled and has no enrolment code waiting",
                    hint: "an administrator reissues one after a lost passphrase")
            }
            throw TutelaError.notFound("there is no enrolment waiting for '\(principalID)'")
        }
        guard clock.now() <= invitation.expires else {
            throw TutelaError.denied(
                "the enrolment code for '\(principalID)' expired on "
                    + Timestamp.iso(invitation.expires),
                hint: "ask an administrator for a new one")
        }
        let codeKey = try EnrolmentCode.key(
            code: code, principal: principalID, vaultID: meta.vaultID)
        guard codeKey.publicKey == invitation.codeKey else {
            throw TutelaError.denied(
                "that is not the enrolment code for '\(principalID)'",
                hint: "type it exactly as it was printed; ask an administrator for a new one")
        }
        let fresh = try Identity.generate(principal: principalID)
        let pub = fresh.publicIdentity
        let proof: [UInt8]
        do {
            proof = try codeKey.sign(
                Invitation.activationMessage(
                    vaultID: meta.vaultID, principal: principalID, identity: pub))
        } catch { throw TutelaError.internal("\(error)") }
        let sealed = try SealedIdentity.seal(
            fresh, passphrase: passphrase, cost: directory.kdfProfile.cost)
        let principal =
            directory.principals[principalID]
            ?? Principal(
                id: principalID, name: invitation.name, roles: invitation.roles, identity: pub,
                isAuthority: false, enrolledBy: invitation.invitedBy)
        let session = Session(
            vault: self, meta: meta, directory: directory, principal: principal, identity: fresh,
            activating: true)
        try await session.decidingAfresh {
            try await session.appendStatement(
                .activate(
                    principal: principalID, signingKey: pub.signingKey.bytes,
                    agreementKey: pub.agreementKey.bytes, proof: proof),
                audit: .activate, subject: principalID.text
            ) { tx in
                if invitation.reissue {
                    try await tx.replace(sealed)
                } else {
                    try await tx.insert(sealed)
                }
            }
        }
        try await session.settle()
        return pub
    }
}
