import TutelaCrypto

/// Break-glass: an officer's request to open an unflagged record, approvals that each release a key
/// share, and the one opening a quorum allows.
public struct BreakGlass: SessionService {
    let session: Session

    /// Break-glass shares for a new record: the data key split k-of-n, one share sealed to the group of
    /// each approver role that has a key, bound to the record. Empty when the class has no break-glass
    /// or fewer groups than k exist yet.
    static func shares(
        for label: Label, key: SecretBytes, policy: Policy, directory: Directory,
        batch: SealBatch? = nil
    ) throws(TutelaError) -> [StoredShare] {
        guard let bg = policy.classes[label.recordClass]?.safeguarding.breakGlass else { return [] }
        // A group whose key is due with no one left to replace it gets no share, as one with no
        // key yet: nothing new is sealed to a key a leaver may hold.
        let groups = bg.approvers.compactMap { try? directory.groupToSealTo($0) }
        guard groups.count >= bg.approvals else { return [] }
        let shares: [SecretShare]
        do {
            shares = try SecretSharing.split(key, threshold: bg.approvals, shareCount: groups.count)
        } catch {
            throw .internal("could not split the key: \(error)")
        }
        var sealed: [StoredShare] = []
        for (group, share) in zip(groups, shares) {
            let serialized: SecretBytes
            do { serialized = try share.serialized() } catch { throw .internal("\(error)") }
            let id = ShareID(record: label.record, holder: group.holder)
            sealed.append(
                StoredShare(
                    record: label.record, holder: group.holder,
                    body: try BoundBox.seal(
                        serialized, kind: .share, binding: id.description, to: group.publicKey,
                        batch: batch)
                ))
        }
        return sealed
    }

    /// Refuses to seal a `recordClass` record when the break-glass shares its policy asks for
    /// cannot be made: fewer approver groups have a key to seal to than approvals are needed. The
    /// error names each group that is missing and what makes it.
    static func requireShares(
        _ recordClass: RecordClass, policy: Policy, directory: Directory
    ) throws(TutelaError) {
        guard let bg = policy.classes[recordClass]?.safeguarding.breakGlass else { return }
        var missing: [String] = []
        var sealable = 0
        for role in bg.approvers {
            let group: GroupKey?
            do { group = try directory.groupToSealTo(role) } catch {
                // A key nothing may be sealed to: due to be replaced, and no one who holds the
                // role now has it.
                missing.append(error.message)
                continue
            }
            if group != nil {
                sealable += 1
            } else if directory.holders(of: role).isEmpty {
                missing.append("no \(role.rawValue) is enrolled")
            } else {
                missing.append(
                    "the \(role.rawValue) group has no key yet (its first member's next command "
                        + "makes it, or 'tutela group create \(role.rawValue)')")
            }
        }
        guard sealable < bg.approvals else { return }
        throw TutelaError.denied(
            "\(recordClass.rawValue) records are not sealed without the break-glass shares the "
                + "policy asks for (\(bg.approvals) of "
                + bg.approvers.map(\.rawValue).joined(separator: ", ") + "): "
                + missing.joined(separator: "; "),
            hint: "an administrator enrols the people the policy names as approvers; each group's "
                + "key is made by its first member's next command")
    }

    /// An officer asks to open an unflagged record. Returns the request, which approvers then approve.
    public func request(_ recordID: RecordID, reason: String) async throws
        -> BreakGlassRequest
    {
        try await session.decidingAfresh {
            let reason = try Session.requireReason(reason, for: "request break-glass")
            let policy = try policy()
            let (_, envelope) = try await load(recordID, for: .breakGlassRequest)
            let state = try await recordState(of: envelope.label)
            let decision = policy.decide(
                .breakGlassRequest, actor: principal, label: envelope.label, state: state,
                directory: directory)
            guard decision.allowed,
                let bg = policy.classes[envelope.label.recordClass]?.safeguarding.breakGlass
            else {
                try await audit(
                    .breakGlassRequest, subject: recordID.text, outcome: .denied,
                    reason: decision.rule)
                throw TutelaError.denied(
                    "'\(principal.id)' may not request break-glass on \(recordID): \(decision.rule)"
                )
            }
            guard try await store.shares(record: recordID).count >= bg.approvals
            else {
                throw TutelaError.notFound(
                    "\(recordID) was sealed without break-glass shares (its approver groups had no keys then)",
                    hint: "ask its author to flag it instead")
            }
            let now = vault.clock.now()
            let request = BreakGlassRequest(
                id: try newID("BG"), record: recordID, requester: principal.id, reason: reason,
                created: now,
                expires: now + Int64(bg.lifetimeHours) * 3600, approvalsNeeded: bg.approvals)
            let approvers = Set(bg.approvers.flatMap { directory.holders(of: $0).map(\.id) })
            try await record(
                auditEntry(
                    .breakGlassRequest, subject: recordID.text, reason: "\(request.id): \(reason)"),
                notify: approvers.union(headsOfCentre).union([envelope.label.author])
                    .subtracting(directory.family(of: envelope.label.learner)),
                objects: [try sign(request)])
            return request
        }
    }

