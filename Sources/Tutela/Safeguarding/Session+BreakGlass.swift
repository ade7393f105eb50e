import TutelaCrypto

extension Session {
    /// Break-glass shares for a new record: the data key split k-of-n, one share sealed to the group of
    /// each approver role that has a key, bound to the record. Empty when the class has no break-glass
    /// or fewer groups than k exist yet.
    static func breakGlassShares(
        for label: Label, key: SecretBytes, policy: Policy, directory: Directory
    ) throws(TutelaError) -> [StoredObject] {
        guard let bg = policy.classes[label.recordClass]?.safeguarding.breakGlass else { return [] }
        let groups = bg.approvers.compactMap { directory.groups[$0] }
        guard groups.count >= bg.approvals else { return [] }
        let shares: [SecretShare]
        do {
            shares = try SecretSharing.split(key, threshold: bg.approvals, shareCount: groups.count)
        } catch {
            throw .internal("could not split the key: \(error)")
        }
        var objects: [StoredObject] = []
        for (group, share) in zip(groups, shares) {
            let serialized: SecretBytes
            do { serialized = try share.serialized() } catch { throw .internal("\(error)") }
            objects.append(
                StoredObject(
                    kind: ObjectKind.share, id: "\(label.record)/\(group.recipient)",
                    key: label.record,
                    body: try BoundBox.seal(
                        serialized, binding: "\(label.record)/\(group.recipient)",
                        to: group.publicKey)))
        }
        return objects
    }

