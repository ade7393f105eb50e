/// What someone is trying to do to a record.
public enum RecordAction: String, Sendable, CaseIterable {
    /// Read the contents.
    case open
    /// See the label.
    case viewLabel = "view-label"
}

/// How much of the audit log someone may read.
public enum AuditScope: Sendable, Equatable {
    case all
    case ownRecords
    case none
}

/// The outcome of a policy decision, with the rule that decided it.
public struct Decision: Sendable, Equatable {
    public let allowed: Bool
    /// The rule, in words a safeguarding lead would recognise.
    public let rule: String

    static func allow(_ rule: String) -> Decision { Decision(allowed: true, rule: rule) }
    static func deny(_ rule: String) -> Decision { Decision(allowed: false, rule: rule) }
}

/// Who gets key slots and who may open: one value, the single decision point.
///
/// This is the built-in policy (version `builtin-1`); a later change makes it a signed, declarative
/// file. Deny by default: anything no rule allows is refused.
///
/// - A confidential tutorial gets slots for its author, and for the learner when the learner is
///   enrolled as a principal.
/// - A tutorial that is not confidential also gets a slot for the learner's assigned tutor.
/// - Record keepers and administrators see every label and no contents.
public struct AccessPolicy: Sendable {
    public let version: String

    public static let builtIn = AccessPolicy(version: "builtin-1")

    /// The principals whose keys a new record is sealed to, in a stable order.
    func recipients(
        recordClass: RecordClass, author: String, learner: Learner, directory: Directory
    ) -> [String] {
        var ids = [author]
        if let learnerPrincipal = directory.learnerPrincipal(learner.id) {
            ids.append(learnerPrincipal.id)
        }
        if recordClass == .tutorial { ids.append(learner.tutor) }
        var seen = Set<String>()
        return ids.filter { seen.insert($0).inserted && directory.principals[$0] != nil }
    }

    /// Whether `actor` may seal a new record.
    func decideSeal(actor: Principal) -> Decision {
        actor.has(.tutor)
            ? .allow("tutors write tutorials") : .deny("only tutors write tutorials")
    }

    /// How much of the audit log `actor` may read: all of it, only entries about records they
    /// wrote, or none.
    func auditReadScope(actor: Principal) -> (scope: AuditScope, rule: String) {
        if actor.has(.recordKeeper) || actor.has(.safeguardingOfficer) {
            return (.all, "record keepers and safeguarding officers read the whole audit log")
        }
        if actor.has(.tutor) {
            return (.ownRecords, "tutors read the audit entries of records they wrote")
        }
        return (.none, "only record keepers, safeguarding officers and tutors read the audit log")
    }

    /// Whether `actor` may sign an audit checkpoint.
    func decideCheckpoint(actor: Principal) -> Decision {
        if actor.isAuthority || actor.has(.admin) || actor.has(.recordKeeper)
            || actor.has(.safeguardingOfficer) || actor.has(.headOfCentre)
        {
            return .allow("administrators, record keepers, officers and heads sign checkpoints")
        }
        return .deny("only administrators, record keepers, officers and heads sign checkpoints")
    }

    /// Whether `actor` may accept a restored vault whose log went backwards.
    func decideAcceptRestore(actor: Principal) -> Decision {
        actor.isAuthority || actor.has(.admin)
            ? .allow("the authority and administrators accept a deliberate restore")
            : .deny("only the authority or an administrator may accept a restore")
    }

    /// Whether `actor` may do `action` to the record labelled `label`.
    public func decide(
        _ action: RecordAction, actor: Principal, label: Label, directory: Directory
    ) -> Decision {
        if label.author == actor.id { return .allow("the author may open their own records") }
        if label.learner == actor.id, actor.has(.learner) {
            return .allow("the learner may open their own records")
        }
        if label.recordClass == .tutorial, directory.learners[label.learner]?.tutor == actor.id {
            return .allow(
                "the learner's assigned tutor may open tutorials that are not confidential")
        }
        if actor.has(.recordKeeper) || actor.has(.admin) || actor.isAuthority {
            return action == .viewLabel
                ? .allow("record keepers and administrators see every label")
                : .deny("record keepers and administrators see labels only, never contents")
        }
        if label.recordClass == .confidentialTutorial,
            directory.learners[label.learner]?.tutor == actor.id
        {
            return .deny("a confidential tutorial is for its author and the learner only")
        }
        return .deny("no rule gives '\(actor.id)' access to this record (deny by default)")
    }
}
