// Over 400 lines: a recovery request, its approvals and its escrow are one flow whose checks
// read best together; the person's own finish is in IdentityRecovery+Vault.swift.
import TutelaCrypto

/// Identity recovery after a lost passphrase, by the quorum the policy names
/// (`identity-recovery:`).
///
/// Each person's keys are kept in escrow (``IdentityEscrow``) under a key with two halves — one
/// split k-of-n among the approver roles' groups, one held by the administrators — by the person,
/// at their own command. An administrator asks for a recovery, releasing the administrators' half
/// to a one-time code for the person; approvers — distinct people in distinct approver roles, never the person
/// and never the administrator who asked — each release their group's share, re-sealed to the
/// code; the person combines them, proves the keys are theirs, and replaces them with new keys
/// under a new passphrase (``Vault/recoverIdentity(_:code:passphrase:)``). Every step is audited,
/// and the person is told at every step.
public struct IdentityRecovery: SessionService {
    package let session: Session

    /// The quorum in force, or a refusal naming why there is none.
    func rules() throws(TutelaError) -> RecoveryRules {
        guard let rules = try policy().identityRecovery else {
            throw .denied(
                "the policy in force allows no identity recovery",
                hint: "an 'identity-recovery:' section names who may approve one; without it a "
                    + "lost passphrase means new keys ('tutela principal rekey')")
        }
        return rules
    }

    /// The groups this person's keys should be split among now: every approver role with a key to
    /// seal to. Empty when fewer than the quorum have one.
    func wantedHolders(_ rules: RecoveryRules) -> [GroupKey] {
        let groups = rules.approvers.compactMap { try? directory.groupToSealTo($0) }
        return groups.count >= rules.approvals ? groups : []
    }

    /// This person's escrow, verified, or nil.
    public func escrow(of id: PrincipalID) async throws -> IdentityEscrow? {
        try await fact(IdentityEscrow.self, about: id.text)
    }

    /// Splits this person's keys among the approver groups when their escrow is missing or stale
    /// (new keys, a new group version, a changed quorum): what each command does first, as for
    /// group keys. The authority, which has its trustees, is left out.
    /// - Returns: whether a new escrow was written.
    @discardableResult
    public func catchUpEscrow() async throws -> Bool {
        guard !principal.isAuthority, let rules = try? rules() else { return false }
        let groups = wantedHolders(rules)
        guard !groups.isEmpty else { return false }
        let admins = administrators()
        guard !admins.isEmpty else { return false }
        let current = try await escrow(of: principal.id)
        if let current, current.identity == principal.identity,
            current.threshold == rules.approvals,
            current.holders == groups.map(\.holder), current.admins == admins
        {
            return false
        }
        let escrow = try split(among: groups, threshold: rules.approvals, admins: admins)
        try await session.decidingAfresh {
            try await record(
                auditEntry(
                    .identityEscrow, subject: principal.id.text,
                    reason: "\(rules.approvals) of "
                        + groups.map(\.role.rawValue).joined(separator: ", ")),
                notify: [], objects: [try sign(escrow)])
        }
        return true
    }

    /// Everyone who may ask for a recovery now (the authority and the administrators it enrolled),
    /// with the keys the administrators' half is sealed to, in id order.
    func administrators() -> [IdentityEscrow.AdminKey] {
        directory.principals.values.filter {
            !$0.revoked && !$0.awaitingKeys && directory.administrator($0.id) != nil
                && $0.id != principal.id
        }
        .map { IdentityEscrow.AdminKey(id: $0.id, key: $0.identity.agreementKey) }
        .sorted { $0.id.text < $1.id.text }
    }

    /// The key the two halves derive, for `split`.
    static func escrowKey(
        approvers: SecretBytes, administrators: SecretBytes, split: String
    ) throws(TutelaError) -> SecretBytes {
        do {
            var info = CanonicalWriter()
            info.string("tutela/escrow-key/v1")
            info.string(split)
            let both = try approvers.appending(administrators)
            defer { both.wipe() }
            return try HKDFSHA256.deriveKey(
                inputKeyMaterial: both, salt: [], info: info.bytes, outputByteCount: 32)
        } catch { throw .internal("\(error)") }
    }

