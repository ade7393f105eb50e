/// One entry of the audit log: who did what, to which record, when, under which policy, and the
/// decision. Never any content.
public struct AuditEntry: Sendable, Equatable {
    public enum Action: String, Sendable, CaseIterable {
        case initialize = "init"
        case enrol
        case learnerAdd = "learner-add"
        case learnerLeave = "learner-leave"
        case learnerContacts = "learner-contacts"
        case policyApply = "policy-apply"
        case regrant
        case groupKey = "group-key"
        case groupSync = "group-sync"
        case flag
        case disclose
        case breakGlassRequest = "break-glass-request"
        case breakGlassApprove = "break-glass-approve"
        case breakGlassOpen = "break-glass-open"
        case review
        case export
        case retentionCheck = "retention-check"
        case hold
        case release
        case retentionReview = "retention-review"
        case destroyProposal = "destroy-proposal"
        case destroy
        case passphraseChange = "passphrase-change"
        case revoke
        case rekey
        case groupRewrap = "group-rewrap"
        case reencrypt
        case setRoles = "set-roles"
        case authoritySplit = "authority-split"
        case authorityRecover = "authority-recover"
        case seal
        case open
        case checkpoint = "audit-checkpoint"
        case auditRead = "audit-read"
        case acceptRestore = "accept-restore"
    }

    public enum Outcome: String, Sendable, CaseIterable {
        case allowed
        case denied
        case notFound = "not-found"
    }

    public let action: Action
    public let actor: String
    /// The record, learner or principal acted on.
    public let subject: String?
    public let outcome: Outcome
    /// The policy rule that decided, or another short reason. Never content.
    public let reason: String?
    /// Seconds since 1970 UTC.
    public let time: Int64
    public let policyVersion: String

    static let version: UInt8 = 1

    var canonical: [UInt8] {
        var w = CanonicalWriter()
        w.u8(Self.version)
        w.string(action.rawValue)
        w.string(actor)
        w.optionalString(subject)
        w.string(outcome.rawValue)
        w.optionalString(reason)
        w.i64(time)
        w.string(policyVersion)
        return w.bytes
    }

    static func parse(_ bytes: [UInt8], context: String) throws(TutelaError) -> AuditEntry {
        var r = CanonicalReader(bytes, context: context)
        guard try r.u8("version") == version else {
            throw .tampered("\(context) has an unknown version")
        }
        guard let action = Action(rawValue: try r.string("action", max: 64)) else {
            throw .tampered("\(context) names an unknown action")
        }
        let actor = try r.string("actor", max: Identifier.maximumLength)
        let subject = try r.optionalString("subject", max: Identifier.maximumLength)
        guard let outcome = Outcome(rawValue: try r.string("outcome", max: 32)) else {
            throw .tampered("\(context) has an unknown outcome")
        }
        let entry = AuditEntry(
            action: action, actor: actor, subject: subject, outcome: outcome,
            reason: try r.optionalString("reason", max: 1024), time: try r.i64("time"),
            policyVersion: try r.string("policy version", max: 64))
        try r.finish()
        return entry
    }
}
