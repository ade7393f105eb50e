public import TutelaCrypto

/// One trustee's share of the authority's private keys, as a small text file.
///
/// The Ed25519 seed and the X25519 secret are each split k-of-n (Shamir over GF(2^8)); a share file
/// holds share `index` of both, with the vault, authority and fingerprint it belongs to, the split
/// it came from and the trustee it was made for, and a commitment to its share values that the
/// authority signed when it split its keys. A file altered, mixed in from another split or another
/// vault, or made up, is named — by trustee — before anything is rebuilt.
///
/// The share values never leave protected memory: the file is built and read as ``SecretBytes``,
/// hex by libsodium's constant-time codec.
public struct AuthorityShare: Sendable {
    /// The id of the vault whose authority the share belongs to.
    public let vaultID: String
    /// The authority's principal id.
    public let authority: PrincipalID
    /// The authority's fingerprint when the keys were split, for a trustee to compare by eye.
    public let fingerprint: String
    /// The split this share came from (random hex, the same in every file of one split).
    public let splitID: String
    /// Who the share was made for, as the authority named them when it split its keys.
    public let trustee: String
    /// How many shares of this split rebuild the authority.
    public let threshold: Int
    /// How many shares the split made.
    public let shareCount: Int
    /// This share's number within its split, 1…255.
    public let index: Int
    let seed: SecretShare
    let agreement: SecretShare
    /// BLAKE2b-256 of the two share values, keyed by the split and the share's number.
    let commitment: [UInt8]
    /// The authority's signature over ``signedBytes``.
    let signature: [UInt8]

    static let firstLine = "tutela authority share v2"
    /// The largest share file Tutela reads.
    public static let maximumFileBytes = 4096
    static let maximumTrusteeBytes = 128

    /// What the authority signs for each share: every public field and the commitment.
    var signedBytes: [UInt8] {
        var w = CanonicalWriter()
        w.string("tutela/authority-share/v2")
        w.string(vaultID)
        w.id(authority)
        w.string(fingerprint)
        w.string(splitID)
        w.string(trustee)
        w.u32(UInt32(threshold))
        w.u32(UInt32(shareCount))
        w.u32(UInt32(index))
        w.fixed(commitment)
        return w.bytes
    }

    /// The commitment to `seed` and `agreement` as share `index` of split `splitID`.
    static func commitment(
        splitID: String, index: Int, seed: SecretShare, agreement: SecretShare
    ) throws(TutelaError) -> [UInt8] {
        do {
            var w = CanonicalWriter()
            w.string("tutela/authority-share-commitment/v2")
            w.string(splitID)
            w.u32(UInt32(index))
            let key = try SecretBytes(copying: try BLAKE2b.hash(w.bytes))
            let values = try seed.serialized().appending(try agreement.serialized())
            defer { values.wipe() }
            return try BLAKE2b.commitment(to: values, key: key)
        } catch { throw .internal("\(error)") }
    }

    /// Share `seed`/`agreement` of a split, committed to and signed by the authority `signer`.
    static func make(
        vaultID: String, authority: Identity, fingerprint: String, splitID: String, trustee: String,
        shareCount: Int, seed: SecretShare, agreement: SecretShare
    ) throws(TutelaError) -> AuthorityShare {
        let unsigned = AuthorityShare(
            vaultID: vaultID, authority: authority.principal, fingerprint: fingerprint,
            splitID: splitID, trustee: trustee, threshold: seed.threshold, shareCount: shareCount,
            index: seed.index, seed: seed, agreement: agreement,
            commitment: try commitment(
                splitID: splitID, index: seed.index, seed: seed, agreement: agreement),
            signature: [])
        return AuthorityShare(
            vaultID: vaultID, authority: authority.principal, fingerprint: fingerprint,
            splitID: splitID, trustee: trustee, threshold: seed.threshold, shareCount: shareCount,
            index: seed.index, seed: seed, agreement: agreement, commitment: unsigned.commitment,
            signature: try authority.sign(unsigned.signedBytes))
    }

    /// Names this file for a person: whose it is and which share.
    public var name: String {
        "the share file of \(trustee) (share \(index) of \(shareCount))"
    }