    private func split(
        among groups: [GroupKey], threshold: Int, admins: [IdentityEscrow.AdminKey]
    ) throws(TutelaError) -> IdentityEscrow {
        do {
            let splitID = Hex.encode(try SecureRandom.bytes(count: 16))
            let approversHalf = try SecretBytes.random(count: 32)
            let adminsHalf = try SecretBytes.random(count: 32)
            defer {
                approversHalf.wipe()
                adminsHalf.wipe()
            }
            let key = try Self.escrowKey(
                approvers: approversHalf, administrators: adminsHalf, split: splitID)
            defer { key.wipe() }
            let keys = try identity.signing.seed.appending(identity.agreement.secret)
            defer { keys.wipe() }
            let sealed = try XChaCha20Poly1305.seal(
                keys, key: key,
                authenticating: IdentityEscrow.associatedData(
                    principal.id, split: splitID, identity: principal.identity))
            let shares = try SecretSharing.split(
                approversHalf, threshold: threshold, shareCount: groups.count)
            var adminBoxes: [IdentityEscrow.AdminBox] = []
            for admin in admins {
                adminBoxes.append(
                    .init(
                        admin: admin.id, key: admin.key,
                        box: try BoundBox.seal(
                            adminsHalf, kind: .escrow,
                            binding: IdentityEscrow.binding(
                                principal.id, split: splitID, admin: admin.id),
                            to: admin.key)))
            }
            var boxes: [IdentityEscrow.Box] = []
            for (group, piece) in zip(groups, shares) {
                let share = try piece.serialized()
                defer { share.wipe() }
                boxes.append(
                    .init(
                        role: group.role, version: group.version,
                        box: try BoundBox.seal(
                            share, kind: .escrow,
                            binding: IdentityEscrow.binding(
                                principal.id, split: splitID, group.holder),
                            to: group.publicKey)))
            }
            return IdentityEscrow(
                principal: principal.id, identity: principal.identity, splitID: splitID,
                threshold: threshold, sealed: sealed, boxes: boxes, adminBoxes: adminBoxes)
        } catch let error as TutelaError { throw error } catch {
            throw .internal("could not split keys: \(error)")
        }
    }

    /// An administrator asks to recover `id`'s keys. Returns the request and the one-time code to
    /// give the person — shown once, stored nowhere. The person and the approvers are told.
    /// - Throws: `.permissionDenied` for anyone but an administrator, for the authority itself
    ///   (recovered by its trustees), or when the policy allows no recovery; `.notFound` when `id`
    ///   has no usable escrow (they never ran a command since the approver groups existed).
    public func request(_ id: PrincipalID, reason: String) async throws -> (
        request: RecoveryRequest, code: EnrolmentCode
    ) {
        try await session.decidingAfresh {
            let id = directory.resolve(id)
            try session.requireAdministrator("ask for an identity recovery")
            let rules = try rules()
            try Self.validateReason(reason)
            guard let person = directory.principals[id], !person.revoked, !person.awaitingKeys
            else {
                throw TutelaError.notFound(
                    "'\(id)' is not an enrolled person with keys to recover")
            }
            guard !person.isAuthority else {
                throw TutelaError.denied(
                    "the authority is recovered by its trustees: tutela authority recover")
            }
            guard id != principal.id else {
                throw TutelaError.denied("no one asks to recover their own keys")
            }
            guard let escrow = try await escrow(of: id), escrow.identity == person.identity,
                escrow.boxes.count >= rules.approvals
            else {
                throw TutelaError.notFound(
                    "'\(id)' has no key shares with the approvers: their keys were never split "
                        + "(they have not run a command since the approver groups existed)",
                    hint: "give them new keys instead: tutela principal rekey \(id)")
            }
            // This administrator's half, opened with their own key.
            guard
                let mine = escrow.adminBoxes.first(where: {
                    $0.admin == principal.id && $0.key == principal.identity.agreementKey
                })
            else {
                throw TutelaError.notFound(
                    "the key shares of '\(id)' were split before '\(principal.id)' was an "
                        + "administrator with these keys",
                    hint: "another administrator can ask; or \(id) runs any command first")
            }
            let half = try BoundBox.open(
                mine.box, kind: .escrow,
                binding: IdentityEscrow.binding(id, split: escrow.splitID, admin: principal.id),
                with: identity.agreement, what: "the administrators' half of \(id)'s key escrow")
            defer { half.wipe() }
            let now = vault.clock.now()
            let expires = now + Int64(rules.lifetimeHours) * 3600
            let code = try EnrolmentCode.generate(for: id, expires: expires)
            let codeKey = try EnrolmentCode.recoveryKey(
                code: code.text, principal: id, vaultID: meta.vaultID)
            let requestID: RequestID = try newID("IR")
            let request = RecoveryRequest(
                id: requestID, principal: id, requester: principal.id, reason: reason,
                created: now, expires: expires, approvalsNeeded: rules.approvals,
                codeKey: codeKey.publicKey, splitID: escrow.splitID,
                adminBox: try BoundBox.seal(
                    half, kind: .recovery, binding: "\(requestID)/\(id)/admin",
                    to: codeKey.publicKey))
            let approvers = Set(rules.approvers.flatMap { directory.holders(of: $0).map(\.id) })
            try await record(
                auditEntry(
                    .recoveryRequest, subject: id.text, reason: "\(request.id): \(reason)"),
                notify: approvers.union([id]).subtracting([principal.id]),
                objects: [try sign(request)])
            return (request, code)
        }
    }

