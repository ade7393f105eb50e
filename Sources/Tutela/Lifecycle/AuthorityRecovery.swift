import TutelaCrypto

/// One trustee's share of the authority's private keys, as a small text file.
///
/// The Ed25519 seed and the X25519 secret are each split k-of-n (Shamir over GF(2^8)); a share file
/// holds share `index` of both, with the vault, authority and fingerprint it belongs to.
public struct AuthorityShare: Sendable {
    /// The id of the vault whose authority the share belongs to.
    public let vaultID: String
    /// The authority's principal id.
    public let authority: PrincipalID
    /// The authority's fingerprint when the keys were split, for a trustee to compare by eye.
    public let fingerprint: String
    /// How many shares of this split rebuild the authority.
    public let threshold: Int
    /// This share's number within its split, 1…255.
    public let index: Int
    let seed: SecretShare
    let agreement: SecretShare

    static let firstLine = "tutela authority share v1"

    /// The file's text. It is secret: whoever holds `threshold` of these holds the authority.
    public func text() throws(TutelaError) -> String {
        do {
            return [
                Self.firstLine, "vault: \(vaultID)", "authority: \(authority)",
                "fingerprint: \(fingerprint)",
                "threshold: \(threshold)", "share: \(index)",
                "seed-share: \(Hex.encode(try seed.serialized().unprotectedCopy()))",
                "agreement-share: \(Hex.encode(try agreement.serialized().unprotectedCopy()))",
            ].joined(separator: "\n") + "\n"
        } catch { throw .internal("\(error)") }
    }

    /// Parses a share file strictly.
    public static func parse(_ text: String) throws(TutelaError) -> AuthorityShare {
        func bad(_ what: String) -> TutelaError {
            .invalidInput("the share file is not valid: \(what)")
        }
        guard text.utf8.count <= 4096 else { throw bad("it is too large") }
        // Any line ending, so a share file saved on Windows reads the same.
        let lines = text.split(whereSeparator: \.isNewline).map(String.init)
        guard lines.first == firstLine else { throw bad("the first line must be '\(firstLine)'") }
        var fields: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { throw bad("a line has no ':'") }
            guard
                fields.updateValue(
                    line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces),
                    forKey: String(line[..<colon])) == nil
            else { throw bad("a field appears twice") }
        }
        func share(_ name: String) throws(TutelaError) -> SecretShare {
            guard let hex = fields[name], let bytes = Hex.decode(hex) else {
                throw bad("\(name) is missing or not hex")
            }
            do { return try SecretShare(serialized: SecretBytes(copying: bytes)) } catch {
                throw bad("\(name): \(error)")
            }
        }
        guard let vault = fields["vault"],
            let authority = fields["authority"].flatMap({ PrincipalID(validating: $0) }),
            let fingerprint = fields["fingerprint"],
            let threshold = fields["threshold"].flatMap({ Int($0) }),
            let index = fields["share"].flatMap({ Int($0) })
        else { throw bad("vault, authority, fingerprint, threshold and share are required") }
        let result = AuthorityShare(
            vaultID: vault, authority: authority, fingerprint: fingerprint, threshold: threshold,
            index: index,
            seed: try share("seed-share"), agreement: try share("agreement-share"))
        guard result.seed.index == index, result.agreement.index == index,
            result.seed.threshold == threshold,
            result.agreement.threshold == threshold
        else { throw bad("the share's numbers do not agree") }
        return result
    }
}

extension Session {

}

extension Vault {
    /// Rebuilds the authority from trustee shares and seals it under a new passphrase. The rebuilt
    /// keys must be exactly the enrolled ones, so the vault's fingerprint never changes.
    /// - Throws: data errors for too few, mixed or wrong shares.
    @discardableResult
    public func recoverAuthority(from shares: [AuthorityShare], passphrase: Passphrase) async throws
        -> PublicIdentity
    {
        try passphrase.validateAsNew()
        let (meta, directory) = try await verifiedDirectory()
        guard let authority = directory.principals[meta.authorityID] else {
            throw TutelaError.tampered("the vault has no authority")
        }
        guard shares.allSatisfy({ $0.vaultID == meta.vaultID && $0.authority == meta.authorityID })
        else {
            throw TutelaError.invalidInput("a share belongs to another vault or authority")
        }
        let identity: Identity
        do {
            let seed = try SecretSharing.combine(shares.map(\.seed))
            let secret = try SecretSharing.combine(shares.map(\.agreement))
            identity = Identity(
                principal: meta.authorityID, signing: try SigningPrivateKey(seed: seed),
                agreement: try KeyAgreementPrivateKey(secret: secret))
        } catch CryptoError.insufficientShares(let required, let supplied) {
            throw TutelaError.invalidInput(
                "\(required) shares are needed to recover the authority; \(supplied) were given")
        } catch {
            throw TutelaError.invalidInput("the shares do not rebuild the authority: \(error)")
        }
        guard identity.publicIdentity == authority.identity else {
            throw TutelaError.invalidInput(
                "the shares rebuild keys that are not this vault's authority")
        }
        let sealed = try SealedIdentity.seal(
            identity, passphrase: passphrase, cost: directory.kdfProfile.cost)
        let session = Session(
            vault: self, meta: meta, directory: directory, principal: authority, identity: identity)
        let entry = session.auditEntry(
            .authorityRecover, subject: meta.authorityID.text, reason: "\(shares.count) shares")
        // Decided afresh if the directory moves first: the authority re-keyed meanwhile (its own
        // choice, by its current keys) is never overwritten by the keys the shares rebuild.
        try await session.decidingAfresh {
            guard
                session.directory.principals[meta.authorityID]?.identity == identity.publicIdentity
            else {
                throw TutelaError.invalidInput(
                    "the shares rebuild keys the vault's authority no longer has: it was re-keyed "
                        + "since they were made")
            }
            try await session.write { tx in
                try await tx.replace(sealed)
                try await Session.appendAudit(entry, tx: tx, signer: identity)
            }
        }
        return identity.publicIdentity
    }
}
