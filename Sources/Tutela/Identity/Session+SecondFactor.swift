public import TutelaCrypto

/// Where a person stands with a second factor.
public enum SecondFactorStanding: String, Sendable {
    /// Enrolled: a code is asked for at every sign-in to a server.
    case enrolled
    /// The policy requires one and none is enrolled: enrolling comes before anything else.
    case required
    /// None enrolled and none required; the person may enrol one.
    case optional
}

/// What a second factor given at sign-in proved.
public enum SecondFactorProof: Sendable, Equatable {
    /// None is enrolled; none was asked for.
    case notEnrolled
    /// A code from the authenticator app, of this time step (never to be accepted again).
    case code(step: UInt64)
    /// A recovery code (by its hash), to be used up with ``Session/useRecoveryCode(_:passphrase:)``.
    case recoveryCode([UInt8])
}

extension Session {
    /// Whether the policy requires this person to give a second factor to sign in to a server:
    /// the authority always, and anyone holding one of the policy's ``Policy/secondFactorRoles``.
    public var secondFactorRequired: Bool {
        let current = principal
        guard !current.isAuthority else { return true }
        let roles = directory.policy?.secondFactorRoles ?? Policy.defaultSecondFactorRoles
        return !roles.isDisjoint(with: current.roles)
    }

    /// Where this person stands with a second factor now.
    public var secondFactorStanding: SecondFactorStanding {
        if heldSecondFactor.withLock({ $0 != nil }) { return .enrolled }
        return secondFactorRequired ? .required : .optional
    }

    /// Checks the second factor given at sign-in against the one sealed with this person's keys:
    /// a six-digit code from their app within a step of `time` and later than `after` (the last
    /// step a code of theirs was accepted at), or one of their unused recovery codes.
    /// - Throws: ``Vault/signInRefused`` when one is enrolled and `code` is missing or wrong, so
    ///   that a refusal says nothing of which part was wrong.
    public func proveSecondFactor(
        _ code: String?, at time: Int64, after: UInt64?
    ) throws -> SecondFactorProof {
        guard let factor = heldSecondFactor.withLock({ $0 }) else { return .notEnrolled }
        guard let code, !code.isEmpty, code.count <= 64 else { throw Vault.signInRefused }
        if let step = try SecondFactor.step(of: code, key: factor.key, at: time, after: after) {
            return .code(step: step)
        }
        let hash = try SecondFactor.recoveryHash(code, for: principal.id)
        // Compared with every unused code, whichever matches.
        var found = false
        for kept in factor.recoveryCodes where constantTimeEquals(kept, hash) { found = true }
        guard found else { throw Vault.signInRefused }
        return .recoveryCode(hash)
    }

    /// Enrols `key` (from ``SecondFactor/newKey()``, shown to the person's app) as this person's
    /// second factor once `code` shows their app holds it, replacing any they had, sealed with
    /// their keys under `passphrase` (asked again: this changes how they sign in).
    /// - Returns: ten recovery codes, shown once: each signs in once in place of a code.
    /// - Throws: `.invalidInput` when the code is not the app's; `.permissionDenied` for a wrong
    ///   passphrase.
    public func enrolSecondFactor(
        key: SecretBytes, code: String, passphrase: Passphrase
    ) async throws -> [String] {
        guard key.count == SecondFactor.keyByteCount else {
            throw TutelaError.usage("an authenticator key is \(SecondFactor.keyByteCount) bytes")
        }
        let now = vault.clock.now()
        guard try SecondFactor.step(of: code, key: key, at: now, after: nil) != nil else {
            throw TutelaError(
                .invalidInput, "that code is not the one the authenticator app shows now",
                hint:
                    "type the six digits the app shows for Tutela; check the phone's clock is set "
                    + "automatically")
        }
        let (codes, hashes) = try SecondFactor.newRecoveryCodes(for: principal.id)
        let factor = SecondFactor(key: key, enrolled: now, recoveryCodes: hashes)
        try await resealIdentity(passphrase: passphrase, reason: "enrolled an authenticator app") {
            $0 = factor
        }
        return codes
    }

    /// Removes this person's second factor, with their passphrase.
    /// - Throws: `.permissionDenied` when the policy requires one of them (enrol another
    ///   instead) or for a wrong passphrase; `.notFound` when none is enrolled.
    public func removeSecondFactor(passphrase: Passphrase) async throws {
        guard !secondFactorRequired else {
            throw TutelaError.denied(
                "the policy requires a second factor of '\(principal.id)'",
                hint: "enrol a new authenticator app instead; that replaces the old one")
        }
        guard heldSecondFactor.withLock({ $0 != nil }) else {
            throw TutelaError.notFound("'\(principal.id)' has no second factor enrolled")
        }
        try await resealIdentity(passphrase: passphrase, reason: "removed the second factor") {
            $0 = nil
        }
    }

    /// Uses up the recovery code `hash` (from ``proveSecondFactor(_:at:after:)``): it never
    /// signs in again. Audited.
    /// - Returns: how many recovery codes are left.
    @discardableResult
    public func useRecoveryCode(_ hash: [UInt8], passphrase: Passphrase) async throws -> Int {
        let after = try await resealIdentity(
            passphrase: passphrase, reason: "signed in with a recovery code"
        ) { factor in
            // Gone meanwhile (used by a sign-in beside this one): refused like a wrong code.
            guard var kept = factor, kept.recoveryCodes.contains(hash) else {
                throw Vault.signInRefused
            }
            kept.recoveryCodes.removeAll { $0 == hash }
            factor = kept
        }
        return after?.recoveryCodes.count ?? 0
    }

    /// Re-seals this person's stored keys under the same passphrase with their second factor
    /// changed by `change`, and audits it, in one transaction.
    /// - Returns: the second factor now sealed.
    @discardableResult
    private func resealIdentity(
        passphrase: Passphrase, reason: String,
        change: (inout SecondFactor?) throws -> Void
    ) async throws -> SecondFactor? {
        try await decidingAfresh {
            let me = principal
            guard let sealed = try await store.sealedIdentity(me.id),
                sealed.signingKey == me.identity.signingKey.bytes,
                sealed.agreementKey == me.identity.agreementKey.bytes
            else {
                throw TutelaError.tampered(
                    "the stored keys of '\(me.id)' are not the enrolled ones")
            }
            var (stored, key, cost) = try sealed.unlockKeepingKey(with: passphrase)
            try change(&stored.secondFactor)
            let resealed = try SealedIdentity.seal(stored, key: key, salt: sealed.salt, cost: cost)
            key.wipe()
            let entry = auditEntry(.secondFactor, subject: me.id.text, reason: reason)
            let signer = identity
            try await write { tx in
                try await tx.replace(resealed)
                try await Session.appendAudit(entry, tx: tx, signer: signer)
            }
            let now = stored.secondFactor
            heldSecondFactor.withLock { $0 = now }
            return now
        }
    }
}