    static func validateReason(_ reason: String) throws(TutelaError) {
        guard !reason.isEmpty, reason.utf8.count <= 2000,
            !Identifier.hasControlCharacters(reason.utf8)
        else {
            throw .usage("give a reason of one line, at most 2,000 bytes")
        }
    }

    /// Open recovery requests this person may act on (as an approver), or made about or by them.
    public func requests() async throws -> [RecoveryRequest] {
        let rules = try? rules()
        let mayApprove = rules?.approvers.contains { principal.has($0) } ?? false
        let now = vault.clock.now()
        var open: [RecoveryRequest] = []
        for request in try await facts(RecoveryRequest.self, about: nil)
        where request.expires > now
            && (mayApprove || request.principal == principal.id
                || request.requester == principal.id)
        {
            if try await fact(RecoveryUse.self, about: request.id.text) == nil {
                open.append(request)
            }
        }
        return open.sorted { $0.created < $1.created }
    }

    /// A request by id, verified, and refused unless it is open and was made by an administrator
    /// for an enrolled person as they stand now.
    func openRequest(_ id: RequestID) async throws -> (RecoveryRequest, Principal) {
        guard
            let request = try await facts(RecoveryRequest.self, about: nil).first(where: {
                $0.id == id
            })
        else { throw TutelaError.notFound("there is no identity recovery request \(id)") }
        let now = vault.clock.now()
        let rules = try rules()
        guard directory.administrator(request.requester) != nil else {
            throw TutelaError.denied(
                "\(id) was made by '\(request.requester)', who is not an administrator now")
        }
        guard let person = directory.principals[request.principal], !person.revoked,
            !person.awaitingKeys
        else { throw TutelaError.denied("\(id) is for someone who no longer holds keys") }
        // As `request(_:reason:)` refuses: written in by an administrator for themselves, or for
        // the authority, it counts for nothing.
        guard request.requester != request.principal, !person.isAuthority else {
            throw TutelaError.denied(
                "\(id) asks to recover the keys of its own administrator, or of the authority")
        }
        guard request.created <= now, request.expires > request.created,
            request.expires - request.created <= Int64(rules.lifetimeHours) * 3600
        else {
            throw TutelaError.denied(
                "\(id) is dated ahead of this clock, or asks for a lifetime the policy in force "
                    + "does not allow")
        }
        guard now < request.expires else {
            throw TutelaError.denied("\(id) expired at \(Timestamp.iso(request.expires))")
        }
        if let use = try await fact(RecoveryUse.self, about: id.text) {
            // Only the person (the use, or a cancellation) or an administrator closes a request.
            guard
                use.signer == request.principal || use.signer == request.requester
                    || directory.administrator(use.signer) != nil
            else {
                throw TutelaError.tampered(
                    "\(id) was closed by '\(use.signer)', who may neither use nor cancel it")
            }
            throw TutelaError.denied("\(id) was already used or cancelled")
        }
        return (request, person)
    }

    /// Valid approvals: by distinct people in distinct approver roles they hold, never the person
    /// or the administrator who asked.
    static func valid(
        _ approvals: [RecoveryApproval], of request: RecoveryRequest, rules: RecoveryRules,
        directory: Directory
    ) -> [RecoveryApproval] {
        var seenRoles = Set<Role>()
        var seenPeople = Set<PrincipalID>()
        return approvals.filter { a in
            a.approver != request.principal && a.approver != request.requester
                && rules.approvers.contains(a.role)
                && directory.principals[a.approver].map { $0.has(a.role) && !$0.revoked } == true
                && seenRoles.insert(a.role).inserted && seenPeople.insert(a.approver).inserted
        }
    }

