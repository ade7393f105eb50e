public import TutelaCrypto

extension EnrolmentCode {
    /// The X25519 key pair a recovery code derives for `principal` in `vaultID`: its public half is
    /// in the request, and approvers seal their shares to it.
    static func recoveryKey(
        code: SecretBytes, principal: PrincipalID, vaultID: String
    ) throws(TutelaError) -> KeyAgreementPrivateKey {
        let normalised = try normalise(code)
        defer { normalised.wipe() }
        do {
            var info = CanonicalWriter()
            info.string("tutela/recovery-code/v1")
            info.string(vaultID)
            info.id(principal)
            let secret = try HKDFSHA256.deriveKey(
                inputKeyMaterial: normalised, salt: [], info: info.bytes, outputByteCount: 32)
            // The key keeps `secret` as its own, wiped with it.
            return try KeyAgreementPrivateKey(secret: secret)
        } catch { throw .internal("\(error)") }
    }
}

extension Vault {
    /// The person finishes a recovery with the code their administrator gave them: the shares the
    /// approvers released are combined here, the keys they rebuild must be the ones the directory
    /// names for them, the use is signed by those keys and audited first, and then the keys are
    /// replaced by new ones under `passphrase` — the rebuilt keys, which the approvers' shares
    /// and the code together could have rebuilt, sign nothing from then on.
    /// - Returns: the new public identity, with the groups whose keys were renewed.
    /// - Throws: `.notFound` when no open request for them matches the code; `.permissionDenied`
    ///   with too few approvals, or an expired or used request; `.tampered` when the shares rebuild
    ///   other keys.
    @discardableResult
    public func recoverIdentity(
        _ principalID: PrincipalID, code: SecretBytes, passphrase: Passphrase
    ) async throws -> PublicIdentity {
        try passphrase.validateAsNew()
        let (meta, directory) = try await verifiedDirectory()
        try await checkPin(meta, directory: directory)
        let principalID = directory.resolve(principalID)
        guard let person = directory.principals[principalID], !person.revoked,
            !person.awaitingKeys
        else {
            throw TutelaError.notFound("'\(principalID)' is not an enrolled person with keys")
        }
        let codeKey = try EnrolmentCode.recoveryKey(
            code: code, principal: principalID, vaultID: meta.vaultID)
        // Read as the person (their keys not yet known): verified facts need only the directory.
        let reader = Session(
            vault: self, meta: meta, directory: directory, principal: person,
            identity: try Identity.generate(principal: principalID))
        let recovery = reader.identityRecovery
        // Every request for them sealed to this code's key; the one an administrator made and
        // that is still open counts (a row someone else filed beside it changes nothing).
        let candidates = try await reader.facts(RecoveryRequest.self, about: principalID.text)
            .filter { $0.codeKey == codeKey.publicKey }
        guard !candidates.isEmpty else {
            throw TutelaError.notFound(
                "there is no identity recovery for '\(principalID)' with that code",
                hint: "type the code exactly as it was printed; ask an administrator if it expired")
        }
        var found: RecoveryRequest?
        var refusal: (any Error)?
        for candidate in candidates where found == nil {
            do { found = try await recovery.openRequest(candidate.id).0 } catch {
                refusal = error
            }
        }
        guard let request = found else {
            throw refusal ?? TutelaError.denied("no open identity recovery matches that code")
        }
        let rules = try recovery.rules()
        let approvals = IdentityRecovery.valid(
            try await reader.facts(RecoveryApproval.self, about: request.id.text), of: request,
            rules: rules, directory: directory)
        let needed = max(rules.approvals, request.approvalsNeeded)
        guard approvals.count >= needed else {
            throw TutelaError.denied(
                "\(request.id) has \(approvals.count) of the \(needed) approvals it needs",
                hint: "approvers run: tutela recovery approve \(request.id)")
        }
        guard let escrow = try await recovery.escrow(of: principalID),
            escrow.splitID == request.splitID, escrow.identity == person.identity
        else {
            throw TutelaError.denied(
                "the key shares \(request.id) releases are gone: '\(principalID)' split their "
                    + "keys again since, with a command of their own",
                hint:
                    "if you did not, tell your safeguarding lead; otherwise ask for a new recovery")
        }
        let identity = try Self.rebuild(
            approvals.prefix(needed), request: request, escrow: escrow, codeKey: codeKey)
        guard identity.publicIdentity == person.identity else {
            throw TutelaError.tampered(
                "the released shares rebuild keys that are not the ones '\(principalID)' holds")
        }
        let session = Session(
            vault: self, meta: meta, directory: directory, principal: person, identity: identity)
        try await session.decidingAfresh {
            // Asked again in the transaction's directory: the request still open, and unused.
            _ = try await session.identityRecovery.openRequest(request.id)
            try await session.record(
                session.auditEntry(
                    .identityRecover, subject: principalID.text,
                    reason:
                        "\(request.id): \(approvals.prefix(needed).map(\.approver.text).sorted().joined(separator: ", "))"
                ),
                notify: Set(approvals.map(\.approver)).union([request.requester]),
                objects: [
                    try session.sign(
                        RecoveryUse(request: request.id, time: clock.now(), signer: principalID))
                ])
        }
        try await session.lifecycle.rotateOwnKeys(passphrase: passphrase, audit: .passphraseChange)
        try await session.settle()
        let renewed = try await unlock(principalID, passphrase: passphrase)
        try? await renewed.identityRecovery.catchUpEscrow()
        try await renewed.settle()
        return renewed.principal.identity
    }

