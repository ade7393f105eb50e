/// Approving a break-glass request: the approver's group share released to the requester.
extension BreakGlass {
    /// An approver releases their group's share to the requester: opened with the group key, re-sealed
    /// to the requester bound to this request, signed, audited and noticed.
    @discardableResult
    public func approve(_ requestID: RequestID) async throws -> (approvals: Int, needed: Int) {
        try await session.decidingAfresh {
            let policy = try policy()
            let request = try await breakGlassRequest(requestID)
            // Audited against the record, naming the request (a family's own record's entries
            // leave their view of the log together).
            let subject = request.record.text
            if let family = try await session.retention.familyStep(request.record) {
                try await refuse(.breakGlassApprove, subject, "\(requestID): \(family)")
            }
            let (_, envelope) = try await load(request.record, for: .breakGlassApprove)
            guard let bg = policy.classes[envelope.label.recordClass]?.safeguarding.breakGlass
            else {
                try await refuse(
                    .breakGlassApprove, subject,
                    "\(requestID): the policy in force allows no break-glass on this record")
            }
            let now = vault.clock.now()
            if request.requester == principal.id {
                try await refuse(
                    .breakGlassApprove, subject,
                    "\(requestID): the requester can never approve their own request")
            }
            if now >= request.expires {
                try await refuse(
                    .breakGlassApprove, subject,
                    "\(requestID) expired at \(Timestamp.iso(request.expires))")
            }
            if try await fact(BreakGlassUse.self, about: requestID.text) != nil {
                try await refuse(
                    .breakGlassApprove, subject, "\(requestID) was already used")
            }
            let asked = Self.requesterDecision(
                request, label: envelope.label, policy: policy, directory: directory, now: now)
            guard asked.allowed else {
                try await refuse(.breakGlassApprove, subject, "\(requestID): \(asked.rule)")
            }
            let existing = try await approvals(of: request, rules: bg)
            if existing.contains(where: { $0.approver == principal.id }) {
                try await refuse(
                    .breakGlassApprove, subject,
                    "'\(principal.id)' has already approved \(requestID)"
                )
            }
            let decision = policy.decide(
                .breakGlassApprove, actor: principal, label: envelope.label, directory: directory)
            guard decision.allowed else {
                try await refuse(
                    .breakGlassApprove, subject,
                    "'\(principal.id)' may not approve \(requestID): \(decision.rule)")
            }
            guard
                let role = bg.approvers.first(where: { r in
                    principal.has(r) && !existing.contains { $0.role == r }
                        && directory.groups[r] != nil
                })
            else {
                try await refuse(
                    .breakGlassApprove, subject,
                    "\(requestID) already has the approval of every approver role '\(principal.id)' holds; "
                        + "it needs someone in another of: "
                        + bg.approvers.map(\.rawValue).joined(separator: ", "))
            }
            // The current version's share, or an older one's until a re-wrap moves it.
            let shares = try await store.shares(record: request.record)
            let held = try await session.heldGroupVersions()
            guard let requester = directory.principals[request.requester],
                let (index, version) = session.newestGroupVersion(
                    role, among: shares.map(\.holder), held: held)
            else {
                throw TutelaError.notFound(
                    "\(request.record) holds no break-glass share for the \(role.rawValue) group")
            }
            let stored = shares[index]
            let groupKey = try await session.groupKey(role, version: version)
            let share = try BoundBox.open(
                stored.body, kind: .share, binding: stored.id.description, with: groupKey,
                what: "the \(role.rawValue) share of \(request.record)")
            let released = try BoundBox.seal(
                share, kind: .approval, binding: "\(requestID)/\(request.requester)",
                to: requester.identity.agreementKey)
            share.wipe()
            let approval = Approval(
                request: requestID, approver: principal.id, role: role, time: now, box: released)
            try await record(
                auditEntry(
                    .breakGlassApprove, subject: request.record.text,
                    reason: "\(requestID) as \(role.rawValue)"),
                notify: headsOfCentre.union([envelope.label.author, request.requester])
                    .subtracting(directory.family(of: envelope.label.learner)),
                objects: [try sign(approval)])
            return (existing.count + 1, request.approvalsNeeded)
        }
    }
}
