import TutelaCrypto

/// Retention and disposition, from labels and signed facts alone — never contents: where each
/// record stands on a date, holds, reviews of records whose period ended, and destruction by
/// crypto-shredding with a signed certificate. For record keepers.
public struct Retention: SessionService {
    let session: Session
    // MARK: - Signed per-record facts

    /// The active hold on the record `label` names, if any: (who, reason). A hold or release
    /// signed by someone who could not place or release it is refused (65).
    func hold(_ label: Label) async throws -> (by: PrincipalID, reason: String)? {
        guard let hold = try await fact(Hold.self, about: label.record.text) else { return nil }
        try hold.check(label: label, directory: directory)
        return hold.active ? (hold.by, hold.reason) : nil
    }

    /// A retention review decision — keep until a date, or destroy — that counts: signed by someone
    /// who holds a retention role and was not revoked, about a record whose period ended with
    /// `then: review` (`due`) on or before the day the review was made, and made no later than the
    /// day being checked (`asOf`). Anything else written in as a review (by a tutor, deciding a
    /// record that never came up for review, or dated ahead) is ignored.
    func retentionDecision(
        _ record: RecordID, reviewDue due: CalendarDate?, asOf: CalendarDate
    ) async throws -> (
        keepUntil: CalendarDate?, by: PrincipalID
    )? {
        guard let due, let review = try await fact(RetentionReview.self, about: record.text),
            let reviewer = directory.principals[review.by], !reviewer.revoked,
            try retentionRoles().contains(where: reviewer.has),
            review.time >= Int64(due.daysSinceEpoch) * 86_400,
            review.time < Int64(asOf.daysSinceEpoch + 1) * 86_400
        else { return nil }
        return (review.keepUntil, review.by)
    }

    /// The tombstone of a destroyed record, unchecked against who asks: what a person may see of
    /// one is ``certificate(_:)``'s to say.
    func tombstone(_ record: RecordID) async throws -> DestructionCertificate? {
        try await fact(DestructionCertificate.self, about: record.text)
    }

    /// The roles that place holds or destroy records under any class: they review retention.
    func retentionRoles() throws(TutelaError) -> Set<Role> {
        Set(
            try policy().classes.values.flatMap {
                $0.retention.hold.map(\.value) + $0.retention.destroy.map(\.value)
            })
    }

    func requireRetentionRole(_ what: String) throws(TutelaError) {
        let roles = try retentionRoles()
        guard roles.contains(where: principal.has) else {
            throw .denied(
                "'\(principal.id)' may not \(what): only "
                    + roles.map(\.rawValue).sorted().joined(separator: ", ") + " may")
        }
    }

    /// The retention check: every record's standing, for record keepers.
    public func check(asOf: CalendarDate) async throws -> [RetentionStatus] {
        var result: [RetentionStatus] = []
        try await check(asOf: asOf) { result.append($0) }
        return result
    }

    /// The retention check, one record at a time (memory stays flat over a million records).
    public func check(asOf: CalendarDate, _ each: (RetentionStatus) throws -> Void)
        async throws
    {
        try await forEachStatus(asOf: asOf, each)
    }

    /// Refuses, audited, someone without a retention role.
    func requireToCheck() async throws {
        do { try requireRetentionRole("run retention checks") } catch {
            try await audit(.retentionCheck, subject: nil, outcome: .denied, reason: error.message)
            throw error
        }
    }

    // MARK: - Holds and reviews