    /// What an approver is asked to approve: the request (who asks, why, until when), the label of
    /// the record it would open, and the requester's name as enrolled. For the requester and for
    /// people the policy lets approve break-glass on that record; nothing is decrypted.
    /// - Throws: `.permissionDenied` for anyone else; `.notFound` for no such request.
    public func describe(_ requestID: RequestID) async throws -> (
        request: BreakGlassRequest, label: Label, requesterName: String
    ) {
        let policy = try policy()
        let request = try await breakGlassRequest(requestID)
        if let family = try await session.retention.familyStep(request.record) {
            throw TutelaError.denied(
                "'\(principal.id)' may not see break-glass request \(requestID): \(family)")
        }
        let (_, envelope) = try await load(request.record)
        let approver = policy.decide(
            .breakGlassApprove, actor: principal, label: envelope.label, directory: directory)
        guard approver.allowed || request.requester == principal.id else {
            throw TutelaError.denied(
                "'\(principal.id)' may not see break-glass request \(requestID): \(approver.rule)")
        }
        let name = directory.principals[request.requester]?.name ?? request.requester.text
        return (request, envelope.label, name)
    }

    /// A request by id, verified.
    func breakGlassRequest(_ id: RequestID) async throws -> BreakGlassRequest {
        // Only the row with this id is verified: a damaged request about another record must not
        // stop every approval and opening in the vault.
        // The request's row, with the others about its record, is checked against the vault's
        // state.
        let kind = FactKind.breakGlassRequest
        let store = session.store
        let found = try await session.verifiedRead {
            guard
                let subject = try await store.objects(kind: kind.rawValue, key: nil).first(where: {
                    $0.id == id.text
                })?.key
            else { return (StoredObject?.none, StateClaims()) }
            let group = try await store.objects(kind: kind.rawValue, key: subject)
            return (
                group.first { $0.id == id.text },
                try StateClaims.facts(group, kind: kind, subject: subject)
            )
        }
        guard let object = found else {
            throw TutelaError.notFound("there is no break-glass request \(id)")
        }
        return try FactCodec.read(object, as: BreakGlassRequest.self, directory: directory).fact
    }

    /// Whether the person who made `request` was allowed to: approvals and openings ask again, so
    /// a request written into the vault by someone the policy does not let request break-glass on
    /// this record (or by someone since revoked) is never acted on.
    /// The record's state is left out: the request itself is the open request the state would
    /// show, and what happened to the record since is for the approval and the opening to judge.
    static func requesterDecision(
        _ request: BreakGlassRequest, label: Label, policy: Policy, directory: Directory,
        now: Int64
    ) -> Decision {
        guard let requester = directory.principals[request.requester] else {
            return .deny("'\(request.requester)' is not enrolled")
        }
        let decision = policy.decide(
            .breakGlassRequest, actor: requester, label: label, directory: directory)
        guard decision.allowed else {
            return .deny(
                "'\(request.requester)' may not request break-glass on \(request.record): "
                    + decision.rule)
        }
        // The lifetime and the quorum are the policy's, whatever the signed request says.
        guard let bg = policy.classes[label.recordClass]?.safeguarding.breakGlass,
            request.created <= now, request.expires > request.created,
            request.expires - request.created <= Int64(bg.lifetimeHours) * 3600
        else {
            return .deny(
                "\(request.id) is dated ahead of this clock, or asks for a lifetime the policy in "
                    + "force does not allow")
        }
        return decision
    }

    /// Valid approvals of `request`: signed, by distinct people in distinct approver roles they hold,
    /// never the requester.
    func approvals(of request: BreakGlassRequest, rules: BreakGlassRules) async throws -> [Approval]
    {
        Self.valid(
            try await facts(Approval.self, about: request.id.text), of: request, rules: rules,
            directory: directory)
    }

    /// Of verified approvals, those that count: by distinct people in distinct approver roles they
    /// hold, never the requester.
    static func valid(
        _ approvals: [Approval], of request: BreakGlassRequest, rules: BreakGlassRules,
        directory: Directory
    ) -> [Approval] {
        var seenRoles = Set<Role>()
        return approvals.filter { a in
            a.approver != request.requester && rules.approvers.contains(a.role)
                && directory.principals[a.approver]?.has(a.role) == true
                && seenRoles.insert(a.role).inserted
        }
    }

