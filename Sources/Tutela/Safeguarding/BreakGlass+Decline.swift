/// The break-glass requests a person sees, and an approver declining one.
extension BreakGlass {
    /// A break-glass request as its requester and its approvers see it: nothing is decrypted.
    public struct Status: Sendable {
        /// The request: who asks, for which record, why, until when.
        public let request: BreakGlassRequest
        /// The label of the record it would open.
        public let label: Label
        /// The requester's name as enrolled.
        public let requesterName: String
        /// Valid approvals so far, and how many it needs.
        public let approvals: Int
        /// How many approvals the policy needs.
        public let needed: Int
        /// Who has approved it.
        public let approvedBy: [PrincipalID]
        /// Whether the requester has opened the record with it (it is then used up).
        public let used: Bool
        /// Whether its lifetime has ended.
        public let expired: Bool
        /// Whether the reader may approve it now (an approver who has not, while it is open).
        public let mayApprove: Bool
    }

    /// The requests this person made and those the policy lets them approve, newest first.
    ///
    /// Nothing here writes to the audit log, and a person who neither requests nor approves
    /// break-glass (a learner, a parent, a tutor) gets an empty list without a request being
    /// read: the list says nothing of whether any exist. A request whose record is gone
    /// (destroyed), or is about the reader's own family, is left out.
    public func requests() async throws -> [Status] {
        let policy = try policy()
        let me = principal
        let rules = policy.classes.values.compactMap(\.safeguarding.breakGlass)
        let approves = rules.contains { $0.approvers.contains(where: me.has) }
        let requests = rules.contains { $0.requesters.contains(where: me.has) }
        guard approves || requests else { return [] }
        let now = vault.clock.now()
        let held = try await session.heldGroupVersions()
        var result: [Status] = []
        let ids = try await store.objects(kind: FactKind.breakGlassRequest.rawValue, key: nil)
            .map(\.id)
        for text in Set(ids) {
            guard let id = RequestID(validating: text) else {
                throw TutelaError.tampered("a break-glass request is filed under a malformed id")
            }
            let request = try await breakGlassRequest(id)
            guard request.requester == me.id || approves,
                let stored = try await session.verifiedRecord(request.record)
            else { continue }
            let label = try Session.verifiedEnvelope(
                stored, id: request.record, directory: directory
            )
            .label
            guard !policy.isFamily(of: label, actor: me, directory: directory),
                let bg = policy.classes[label.recordClass]?.safeguarding.breakGlass
            else { continue }
            let approver = policy.decide(
                .breakGlassApprove, actor: me, label: label, directory: directory)
            guard approver.allowed || request.requester == me.id else { continue }
            let approvals = try await approvals(of: request, rules: bg)
            let used = try await fact(BreakGlassUse.self, about: id.text) != nil
            let expired = now >= request.expires
            // What approve() would refuse, it is not offered: a role of the reader's with an
            // approval still to give and a group key to give it from, and a requester who may
            // still ask (the record may have been flagged since).
            let roleFree = bg.approvers.contains { role in
                me.has(role) && !approvals.contains { $0.role == role }
                    && directory.groups[role] != nil
                    && held.contains {
                        if case .group(let r, _) = $0 { r == role } else { false }
                    }
            }
            let stillAsked = Self.requesterDecision(
                request, label: label, policy: policy, directory: directory, now: now
            ).allowed
            result.append(
                Status(
                    request: request, label: label,
                    requesterName: directory.principals[request.requester]?.name
                        ?? request.requester.text,
                    approvals: approvals.count, needed: max(bg.approvals, request.approvalsNeeded),
                    approvedBy: approvals.map(\.approver), used: used, expired: expired,
                    mayApprove: approver.allowed && request.requester != me.id && !used
                        && !expired && roleFree && stillAsked
                        && !approvals.contains { $0.approver == me.id }))
        }
        return result.sorted {
            ($0.request.created, $0.request.id.text) > ($1.request.created, $1.request.id.text)
        }
    }

    /// An approver declines a request: they release no share, and the requester is told, with
    /// the reason, at once. The request stays open to the other approvers until it expires (a
    /// quorum of others may still approve it); the decline is on the audit log beside it.
    /// - Throws: usage (64) without a reason; denied (77) for anyone the policy does not let
    ///   approve this request, and for the requester; not found (66) for no such request.
    public func decline(_ requestID: RequestID, reason: String) async throws {
        try await session.decidingAfresh {
            let reason = try Session.requireReason(reason, for: "decline a break-glass request")
            let policy = try policy()
            let request = try await breakGlassRequest(requestID)
            let subject = request.record.text
            if let family = try await session.retention.familyStep(request.record) {
                try await refuse(.breakGlassDecline, subject, "\(requestID): \(family)")
            }
            if request.requester == principal.id {
                try await refuse(
                    .breakGlassDecline, subject,
                    "\(requestID): the requester cannot decline their own request")
            }
            let (_, envelope) = try await load(request.record, for: .breakGlassDecline)
            let decision = policy.decide(
                .breakGlassApprove, actor: principal, label: envelope.label, directory: directory)
            guard decision.allowed else {
                try await refuse(
                    .breakGlassDecline, subject,
                    "'\(principal.id)' may not decline \(requestID): \(decision.rule)")
            }
            // What approving would refuse, declining refuses too: a closed request, one this
            // person approved, a class that allows no break-glass.
            guard let bg = policy.classes[envelope.label.recordClass]?.safeguarding.breakGlass
            else {
                try await refuse(
                    .breakGlassDecline, subject,
                    "\(requestID): the policy in force allows no break-glass on this record")
            }
            if vault.clock.now() >= request.expires {
                try await refuse(
                    .breakGlassDecline, subject,
                    "\(requestID) expired at \(Timestamp.iso(request.expires))")
            }
            if try await fact(BreakGlassUse.self, about: requestID.text) != nil {
                try await refuse(.breakGlassDecline, subject, "\(requestID) was already used")
            }
            if try await approvals(of: request, rules: bg).contains(where: {
                $0.approver == principal.id
            }) {
                try await refuse(
                    .breakGlassDecline, subject,
                    "'\(principal.id)' has already approved \(requestID)")
            }
            try await record(
                auditEntry(.breakGlassDecline, subject: subject, reason: "\(requestID): \(reason)"),
                notify: [request.requester])
        }
    }
}
