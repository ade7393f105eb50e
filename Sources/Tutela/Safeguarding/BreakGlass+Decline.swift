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
    public func requests() async throws -> [Status] {
        let policy = try policy()
        let now = vault.clock.now()
        var result: [Status] = []
        let ids = try await store.objects(kind: FactKind.breakGlassRequest.rawValue, key: nil)
            .map(\.id)
        for text in Set(ids) {
            guard let id = RequestID(validating: text) else {
                throw TutelaError.tampered("a break-glass request is filed under a malformed id")
            }
            let seen: (request: BreakGlassRequest, label: Label, requesterName: String)
            do { seen = try await describe(id) } catch let error as TutelaError
                where error.kind == .permissionDenied
            {
                continue
            }
            let request = seen.request
            guard let rules = policy.classes[seen.label.recordClass]?.safeguarding.breakGlass else {
                continue
            }
            let approvals = try await approvals(of: request, rules: rules)
            let used = try await fact(BreakGlassUse.self, about: id.text) != nil
            let expired = now >= request.expires
            let approver = policy.decide(
                .breakGlassApprove, actor: principal, label: seen.label, directory: directory)
            result.append(
                Status(
                    request: request, label: seen.label, requesterName: seen.requesterName,
                    approvals: approvals.count,
                    needed: max(rules.approvals, request.approvalsNeeded),
                    approvedBy: approvals.map(\.approver), used: used, expired: expired,
                    mayApprove: approver.allowed && request.requester != principal.id && !used
                        && !expired && !approvals.contains { $0.approver == principal.id }))
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
            try await record(
                auditEntry(.breakGlassDecline, subject: subject, reason: "\(requestID): \(reason)"),
                notify: [request.requester])
        }
    }
}