    /// Places (or releases) a legal or inquiry hold. A held record cannot be destroyed by anyone.
    public func setHold(_ recordID: RecordID, active: Bool, reason: String) async throws {
        try await session.decidingAfresh {
            try await concealRecordFromFamily(recordID, for: active ? .hold : .release)
            let reason = try Session.requireReason(
                reason, for: active ? "place a hold" : "release a hold")
            let policy = try policy()
            let label = try await labelOf(recordID)
            var state = RecordState()
            state.held = try await hold(label) != nil
            let action: PolicyAction = active ? .hold : .release
            let decision = policy.decide(
                action, actor: principal, label: label, state: state, directory: directory)
            guard decision.allowed else {
                try await refuse(
                    active ? .hold : .release, recordID.text,
                    "'\(principal.id)' may not \(action.rawValue) \(recordID): \(decision.rule)")
            }
            let hold = Hold(
                record: recordID, active: active, reason: reason, time: vault.clock.now(),
                by: principal.id, decidedAt: directory.statementCount)
            try await record(
                auditEntry(active ? .hold : .release, subject: recordID.text, reason: reason),
                notify: [],
                objects: [try sign(hold)])
        }
    }

    /// Records a review of a record whose period ended: keep until a date, or destroy.
    public func reviewRetention(_ recordID: RecordID, keepUntil: CalendarDate?, reason: String)
        async throws
    {
        try await session.decidingAfresh {
            let reason = try Session.requireReason(reason, for: "record a retention review")
            try requireRetentionRole("review retention")
            let today = vault.clock.today
            // Their own family's records are others' to keep, whatever their standing: refused
            // before it is worked out (Policy/Family.swift).
            try await refuseFamilyStep(recordID, .retentionReview)
            guard let status = try await standing(of: recordID, asOf: today) else {
                throw TutelaError.notFound("there is no record \(recordID)")
            }
            guard status.standing != .destroyed else {
                throw TutelaError.notFound("\(recordID) was destroyed")
            }
            guard status.standing == .review else {
                try await refuse(
                    .retentionReview, recordID.text,
                    "\(recordID) is not due for review (it is \(status.standing.rawValue)); a review decides records "
                        + "whose period ended with 'then: review'")
            }
            if let keepUntil, keepUntil <= today {
                throw TutelaError.usage("--until must be after today (\(today))")
            }
            let review = RetentionReview(
                record: recordID, keepUntil: keepUntil, reason: reason, time: vault.clock.now(),
                by: principal.id)
            try await record(
                auditEntry(
                    .retentionReview, subject: recordID.text,
                    reason: (keepUntil.map { "keep until \($0)" } ?? "destroy") + ": \(reason)"),
                notify: [],
                objects: [try sign(review)])
        }
    }

    /// A learner or parent asking a retention question about a record they may not know of — a
    /// flagged one, a destroyed one, someone else's — is told there is no record, in those words.
    func concealRecordFromFamily(_ recordID: RecordID, for action: AuditEntry.Action) async throws {
        guard principal.isFamily else { return }
        _ = try await load(recordID, for: action)
    }

    /// A retention step on a record about this person's own family is others' to take: refused in
    /// the same words whatever its standing — once a record they may not know of has been
    /// answered as none (``concealRecordFromFamily(_:for:)``).
    func refuseFamilyStep(_ recordID: RecordID, _ action: AuditEntry.Action) async throws {
        try await concealRecordFromFamily(recordID, for: action)
        if let rule = try await familyStep(recordID) {
            try await refuse(action, recordID.text, rule)
        }
    }

    /// Why a safeguarding or retention step on `recordID` is not this person's to take — they are
    /// its learner or their parent or carer — or nil for anyone else. Asked of the record's proven
    /// label, so the answer is the same whether it is flagged, destroyed or neither.
    func familyStep(_ recordID: RecordID) async throws -> String? {
        let label = try await labelOf(recordID)
        guard directory.isFamily(principal.id, of: label.learner) else { return nil }
        return Policy.familyStep(principal, label).rule
    }

    /// `recordID`'s label as its author signed it, or as its destruction certificate names it
    /// (``provenLabelRow(_:)``): a hold is decided on the genuine label, not on an edited row.
    func labelOf(_ recordID: RecordID) async throws -> Label {
        guard let row = try await provenLabelRow(recordID).first else {
            throw TutelaError.notFound("there is no record \(recordID)")
        }
        return try Label.parse(row.labelBytes)
    }
}

extension Session {
    /// Retention and disposition, as this person.
    public var retention: Retention { Retention(session: self) }
}