    /// Checks the file against the authority as the directory has it: signed by its key, and the
    /// share values the ones that were signed.
    /// - Throws: `.invalidInput` naming the trustee whose file is wrong.
    func check(authority: Principal) throws(TutelaError) {
        do { try authority.identity.signingKey.verify(signature, for: signedBytes) } catch {
            if authority.everySigningKey.contains(where: {
                (try? $0.verify(signature, for: signedBytes)) != nil
            }) {
                throw .invalidInput(
                    "\(name) is from a split made before the authority's keys were replaced: it "
                        + "rebuilds keys the vault no longer trusts",
                    hint: "recover from a split made since; after a re-key, split again")
            }
            throw .invalidInput(
                "\(name) was not signed by this vault's authority as it stands, or its header was "
                    + "altered",
                hint: "ask \(trustee) for their file as it was given to them")
        }
        let recomputed = try Self.commitment(
            splitID: splitID, index: index, seed: seed, agreement: agreement)
        guard recomputed == commitment else {
            throw .invalidInput(
                "\(name) holds share values that are not the ones the authority split: the file "
                    + "was altered or damaged",
                hint: "ask \(trustee) for their file as it was given to them")
        }
    }

    /// The file's bytes, in protected memory. They are secret: whoever holds `threshold` of these
    /// holds the authority.
    public func file() throws(TutelaError) -> SecretBytes {
        do {
            func line(_ text: String) throws(CryptoError) -> SecretBytes {
                try SecretBytes(copying: Array((text + "\n").utf8))
            }
            return try SecretBytes.joined([
                try line(
                    [
                        Self.firstLine, "vault: \(vaultID)", "authority: \(authority)",
                        "fingerprint: \(fingerprint)", "split: \(splitID)", "trustee: \(trustee)",
                        "threshold: \(threshold)", "shares: \(shareCount)", "share: \(index)",
                    ].joined(separator: "\n")),
                try SecretBytes(copying: Array("seed-share: ".utf8)),
                try seed.serialized().hexEncoded(),
                try SecretBytes(copying: Array("\nagreement-share: ".utf8)),
                try agreement.serialized().hexEncoded(),
                try line(
                    "\ncommitment: \(Hex.encode(commitment))\nsignature: \(Hex.encode(signature))"),
            ])
        } catch { throw .internal("\(error)") }
    }

    /// Parses share file text strictly (tests and fuzzing; the CLI reads files with
    /// ``parse(file:)`` so the text never sits in ordinary memory).
    public static func parse(_ text: String) throws(TutelaError) -> AuthorityShare {
        let file: SecretBytes
        do { file = try SecretBytes(copying: Array(text.utf8)) } catch {
            throw .internal("\(error)")
        }
        defer { file.wipe() }
        return try parse(file: file)
    }

