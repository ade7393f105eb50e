/// One entry of the audit log: who did what, to which record, when, under which policy, and the
/// decision. Never any content.
public struct AuditEntry: Sendable, Equatable {
    /// What was done or attempted; the raw value is the name the log stores and shows.
    public enum Action: String, Sendable, CaseIterable {
        /// The vault was created.
        case initialize = "init"
        /// A principal was enrolled.
        case enrol
        /// A learner was recorded.
        case learnerAdd = "learner-add"
        /// A learner's leaving date was recorded.
        case learnerLeave = "learner-leave"
        /// A learner's leaving date was corrected (or withdrawn), with a reason.
        case learnerLeaveCorrect = "learner-leave-correct"
        /// A learner's contacts (parents or carers, home school, provider) were set.
        case learnerContacts = "learner-contacts"
        /// A learner was moved to another tutor.
        case learnerTutor = "learner-tutor"
        /// A new version of the policy was published.
        case policyApply = "policy-apply"
        /// A record's key slots were brought in line with the policy in force.
        case regrant
        /// A new version of a role's group key was published.
        case groupKey = "group-key"
        /// A role's group key was sealed to holders of the role who did not have it yet.
        case groupSync = "group-sync"
        /// A record was flagged as a safeguarding concern.
        case flag
        /// A flagged record was opened through a disclosure, with a reason.
        case disclose
        /// Break-glass access to an unflagged record was requested.
        case breakGlassRequest = "break-glass-request"
        /// A break-glass request was approved.
        case breakGlassApprove = "break-glass-approve"
        /// An approver declined a break-glass request, with a reason, told to the requester.
        case breakGlassDecline = "break-glass-decline"
        /// A record was opened through an approved break-glass request.
        case breakGlassOpen = "break-glass-open"
        /// A head of centre recorded whether a disclosure or break-glass opening was justified.
        case review
        /// A record was released in a copy for a learner or parent.
        case export
        /// The retention check was run.
        case retentionCheck = "retention-check"
        /// A hold was placed on a record.
        case hold
        /// A hold on a record was released.
        case release
        /// A review decided whether a record due for review is kept longer or destroyed.
        case retentionReview = "retention-review"
        /// A record keeper proposed a destruction that a second keeper must confirm.
        case destroyProposal = "destroy-proposal"
        /// A record was destroyed.
        case destroy
        /// A principal changed their passphrase.
        case passphraseChange = "passphrase-change"
        /// A principal enrolled or removed a second factor, or signed in with a recovery code.
        case secondFactor = "second-factor"
        /// A principal was revoked.
        case revoke
        /// A principal who lost their passphrase was given new keys.
        case rekey
        /// An administrator withdrew an enrolment never activated: its code no longer works.
        case withdraw
        /// Someone activated an enrolment (or a re-key) with their code, making their own keys.
        case activate
        /// A person split their keys among the recovery approvers' groups.
        case identityEscrow = "identity-escrow"
        /// An administrator asked to recover someone's keys after a lost passphrase.
        case recoveryRequest = "recovery-request"
        /// An approver released their group's share of someone's keys to a recovery code.
        case recoveryApprove = "recovery-approve"
        /// A person rebuilt their keys from released shares and set a new passphrase.
        case identityRecover = "identity-recover"
        /// The person, or an administrator, closed a recovery request before it was used.
        case recoveryCancel = "recovery-cancel"
        /// Slots and break-glass shares were moved from a retired group key to the current one.
        case groupRewrap = "group-rewrap"
        /// A record was re-encrypted under fresh keys.
        case reencrypt
        /// A principal's roles were changed.
        case setRoles = "set-roles"
        /// The authority's keys were split into trustee shares.
        case authoritySplit = "authority-split"
        /// The authority was rebuilt from trustee shares and sealed under a new passphrase.
        case authorityRecover = "authority-recover"
        /// A record was sealed (written).
        case seal
        /// A record was opened.
        case open
        /// An audit checkpoint was signed.
        case checkpoint = "audit-checkpoint"
        /// The audit log was read.
        case auditRead = "audit-read"
        /// A vault restored from an older copy was accepted on purpose.
        case acceptRestore = "accept-restore"
        /// An administrator set the log's time back to this machine's clock, after an entry was
        /// written with a clock set wrongly forward: the one entry allowed to be earlier than the
        /// one before it.
        case clockCorrect = "clock-correct"
        /// Someone marked the notices in their inbox read.
        case inboxRead = "inbox-read"
        /// A record was marked void: sealed by mistake, kept until its retention ends.
        case void
        /// An addendum was sealed to a record: a correction or addition by its author.
        case addendum
        /// A tutorial was planned with a learner (its day, time and place; no content).
        case plan
        /// A planned tutorial's day, time or place changed.
        case planChange = "plan-change"
        /// A planned tutorial was cancelled.
        case planCancel = "plan-cancel"
        /// A planned tutorial was held: linked to the record sealed for it.
        case planHeld = "plan-held"
    }