    /// The requester opens the record once enough approvals are in, within the request's lifetime,
    /// once. The audit entry, the review item and the notices are durable before decryption.
    public func open(_ requestID: RequestID) async throws -> OpenedRecord {
        try await session.decidingAfresh { try await openOnce(requestID) }
    }

    private func openOnce(_ requestID: RequestID) async throws -> OpenedRecord {
        let policy = try policy()
        let request = try await breakGlassRequest(requestID)
        if let family = try await session.retention.familyStep(request.record) {
            try await refuse(.breakGlassOpen, request.record.text, "\(requestID): \(family)")
        }
        let (directory, principal) = (self.directory, self.principal)
        let item = ReviewItem(
            id: try newID("RV"), kind: .breakGlass, record: request.record, actor: principal.id,
            time: vault.clock.now(), reason: request.reason)
        let objects = [
            try sign(BreakGlassUse(request: requestID, time: vault.clock.now())), try sign(item),
        ]
        let heads = headsOfCentre
        // Every check — the request's use, its approvals, its expiry — is made in the transaction
        // that records the use, so two opens at the same moment cannot both pass.
        let released = try await release(request.record, action: .breakGlassOpen) {
            input, tx -> ReleaseVerdict<[Approval]> in
            // Audited against the record, naming the request: an entry about a family's own record
            // is left out of their view of the log like every other (Policy/Family.swift).
            func refuse(_ why: String) -> ReleaseVerdict<[Approval]> {
                .refuse(
                    rule: why.contains(requestID.text) ? why : "\(requestID): \(why)", message: why)
            }
            guard let bg = policy.classes[input.envelope.label.recordClass]?.safeguarding.breakGlass
            else { return refuse("the policy in force allows no break-glass on this record") }
            guard request.requester == principal.id else {
                return refuse("only \(request.requester), who made \(requestID), can open it")
            }
            let asked = Self.requesterDecision(
                request, label: input.envelope.label, policy: policy, directory: directory,
                now: input.now)
            guard asked.allowed else { return refuse("\(requestID): \(asked.rule)") }
            guard input.now < request.expires else {
                return refuse("\(requestID) expired at \(Timestamp.iso(request.expires))")
            }
            let uses = try await Session.facts(
                BreakGlassUse.self, about: requestID.text, tx: tx, directory: directory)
            guard uses.isEmpty else {
                return refuse("\(requestID) was already used; make a new request")
            }
            let approvals = Self.valid(
                try await Session.facts(
                    Approval.self, about: requestID.text, tx: tx, directory: directory),
                of: request, rules: bg, directory: directory)
            let needed = max(bg.approvals, request.approvalsNeeded)
            guard approvals.count >= needed else {
                return refuse(
                    "\(requestID) has \(approvals.count) of the \(needed) approvals it needs")
            }
            return .release(
                reason: "\(requestID): \(request.reason)", grant: Array(approvals.prefix(needed)),
                objects: objects,
                notify: heads.union([input.envelope.label.author]).union(
                    session.assignedTutor(of: input.envelope.label, in: input.state)))
        } open: { envelope, approvals in
            let key = try combine(approvals, requestID)
            defer { key.wipe() }
            return OpenedRecord(
                envelope, content: try await decrypt(envelope, dataKey: key))
        }
        switch released {
        case .released(let record, let found): return try await session.annotated(record, found)
        case .missing: try await missing(request.record, action: .breakGlassOpen)
        case .skipped: throw TutelaError.internal("a break-glass opening was skipped")
        }
    }

    /// The data key rebuilt from the shares `approvals` released to this requester.
    private func combine(_ approvals: [Approval], _ requestID: RequestID) throws -> SecretBytes {
        var shares: [SecretShare] = []
        for a in approvals {
            let bytes = try BoundBox.open(
                a.box, kind: .approval, binding: "\(requestID)/\(principal.id)",
                with: identity.agreement,
                what: "the share released by \(a.approver)")
            do { shares.append(try SecretShare(serialized: bytes)) } catch {
                throw TutelaError.tampered("the share released by \(a.approver) is malformed")
            }
        }
        do { return try SecretSharing.combine(shares) } catch {
            throw TutelaError.tampered("the released shares do not combine: \(error)")
        }
    }
}

extension Session {
    /// Break-glass, as this person.
    public var breakGlass: BreakGlass { BreakGlass(session: self) }
}