    /// The keys the escrow holds, decrypted with the key that the approvers' shares (released to
    /// the code) and the administrators' half (released to the code by the one who asked) derive.
    private static func rebuild(
        _ approvals: ArraySlice<RecoveryApproval>, request: RecoveryRequest,
        escrow: IdentityEscrow, codeKey: KeyAgreementPrivateKey
    ) throws(TutelaError) -> Identity {
        var shares: [SecretShare] = []
        for a in approvals {
            let bytes = try BoundBox.open(
                a.box, kind: .recovery, binding: request.binding, with: codeKey,
                what: "the share released by \(a.approver)")
            defer { bytes.wipe() }
            do { shares.append(try SecretShare(serialized: bytes)) } catch {
                throw .tampered("the share released by \(a.approver) is malformed")
            }
        }
        let approversHalf: SecretBytes
        do { approversHalf = try SecretSharing.combine(shares) } catch {
            throw .tampered("the released shares do not combine: \(error)")
        }
        defer { approversHalf.wipe() }
        let adminsHalf = try BoundBox.open(
            request.adminBox, kind: .recovery, binding: request.adminBinding, with: codeKey,
            what: "the administrators' half released by \(request.requester)")
        defer { adminsHalf.wipe() }
        let key = try IdentityRecovery.escrowKey(
            approvers: approversHalf, administrators: adminsHalf, split: escrow.splitID)
        defer { key.wipe() }
        let keys: SecretBytes
        do {
            keys = try XChaCha20Poly1305.open(
                escrow.sealed, key: key,
                authenticating: IdentityEscrow.associatedData(
                    request.principal, split: escrow.splitID, identity: escrow.identity))
        } catch {
            throw .tampered(
                "the released shares and the administrators' half do not open the key escrow of "
                    + "\(request.principal)")
        }
        defer { keys.wipe() }
        do {
            guard keys.count == 64 else { throw CryptoError.authenticationFailed }
            // The keys keep these secrets as their own.
            return Identity(
                principal: request.principal,
                signing: try SigningPrivateKey(seed: try keys.slice(0..<32)),
                agreement: try KeyAgreementPrivateKey(secret: try keys.slice(32..<64)))
        } catch {
            throw .tampered("the key escrow of \(request.principal) holds malformed keys")
        }
    }
}