    /// An officer asks to open an unflagged record. Returns the request, which approvers then approve.
    public func requestBreakGlass(_ recordID: String, reason: String) async throws
        -> BreakGlassRequest
    {
        let reason = try Self.requireReason(reason, for: "request break-glass")
        let policy = try policy()
        let (_, envelope) = try await load(recordID)
        let state = try await recordState(recordID)
        let decision = policy.decide(
            .breakGlassRequest, actor: principal, label: envelope.label, state: state,
            directory: directory)
        guard decision.allowed,
            let bg = policy.classes[envelope.label.recordClass]?.safeguarding.breakGlass
        else {
            try await audit(
                .breakGlassRequest, subject: recordID, outcome: .denied, reason: decision.rule)
            throw TutelaError.denied(
                "'\(principal.id)' may not request break-glass on \(recordID): \(decision.rule)")
        }
        guard try await store.objects(kind: ObjectKind.share, key: recordID).count >= bg.approvals
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
            auditEntry(.breakGlassRequest, subject: recordID, reason: "\(request.id): \(reason)"),
            notify: approvers.union(headsOfCentre).union([envelope.label.author]),
            objects: [try sign(request)])
        return request
    }

    /// A request by id, verified.
    func breakGlassRequest(_ id: String) async throws -> BreakGlassRequest {
        try Identifier.validate(id, as: "request")
        // Only the row with this id is verified: a damaged request about another record must not
        // stop every approval and opening in the vault.
        let kind = FactKind.breakGlassRequest.rawValue
        guard
            let object = try await store.objects(kind: kind, key: nil).first(where: { $0.id == id })
        else {
            throw TutelaError.notFound("there is no break-glass request \(id)")
        }
        return try FactCodec.read(object, as: BreakGlassRequest.self, directory: directory).fact
    }

    /// Valid approvals of `request`: signed, by distinct people in distinct approver roles they hold,
    /// never the requester.
    func approvals(of request: BreakGlassRequest, rules: BreakGlassRules) async throws -> [Approval]
    {
        var seenRoles = Set<Role>()
        var result: [Approval] = []
        for a in try await facts(Approval.self, about: request.id) {
            guard a.approver != request.requester, rules.approvers.contains(a.role),
                directory.principals[a.approver]?.has(a.role) == true,
                seenRoles.insert(a.role).inserted
            else { continue }
            result.append(a)
        }
        return result
    }

    /// Refuses with 77 and an audit entry.
    func refuse(_ action: AuditEntry.Action, _ subject: String, _ message: String) async throws
        -> Never
    {
        try await audit(action, subject: subject, outcome: .denied, reason: message)
        throw TutelaError.denied(message)
    }

    /// An approver releases their group's share to the requester: opened with the group key, re-sealed
    /// to the requester bound to this request, signed, audited and noticed.
    @discardableResult
    public func approveBreakGlass(_ requestID: String) async throws -> (approvals: Int, needed: Int)
    {
        let policy = try policy()
        let request = try await breakGlassRequest(requestID)
        let (_, envelope) = try await load(request.record)
        guard let bg = policy.classes[envelope.label.recordClass]?.safeguarding.breakGlass else {
            try await refuse(
                .breakGlassApprove, requestID,
                "the policy in force allows no break-glass on this record")
        }
        let now = vault.clock.now()
        if request.requester == principal.id {
            try await refuse(
                .breakGlassApprove, requestID,
                "\(requestID): the requester can never approve their own request")
        }
        if now >= request.expires {
            try await refuse(
                .breakGlassApprove, requestID,
                "\(requestID) expired at \(Timestamp.iso(request.expires))")
        }
        if try await fact(BreakGlassUse.self, about: requestID) != nil {
            try await refuse(.breakGlassApprove, requestID, "\(requestID) was already used")
        }
        let existing = try await approvals(of: request, rules: bg)
        if existing.contains(where: { $0.approver == principal.id }) {
            try await refuse(
                .breakGlassApprove, requestID, "'\(principal.id)' has already approved \(requestID)"
            )
        }
        let decision = policy.decide(
            .breakGlassApprove, actor: principal, label: envelope.label, directory: directory)
        guard decision.allowed else {
            try await refuse(
                .breakGlassApprove, requestID,
                "'\(principal.id)' may not approve \(requestID): \(decision.rule)")
        }
        guard
            let role = bg.approvers.first(where: { r in
                principal.has(r) && !existing.contains { $0.role == r }
                    && directory.groups[r] != nil
            })
        else {
            try await refuse(
                .breakGlassApprove, requestID,
                "\(requestID) already has the approval of every approver role '\(principal.id)' holds; "
                    + "it needs someone in another of: "
                    + bg.approvers.map(\.rawValue).joined(separator: ", "))
        }
        guard let group = directory.groups[role],
            let requester = directory.principals[request.requester],
            let shareObject = try await store.objects(kind: ObjectKind.share, key: request.record)
                .first(where: { $0.id == "\(request.record)/\(group.recipient)" })
        else {
            throw TutelaError.notFound(
                "\(request.record) holds no break-glass share for the \(role.rawValue) group")
        }
        let groupKey = try await groupKey(role)
        let share = try BoundBox.open(
            shareObject.body, binding: shareObject.id, with: groupKey,
            what: "the \(role.rawValue) share of \(request.record)")
        let released = try BoundBox.seal(
            share, binding: requestID, to: requester.identity.agreementKey)
        share.wipe()
        let approval = Approval(
            request: requestID, approver: principal.id, role: role, time: now, box: released)
        try await record(
            auditEntry(
                .breakGlassApprove, subject: request.record,
                reason: "\(requestID) as \(role.rawValue)"),
            notify: headsOfCentre.union([envelope.label.author, request.requester]),
            objects: [try sign(approval)])
        return (existing.count + 1, request.approvalsNeeded)
    }

    /// The requester opens the record once enough approvals are in, within the request's lifetime,
    /// once. The audit entry, the review item and the notices are durable before decryption.
    public func openBreakGlass(_ requestID: String) async throws -> OpenedRecord {
        let policy = try policy()
        let request = try await breakGlassRequest(requestID)
        let (_, envelope) = try await load(request.record)
        guard let bg = policy.classes[envelope.label.recordClass]?.safeguarding.breakGlass else {
            try await refuse(
                .breakGlassOpen, requestID,
                "the policy in force allows no break-glass on this record")
        }
        if request.requester != principal.id {
            try await refuse(
                .breakGlassOpen, requestID,
                "only \(request.requester), who made \(requestID), can open it")
        }
        if vault.clock.now() >= request.expires {
            try await refuse(
                .breakGlassOpen, requestID,
                "\(requestID) expired at \(Timestamp.iso(request.expires))")
        }
        let used = "\(requestID) was already used; make a new request"
        if try await fact(BreakGlassUse.self, about: requestID) != nil {
            try await refuse(.breakGlassOpen, requestID, used)
        }
        let approvals = try await approvals(of: request, rules: bg)
        let needed = max(bg.approvals, request.approvalsNeeded)
        guard approvals.count >= needed else {
            try await refuse(
                .breakGlassOpen, requestID,
                "\(requestID) has \(approvals.count) of the \(needed) approvals it needs")
        }
        let item = ReviewItem(
            id: try newID("RV"), kind: .breakGlass, record: request.record, actor: principal.id,
            time: vault.clock.now(), reason: request.reason)
        let use = BreakGlassUse(request: requestID, time: vault.clock.now())
        let directory = self.directory
        // Used once: checked again where the marker is written, so two opens at the same moment
        // cannot both pass the check above.
        try await record(
            auditEntry(
                .breakGlassOpen, subject: request.record, reason: "\(requestID): \(request.reason)"),
            notify: headsOfCentre.union([envelope.label.author]),
            objects: [try sign(use), try sign(item)],
            unless: { tx in
                if let gone = try await Overtaken.gone(request.record, tx: tx) { return gone }
                let uses = try await Self.facts(
                    BreakGlassUse.self, about: requestID, tx: tx, directory: directory)
                return uses.isEmpty ? nil : .refused(subject: requestID, why: used)
            })
        var shares: [SecretShare] = []
        for a in approvals.prefix(needed) {
            let bytes = try BoundBox.open(
                a.box, binding: requestID, with: identity.agreement,
                what: "the share released by \(a.approver)")
            do { shares.append(try SecretShare(serialized: bytes)) } catch {
                throw TutelaError.tampered("the share released by \(a.approver) is malformed")
            }
        }
        let key: SecretBytes
        do { key = try SecretSharing.combine(shares) } catch {
            throw TutelaError.tampered(
                "the released shares of \(request.record) do not combine: \(error)")
        }
        defer { key.wipe() }
        return OpenedRecord(
            label: envelope.label, content: try await decrypt(envelope, dataKey: key))
    }

    // MARK: - Reviews, inbox, export

    /// Every disclosure and break-glass opening, with its review outcome if it has one.
    public func safeguardingReviews() async throws -> [ReviewItem] {
        guard principal.has(.headOfCentre) || principal.has(.safeguardingOfficer) else {
            try await refuse(
                .review, "reviews",
                "only heads of centre and safeguarding officers see the review list")
        }
        var items: [ReviewItem] = []
        for var item in try await facts(ReviewItem.self, about: nil) {
            if let verdict = try await fact(ReviewOutcome.self, about: item.id) {
                item.outcome = verdict.outcome
                item.note = verdict.note
                item.reviewer = verdict.reviewer
            }
            items.append(item)
        }
        return items.sorted { $0.time < $1.time }
    }

    /// A head of centre records whether a disclosure or break-glass was justified. Never their own.
    public func review(_ id: String, outcome: ReviewItem.Outcome, note: String) async throws {
        let note = try Self.requireReason(note, for: "record a review")
        guard principal.has(.headOfCentre) else {
            try await refuse(
                .review, id, "only a head of centre reviews disclosures and break-glass")
        }
        guard let item = try await safeguardingReviews().first(where: { $0.id == id }) else {
            throw TutelaError.notFound("there is no review \(id)")
        }
        guard item.actor != principal.id else {
            try await refuse(.review, id, "no one reviews their own opening of a record")
        }
        guard item.outcome == nil else {
            throw TutelaError.exists("\(id) was already reviewed by \(item.reviewer ?? "?")")
        }
        try await record(
            auditEntry(.review, subject: item.record, reason: "\(id) \(outcome.rawValue): \(note)"),
            notify: [item.actor],
            objects: [
                try sign(
                    ReviewOutcome(
                        review: id, outcome: outcome, note: note, reviewer: principal.id,
                        time: vault.clock.now()))
            ])
    }

    /// Notices for this person, newest first: each the signed audit entry it points to.
    public func inbox() async throws -> [Notice] {
        var notices: [Notice] = []
        for object in try await store.objects(kind: ObjectKind.notice, key: principal.id) {
            var r = CanonicalReader(object.body, context: "notice \(object.id)")
            let sequence = try r.i64("sequence")
            try r.finish()
            guard let link = try await store.link(.audit, at: sequence) else {
                throw TutelaError.tampered(
                    "notice \(object.id) points at audit entry \(sequence), which is missing")
            }
            let keys = directory.principals[link.signer]?.signingKeys ?? []
            let content = SignedChain.checkContent(link, in: .audit, signerKeys: keys)
            guard content.signature, content.hash else {
                throw TutelaError.tampered(
                    "audit entry \(sequence) behind a notice does not verify")
            }
            notices.append(
                Notice(
                    sequence: sequence,
                    entry: try AuditEntry.parse(link.body, context: "audit entry \(sequence)")))
        }
        return notices.sorted { $0.sequence > $1.sequence }
    }

    /// What this learner or parent may receive: every record of `learner` policy lets them open,
    /// each audited; safeguarding material is left out where the policy says so.
    /// - Returns: the opened records and how many were withheld.
    public func export(learner: String) async throws -> (records: [OpenedRecord], withheld: Int) {
        enum Step: Sendable {
            case skip
            case withheld
            case release(Envelope, Slot)
        }
        let policy = try policy()
        try Identifier.validate(learner, as: "learner")
        let (directory, principal, identity) = (self.directory, self.principal, self.identity)
        let policyVersion = self.policyVersion
        var opened: [OpenedRecord] = []
        var withheld = 0
        for row in try await store.labels(learner: learner) {
            let now = vault.clock.now()
            // As `open` does: the record and its state are read, the decision made and its entry
            // written in one transaction, so a record flagged a moment ago is already withheld.
            let (step, head) = try await auditedTransaction { tx throws -> Step in
                guard let stored = try await tx.record(row.record) else {
                    // Destroyed records keep only their label and certificate: nothing to export.
                    // A label with neither contents nor a certificate was cut out of the vault.
                    guard
                        try await !Self.facts(
                            DestructionCertificate.self, about: row.record, tx: tx,
                            directory: directory
                        ).isEmpty
                    else {
                        throw TutelaError.tampered(
                            "\(row.record) has a label but no contents and no destruction certificate"
                        )
                    }
                    return .skip
                }
                let envelope = try Self.verifiedEnvelope(
                    stored, id: row.record, directory: directory)
                let state = try await Self.recordState(
                    row.record, tx: tx, directory: directory, now: now)
                let plain = policy.decide(
                    .open, actor: principal, label: envelope.label, directory: directory)
                let decision = policy.decide(
                    .open, actor: principal, label: envelope.label, state: state,
                    directory: directory)
                guard decision.allowed,
                    let slot = stored.slots.first(where: { $0.recipient == principal.id })
                else { return plain.allowed ? .withheld : .skip }
                try await Self.appendAudit(
                    AuditEntry(
                        action: .export, actor: principal.id, subject: row.record,
                        outcome: .allowed, reason: decision.rule, time: now,
                        policyVersion: policyVersion),
                    tx: tx, signer: identity)
                return .release(envelope, slot)
            }
            switch step {
            case .skip: continue
            case .withheld: withheld += 1
            case .release(let envelope, let slot):
                try auditedPin(head)
                opened.append(
                    OpenedRecord(
                        label: envelope.label, content: try await decrypt(envelope, slot: slot)))
            }
        }
        return (opened, withheld)
    }
}