    /// How an attempt ended; the raw value is the name the log stores and shows.
    public enum Outcome: String, Sendable, CaseIterable {
        /// The action was allowed.
        case allowed
        /// The action was refused; the entry's reason says why.
        case denied
        /// The record asked for does not exist or was destroyed.
        case notFound = "not-found"
    }

    /// What was done or attempted.
    public let action: Action
    /// The principal id of who acted; the entry must be signed by them.
    public let actor: PrincipalID
    /// The record, learner or principal acted on.
    public let subject: String?
    /// Whether it was allowed, refused, or asked for a record that is not there.
    public let outcome: Outcome
    /// The policy rule that decided, or another short reason. Never content.
    public let reason: String?
    /// The longest reason an entry holds, in UTF-8 bytes: a person's reason (at most 2,000
    /// bytes) with the words around it.
    static let maximumReasonBytes = 8 * 1024
    /// Seconds since 1970 UTC.
    public let time: Int64
    /// The version of the policy in force, as text: `1`, `2`, …, or `none` before any was applied.
    public let policyVersion: String
    /// The position of the entry before this one about the same subject, where the log's index of
    /// its subject (the state's `A:SUBJECT`) links it; -1 for the first, for an entry with no
    /// subject, and for the entry that sealed its subject's record. Set when it is appended.
    var previous: Int64 = -1
    /// The vault's state as this entry left it (see ``StateHead``); set when the entry is appended.
    var state = StateHead.empty

    /// 3 since #21: `previous`, and a state that indexes each subject's entries; 4: a state that
    /// counts and chains each learner's and each author's labels (``FiledLabels``).
    static let version: UInt8 = 4

    /// The same entry without its reason (an officer's words for opening a flagged record, in a
    /// notice to someone the policy does not let open flagged records).
    var withoutReason: AuditEntry {
        AuditEntry(
            action: action, actor: actor, subject: subject, outcome: outcome, reason: nil,
            time: time, policyVersion: policyVersion, previous: previous, state: state)
    }

    /// The same entry at another time.
    func stamped(_ time: Int64) -> AuditEntry {
        AuditEntry(
            action: action, actor: actor, subject: subject, outcome: outcome, reason: reason,
            time: time, policyVersion: policyVersion, previous: previous, state: state)
    }

    var canonical: [UInt8] {
        var w = CanonicalWriter()
        writeContent(to: &w)
        state.write(to: &w)
        return w.bytes
    }

    /// Everything but the state: what the index of the entry's subject commits to (the state the
    /// entry commits to cannot hold a hash of itself).
    private func writeContent(to w: inout CanonicalWriter) {
        w.u8(Self.version)
        w.string(action.rawValue)
        w.id(actor)
        w.optionalString(subject)
        w.string(outcome.rawValue)
        w.optionalString(reason)
        w.i64(time)
        w.string(policyVersion)
        w.i64(previous)
    }

    /// BLAKE2b-256(string "tutela-audit-content-v1" ‖ the body up to its state).
    func contentDigest() throws(TutelaError) -> [UInt8] {
        var w = CanonicalWriter()
        w.string("tutela-audit-content-v1")
        writeContent(to: &w)
        return try StateMap.hash(w.bytes)
    }

    /// The entry in `link`, or nil unless the link is genuine: its hash recomputed from its bytes,
    /// and its signature made by the key its signer held under the directory position the entry
    /// records — a retired key, or a leaver's, signs nothing that counts.
    static func genuine(_ link: ChainLink, directory: Directory) -> AuditEntry? {
        guard let entry = try? parse(link.body, context: "audit entry \(link.sequence)"),
            let signer = directory.principals[link.signer]
        else { return nil }
        let content = SignedChain.checkContent(
            link, in: .audit, signerKeys: signer.signingKeys(madeUnder: entry.state.directoryCount))
        return content.signature && content.hash ? entry : nil
    }

    static func parse(_ bytes: [UInt8], context: String) throws(TutelaError) -> AuditEntry {
        var r = CanonicalReader(bytes, context: context)
        guard try r.u8("version") == version else {
            throw .tampered("\(context) has an unknown version")
        }
        guard let action = Action(rawValue: try r.string("action", max: 64)) else {
            throw .tampered("\(context) names an unknown action")
        }
        let actor: PrincipalID = try r.id("actor")
        let subject = try r.optionalString("subject", max: Identifier.maximumLength)
        guard let outcome = Outcome(rawValue: try r.string("outcome", max: 32)) else {
            throw .tampered("\(context) has an unknown outcome")
        }
        let entry = AuditEntry(
            action: action, actor: actor, subject: subject, outcome: outcome,
            reason: try r.optionalString("reason", max: maximumReasonBytes),
            time: try r.i64("time"),
            policyVersion: try r.string("policy version", max: 64),
            previous: try r.i64("previous"), state: try StateHead.read(&r))
        guard entry.previous >= -1 else { throw .tampered("\(context) has a bad previous entry") }
        try r.finish()
        return entry
    }
}