    /// An approver releases their group's share of the person's keys to the request's code:
    /// opened with the group key, re-sealed bound to the request, signed, audited, and the person
    /// and the administrator told.
    @discardableResult
    public func approve(_ requestID: RequestID) async throws -> (approvals: Int, needed: Int) {
        try await session.decidingAfresh {
            let subject = requestID.text
            let (request, person): (RecoveryRequest, Principal)
            do { (request, person) = try await openRequest(requestID) } catch let e as TutelaError
                where e.kind == .permissionDenied
            {
                try await refuse(.recoveryApprove, subject, e.message)
            }
            let rules = try rules()
            guard principal.id != request.principal, principal.id != request.requester else {
                try await refuse(
                    .recoveryApprove, subject,
                    "\(requestID): neither the person nor the administrator who asked may approve")
            }
            let existing = Self.valid(
                try await facts(RecoveryApproval.self, about: subject), of: request,
                rules: rules, directory: directory)
            guard !existing.contains(where: { $0.approver == principal.id }) else {
                try await refuse(
                    .recoveryApprove, subject, "'\(principal.id)' has already approved \(requestID)"
                )
            }
            guard
                let escrow = try await escrow(of: request.principal),
                escrow.identity == person.identity, escrow.splitID == request.splitID
            else {
                try await refuse(
                    .recoveryApprove, subject,
                    "the key shares \(requestID) asks for are gone: '\(request.principal)' has "
                        + "split their keys again since (they ran a command), so they have not "
                        + "lost their passphrase; ask them")
            }
            let held = try await session.heldGroupVersions()
            guard
                let box = escrow.boxes.first(where: { b in
                    rules.approvers.contains(b.role) && principal.has(b.role)
                        && !existing.contains { $0.role == b.role }
                        && held.contains(.group(b.role, version: b.version))
                })
            else {
                try await refuse(
                    .recoveryApprove, subject,
                    "'\(principal.id)' holds no approver role of the policy whose share of "
                        + "\(request.principal)'s keys is still needed for \(requestID) (approver "
                        + "roles: " + rules.approvers.map(\.rawValue).joined(separator: ", ") + ")")
            }
            // Shares of these keys released to other requests (whose codes their administrators
            // keep) must never add up to a quorum outside this one: those roles approve here first.
            let keys = person.identity.signingKey
            let elsewhere = try await releasedRoles(
                of: request.principal, keys: keys, except: requestID)
            let here = Set(existing.map(\.role)).union([box.role])
            if elsewhere.count < escrow.threshold, here.count < escrow.threshold,
                elsewhere.union(here).count >= escrow.threshold
            {
                try await refuse(
                    .recoveryApprove, subject,
                    "\(requestID): with the shares of \(request.principal)'s keys already released "
                        + "to other requests this would make a quorum outside it; approvers in "
                        + elsewhere.subtracting(here).map(\.rawValue).sorted().joined(
                            separator: ", ") + " approve \(requestID) first")
            }
            let holder = Recipient.group(box.role, version: box.version)
            let groupKey = try await session.groupKey(box.role, version: box.version)
            let share = try BoundBox.open(
                box.box, kind: .escrow,
                binding: IdentityEscrow.binding(request.principal, split: escrow.splitID, holder),
                with: groupKey,
                what: "the \(box.role.rawValue) share of \(request.principal)'s keys")
            defer { share.wipe() }
            let released = try BoundBox.seal(
                share, kind: .recovery, binding: request.binding, to: request.codeKey)
            let approval = RecoveryApproval(
                request: requestID, approver: principal.id, role: box.role,
                time: vault.clock.now(), box: released, keys: keys)
            try await record(
                auditEntry(
                    .recoveryApprove, subject: request.principal.text,
                    reason: "\(requestID) as \(box.role.rawValue)"),
                notify: [request.principal, request.requester], objects: [try sign(approval)])
            return (existing.count + 1, max(rules.approvals, request.approvalsNeeded))
        }
    }
}

extension Session {
    /// Identity recovery, as this person.
    public var identityRecovery: IdentityRecovery { IdentityRecovery(session: self) }
}