    /// Parses a share file's bytes strictly, the share values straight into protected memory.
    public static func parse(file: SecretBytes) throws(TutelaError) -> AuthorityShare {
        func bad(_ what: String) -> TutelaError {
            .invalidInput("the share file is not valid: \(what)")
        }
        guard file.count <= maximumFileBytes else { throw bad("it is too large") }
        // Lines, without their ending: any line ending, so a file saved on Windows reads the same.
        var lines: [Range<Int>] = []
        var start = 0
        while start < file.count {
            let end = file.firstIndex(of: UInt8(ascii: "\n"), from: start) ?? file.count
            var last = end
            if last > start, file.matches((last - 1)..<last, [UInt8(ascii: "\r")]) { last -= 1 }
            if last > start { lines.append(start..<last) }
            start = end + 1
        }
        guard let first = lines.first, file.matches(first, Array(firstLine.utf8)) else {
            throw bad("the first line must be '\(firstLine)'")
        }
        var publicFields: [String: String] = [:]
        var secretFields: [String: Range<Int>] = [:]
        let secretNames: Set<String> = ["seed-share", "agreement-share"]
        for line in lines.dropFirst() {
            guard let colon = file.firstIndex(of: UInt8(ascii: ":"), from: line.lowerBound),
                colon < line.upperBound
            else { throw bad("a line has no ':'") }
            let name = String(decoding: file.publicPart(line.lowerBound..<colon), as: UTF8.self)
            var valueStart = colon + 1
            var valueEnd = line.upperBound
            while valueStart < valueEnd, file.matches(valueStart..<(valueStart + 1), [32]) {
                valueStart += 1
            }
            while valueEnd > valueStart, file.matches((valueEnd - 1)..<valueEnd, [32]) {
                valueEnd -= 1
            }
            guard publicFields[name] == nil, secretFields[name] == nil else {
                throw bad("a field appears twice")
            }
            if secretNames.contains(name) {
                secretFields[name] = valueStart..<valueEnd
            } else {
                publicFields[name] = String(
                    decoding: file.publicPart(valueStart..<valueEnd), as: UTF8.self)
            }
        }
        func share(_ name: String) throws(TutelaError) -> SecretShare {
            do {
                guard let range = secretFields[name],
                    let bytes = try file.hexDecoded(
                        range, byteCount: SecretShare.serializedByteCount)
                else { throw bad("\(name) is missing or not hex") }
                defer { bytes.wipe() }
                return try SecretShare(serialized: bytes)
            } catch let error as TutelaError {
                throw error
            } catch {
                throw bad("\(name): \(error)")
            }
        }
        func hex(_ name: String, _ count: Int) throws(TutelaError) -> [UInt8] {
            guard let bytes = publicFields[name].flatMap(Hex.decode), bytes.count == count else {
                throw bad("\(name) is missing or not \(count) bytes of hex")
            }
            return bytes
        }
        guard let vault = publicFields["vault"],
            let authority = publicFields["authority"].flatMap({ PrincipalID(validating: $0) }),
            let fingerprint = publicFields["fingerprint"],
            let split = publicFields["split"], Hex.decode(split)?.count == 16,
            let trustee = publicFields["trustee"], !trustee.isEmpty,
            trustee.utf8.count <= maximumTrusteeBytes,
            !Identifier.hasControlCharacters(trustee.utf8),
            let threshold = publicFields["threshold"].flatMap({ Int($0) }),
            let shareCount = publicFields["shares"].flatMap({ Int($0) }),
            let index = publicFields["share"].flatMap({ Int($0) }),
            (1...255).contains(shareCount), (1...shareCount).contains(index)
        else {
            throw bad(
                "vault, authority, fingerprint, split, trustee, threshold, shares and share are "
                    + "required")
        }
        let result = AuthorityShare(
            vaultID: vault, authority: authority, fingerprint: fingerprint, splitID: split,
            trustee: trustee, threshold: threshold, shareCount: shareCount, index: index,
            seed: try share("seed-share"), agreement: try share("agreement-share"),
            commitment: try hex("commitment", 32), signature: try hex("signature", 64))
        guard result.seed.index == index, result.agreement.index == index,
            result.seed.threshold == threshold,
            result.agreement.threshold == threshold
        else { throw bad("the share's numbers do not agree") }
        return result
    }
}

extension Vault {
    /// Rebuilds the authority from trustee shares and seals it under a new passphrase. The rebuilt
    /// keys must be exactly the enrolled ones (the authority's current keys), so the vault's
    /// fingerprint never changes; a split made before the authority re-keyed itself is refused.
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
        for share in shares
        where share.vaultID != meta.vaultID || share.authority != meta.authorityID {
            throw TutelaError.invalidInput(
                "\(share.name) belongs to another vault or authority (\(share.vaultID))")
        }
        for share in shares { try share.check(authority: authority) }
        try Self.checkOneSplit(shares)
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

    /// Refuses shares from different splits, or two files holding the same share, naming whose.
    static func checkOneSplit(_ shares: [AuthorityShare]) throws(TutelaError) {
        guard let first = shares.first else {
            throw TutelaError.invalidInput("no share files were given")
        }
        for share in shares.dropFirst() where share.splitID != first.splitID {
            throw TutelaError.invalidInput(
                "\(share.name) comes from another split than \(first.name): files of different "
                    + "splits never combine",
                hint: "use files from one split; a newer split replaces the files of an older one")
        }
        var seen: [Int: AuthorityShare] = [:]
        for share in shares {
            if let other = seen.updateValue(share, forKey: share.index) {
                throw TutelaError.invalidInput(
                    "\(share.name) and \(other.name) are the same share: give each trustee's "
                        + "file once")
            }
        }
        guard shares.count >= first.threshold else {
            throw TutelaError.invalidInput(
                "\(first.threshold) shares are needed to recover the authority; \(shares.count) "
                    + "were given")
        }
    }
}
