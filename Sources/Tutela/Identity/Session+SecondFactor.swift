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

/// What enrolling a second factor gave.
public struct SecondFactorEnrolled: Sendable {
    /// Ten recovery codes, shown to the person once; each signs in once in place of a code.
    public let recoveryCodes: [String]
    /// The newest time step of a code given (the new app's, or the old one's): no code of it or
    /// before counts again.
    public let step: UInt64
    /// The step of the old app's code that allowed replacing it; nil for a first enrolment or a
    /// recovery code.
    public let currentStep: UInt64?
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
    /// Refuses, inside a transaction, when `principal`'s sealed identity row is no longer the one
    /// sealed with `nonce` (nil: no check).
    static func requireRow(
        _ nonce: [UInt8]?, of principal: PrincipalID, in tx: any VaultTransaction
    ) async throws {
        guard let nonce else { return }
        guard try await tx.sealedIdentity(principal)?.nonce == nonce else {
            throw TutelaError(
                .tryAgain,
                "the stored keys of '\(principal)' changed meanwhile (a second factor enrolled or "
                    + "used elsewhere)",
                hint: "unlock again, then try again")
        }
    }

    /// Refuses unless `passphrase` opens this person's stored identity row now (one Argon2id
    /// derivation): before anything is sealed under a passphrase someone passed in, or a code
    /// is checked to change the second factor. The session then sees the second factor that row
    /// holds (enrolled, changed or removed elsewhere since it unlocked).
    /// - Throws: `.permissionDenied` for a wrong passphrase; `.tampered` for a row not theirs.
    public func requireOwnPassphrase(_ passphrase: Passphrase) async throws {
        let me = principal
        guard let sealed = try await store.sealedIdentity(me.id),
            sealed.signingKey == me.identity.signingKey.bytes,
            sealed.agreementKey == me.identity.agreementKey.bytes
        else {
            throw TutelaError.tampered("the stored keys of '\(me.id)' are not the enrolled ones")
        }
        let stored = try sealed.unlock(with: passphrase)
        heldSecondFactor.withLock { $0 = stored.secondFactor }
        unlockedRow.withLock { $0 = sealed.nonce }
    }

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
    /// second factor once `code` shows their app holds it, sealed with their keys under
    /// `passphrase` (asked again: this changes how they sign in). One already enrolled — in the
    /// stored identity, whatever this session saw — is replaced only with `current`, a code from
    /// it or one of its recovery codes: a stolen session and passphrase cannot swap the phone.
    /// `after`: the newest step a code of theirs was accepted at (a code never counts twice).
    /// - Returns: ten recovery codes, shown once; the step of `code`, and of `current` when it
    ///   was an app's code — neither to count again.
    /// - Throws: `.invalidInput` when the code is not the app's; `.permissionDenied` for a wrong
    ///   passphrase, or ``currentCodeRefused(to:)`` for a missing or wrong `current`.
    public func enrolSecondFactor(
        key: SecretBytes, code: String, passphrase: Passphrase, current: String? = nil,
        after: UInt64? = nil
    ) async throws -> SecondFactorEnrolled {
        guard key.count == SecondFactor.keyByteCount else {
            throw TutelaError.usage("an authenticator key is \(SecondFactor.keyByteCount) bytes")
        }
        let now = vault.clock.now()
        guard let step = try SecondFactor.step(of: code, key: key, at: now, after: nil) else {
            throw TutelaError(
                .invalidInput, "that code is not the one the authenticator app shows now",
                hint:
                    "type the six digits the app shows for Tutela; check the phone's clock is set "
                    + "automatically")
        }
        let (codes, hashes) = try SecondFactor.newRecoveryCodes(for: principal.id)
        let factor = SecondFactor(key: key, enrolled: now, recoveryCodes: hashes)
        let me = principal.id
        var currentStep: UInt64?
        try await resealIdentity(passphrase: passphrase, reason: "enrolled an authenticator app") {
            stored in
            if let existing = stored {
                currentStep = try Self.requireCurrent(
                    current, of: existing, for: me, at: now, after: after, to: "replace it")
            }
            stored = factor
        }
        return SecondFactorEnrolled(
            recoveryCodes: codes, step: max(step, currentStep ?? 0), currentStep: currentStep)
    }

    /// The refusal of a missing or wrong code from the enrolled app where one is asked for to
    /// change it (`to`: what was asked).
    static func currentCodeRefused(to what: String) -> TutelaError {
        TutelaError.denied(
            "an authenticator app is enrolled: give a code it shows now, or one of your recovery "
                + "codes, to \(what)",
            hint: "lost the phone and the recovery codes? an administrator reissues your keys")
    }

    /// Refuses unless `code` is a code of `factor` now, later than `after`, or one of its unused
    /// recovery codes.
    /// - Returns: the step of the app's code; nil for a recovery code.
    static func requireCurrent(
        _ code: String?, of factor: SecondFactor, for principal: PrincipalID, at time: Int64,
        after: UInt64?, to what: String
    ) throws -> UInt64? {
        let refusal = currentCodeRefused(to: what)
        guard let code, !code.isEmpty, code.count <= 64 else { throw refusal }
        if let step = try SecondFactor.step(of: code, key: factor.key, at: time, after: after) {
            return step
        }
        let hash = try SecondFactor.recoveryHash(code, for: principal)
        var found = false
        for kept in factor.recoveryCodes where constantTimeEquals(kept, hash) { found = true }
        guard found else { throw refusal }
        return nil
    }

    /// Removes this person's second factor, with their passphrase and `current`, a code from it
    /// or one of its recovery codes.
    /// - Throws: `.permissionDenied` when the policy requires one of them (enrol another
    ///   instead), for a wrong passphrase, or a missing or wrong `current`; `.notFound` when none
    ///   is enrolled.
    /// - Returns: the step of `current` when it was an app's code, never to count again.
    @discardableResult
    public func removeSecondFactor(
        passphrase: Passphrase, current: String?, after: UInt64? = nil
    ) async throws -> UInt64? {
        guard !secondFactorRequired else {
            throw TutelaError.denied(
                "the policy requires a second factor of '\(principal.id)'",
                hint: "enrol a new authenticator app instead; that replaces the old one")
        }
        let me = principal.id
        let now = vault.clock.now()
        var step: UInt64?
        try await resealIdentity(passphrase: passphrase, reason: "removed the second factor") {
            stored in
            guard let existing = stored else {
                throw TutelaError.notFound("'\(me)' has no second factor enrolled")
            }
            step = try Self.requireCurrent(
                current, of: existing, for: me, at: now, after: after, to: "remove it")
            stored = nil
        }
        return step
    }

    /// Audits a sign-in refused for its second factor after the right passphrase (someone who
    /// knows it is trying codes): those who read the whole log see it. Best effort: a sign-in is
    /// refused whether or not this is written.
    public func auditRefusedSecondFactor() async {
        try? await audit(
            .secondFactor, subject: principal.id.text, outcome: .denied,
            reason: "sign-in refused: a missing or wrong code after the right passphrase")
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
                // Another re-seal (a sign-in using a recovery code, an enrolment elsewhere)
                // between the read above and this write would be lost: refused instead.
                try await Session.requireRow(sealed.nonce, of: me.id, in: tx)
                try await tx.replace(resealed)
                try await Session.appendAudit(entry, tx: tx, signer: signer)
            }
            let now = stored.secondFactor
            heldSecondFactor.withLock { $0 = now }
            unlockedRow.withLock { $0 = resealed.nonce }
            return now
        }
    }
}
