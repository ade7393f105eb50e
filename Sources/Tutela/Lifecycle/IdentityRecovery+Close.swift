import TutelaCrypto

/// Closing recoveries: a request cancelled before use, and the person's keys replaced whenever
/// shares of them were released to a request that closed without recovering them.
extension IdentityRecovery {
    /// The approver roles whose shares of `id`'s keys `keys` were released to requests other than
    /// `except`.
    func releasedRoles(
        of id: PrincipalID, keys: SigningPublicKey, except: RequestID?
    ) async throws -> Set<Role> {
        var roles = Set<Role>()
        for request in try await facts(RecoveryRequest.self, about: id.text)
        where request.id != except {
            for a in try await facts(RecoveryApproval.self, about: request.id.text)
            where a.keys == keys {
                roles.insert(a.role)
            }
        }
        return roles
    }

    /// Cancels every open request to recover this person's keys: whoever unlocks with their own
    /// passphrase has not lost it, so a request for them is either no longer needed or one they
    /// never asked for. What each command does first, before ``renewIfReleased(passphrase:)``.
    /// - Returns: the requests cancelled.
    public func cancelOwnRequests() async throws -> [RequestID] {
        guard !principal.isAuthority else { return [] }
        var cancelled: [RequestID] = []
        for request in try await requests() where request.principal == principal.id {
            // A request no longer open to anyone (its administrator demoted since, say) is dead
            // already: nothing to cancel, and no reason to stop this person's command.
            do { _ = try await openRequest(request.id) } catch let error as TutelaError
                where error.kind == .permissionDenied
            { continue }
            try await cancel(request.id)
            cancelled.append(request.id)
        }
        return cancelled
    }

    /// Replaces this person's keys with new ones under `passphrase` when a share of them was
    /// released to a request that closed (cancelled, or expired) without recovering them: its
    /// administrator keeps the code, and the shares sealed to it stay in the database. What each
    /// command does first; the session holds the retired keys afterwards (unlock again).
    /// - Returns: whether the keys were replaced.
    @discardableResult
    public func renewIfReleased(passphrase: Passphrase) async throws -> Bool {
        guard !principal.isAuthority else { return false }
        let now = vault.clock.now()
        let keys = identity.publicIdentity.signingKey
        for request in try await facts(RecoveryRequest.self, about: principal.id.text) {
            let used = try await fact(RecoveryUse.self, about: request.id.text) != nil
            guard request.expires <= now || used,
                try await facts(RecoveryApproval.self, about: request.id.text).contains(where: {
                    $0.keys == keys
                })
            else { continue }
            // The new keys are sealed under `passphrase`: it must be this person's now, whoever
            // passed it in (a request over the network brings one of its own).
            try await session.requireOwnPassphrase(passphrase)
            try await session.lifecycle.rotateOwnKeys(
                passphrase: passphrase, audit: .passphraseChange)
            return true
        }
        return false
    }

    /// Closes an open request before it is used: the person it is about (who did not ask for it,
    /// or no longer needs it) or any administrator. Audited; the person, the administrator who
    /// asked and the approvers are told. The shares already released to its code still rebuild
    /// the person's keys for whoever holds the code, so the person's keys are replaced: at once
    /// when they cancel with `passphrase` (``renewIfReleased(passphrase:)``), else at their next
    /// command.
    public func cancel(_ requestID: RequestID, renewingKeysUnder passphrase: Passphrase? = nil)
        async throws
    {
        let request = try await session.decidingAfresh {
            let (request, _) = try await openRequest(requestID)
            guard principal.id == request.principal || directory.administrator(principal.id) != nil
            else {
                try await refuse(
                    .recoveryCancel, requestID.text,
                    "only \(request.principal) or an administrator may cancel \(requestID)")
            }
            let rules = try rules()
            let approvers = Set(rules.approvers.flatMap { directory.holders(of: $0).map(\.id) })
            try await record(
                auditEntry(
                    .recoveryCancel, subject: request.principal.text, reason: "\(requestID)"),
                notify: approvers.union([request.principal, request.requester]),
                objects: [
                    try sign(
                        RecoveryUse(
                            request: requestID, time: vault.clock.now(), signer: principal.id))
                ])
            return request
        }
        if principal.id == request.principal, let passphrase {
            try await renewIfReleased(passphrase: passphrase)
        }
    }
}
