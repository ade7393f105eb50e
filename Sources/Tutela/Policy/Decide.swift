// Over 400 lines: the single decision point — every action's rule in one switch, so that what
// the policy allows is read in one place.

/// Everything someone might do that policy decides.
public enum PolicyAction: String, Sendable, CaseIterable {
    /// Writing (sealing) a new record of a class.
    case seal
    /// Reading a record's contents.
    case open
    /// Seeing a record's label (its envelope) without the contents.
    case viewLabel = "view-label"
    /// Flagging a record as a safeguarding concern.
    case flag
    /// A safeguarding officer opening a flagged record.
    case disclose
    /// Asking for emergency (break-glass) access to a record that is not flagged.
    case breakGlassRequest = "break-glass-request"
    /// Approving a break-glass request, as one of the approvals the policy requires.
    case breakGlassApprove = "break-glass-approve"
    /// Placing a hold, which stops a record being destroyed.
    case hold
    /// Releasing a hold.
    case release
    /// Destroying a record that is due under its retention schedule: proposing it, as the first of
    /// the two people every destruction takes.
    case destroy
    /// Agreeing to a destruction someone else proposed: the second person, a record keeper or a
    /// head of centre, without whom nothing is destroyed.
    case agreeDestroy = "agree-destroy"
    /// Reading the audit entries of a record.
    case auditRead = "audit-read"
}

/// The state of a record that decisions depend on.
public struct RecordState: Sendable, Hashable {
    /// The record is flagged as a safeguarding concern.
    public var flagged = false
    /// A hold is in place, so the record cannot be destroyed.
    public var held = false
    /// The record was destroyed; only its tombstone label remains.
    public var destroyed = false
    /// A break-glass request is open on the record.
    public var breakGlassOpen = false

    /// Describes a record's state; every fact defaults to false (an ordinary, live record).
    public init(
        flagged: Bool = false, held: Bool = false, destroyed: Bool = false,
        breakGlassOpen: Bool = false
    ) {
        self.flagged = flagged
        self.held = held
        self.destroyed = destroyed
        self.breakGlassOpen = breakGlassOpen
    }
}

/// The outcome of a policy decision, with the rule that decided it.
public struct Decision: Sendable, Equatable {
    /// Whether the action may go ahead; false means it is refused.
    public let allowed: Bool
    /// The rule, in words a safeguarding lead would recognise, citing the policy file and line.
    public let rule: String

    static func allow(_ rule: String) -> Decision { Decision(allowed: true, rule: rule) }
    static func deny(_ rule: String) -> Decision { Decision(allowed: false, rule: rule) }
}

/// How much of the audit log someone may read.
public enum AuditScope: Sendable, Equatable {
    /// The whole log.
    case all
    /// Only the entries about records this person wrote.
    case ownRecords
    /// None of it.
    case none
}

extension Policy {
    /// Whether `subject` describes `actor`'s relation to the record labelled `label`.
    func matches(_ subject: Subject, actor: Principal, label: Label, directory: Directory) -> Bool {
        let learner = directory.learners[label.learner]
        switch subject {
        // A revoked author, or one waiting for new keys, is no reader: their key is retired.
        case .author: return label.author == actor.id && !actor.revoked && !actor.awaitingKeys
        case .assignedTutor: return learner?.tutor == actor.id && actor.has(.tutor)
        case .learner: return label.learner.text == actor.id.text && actor.has(.learner)
        case .role(let role): return actor.has(role)
        case .copies(let kind):
            guard label.copies.contains(kind) else { return false }
            switch kind {
            case .learner: return label.learner.text == actor.id.text && actor.has(.learner)
            case .parentsCarers:
                return actor.has(.parentCarer)
                    && learner?.contacts.parents.contains(actor.id) == true
            case .homeSchool:
                return actor.has(.homeSchool) && learner?.contacts.homeSchool == actor.id
            case .workBasedProvider:
                return actor.has(.workBasedProvider) && learner?.contacts.provider == actor.id
            case .ilr: return actor.has(.ilrOfficer)
            }
        }
    }

    /// The first rule in `list` that names `actor`, if any.
    func firstMatch(
        _ list: [Located<Subject>], actor: Principal, label: Label, directory: Directory
    ) -> Located<Subject>? {
        list.first { matches($0.value, actor: actor, label: label, directory: directory) }
    }

    func firstRole(_ list: [Located<Role>], actor: Principal) -> Located<Role>? {
        list.first { actor.has($0.value) }
    }

    /// Whether a match reaches the learner or their parents, whose copies may leave safeguarding
    /// material out.
    func isFamily(_ subject: Subject) -> Bool {
        switch subject {
        case .learner, .copies(.learner), .copies(.parentsCarers), .role(.learner),
            .role(.parentCarer):
            return true
        default: return false
        }
    }

    /// The single decision point: may `actor` do `action` to the record labelled `label` in `state`?
    ///
    /// Deny by default; an explicit deny wins over any allow; every answer names its rule.
    public func decide(
        _ action: PolicyAction, actor: Principal, label: Label, state: RecordState = RecordState(),
        directory: Directory
    ) -> Decision {
        guard let rules = classes[label.recordClass] else {
            return .deny(
                "policy v\(version) has no rules for \(label.recordClass.rawValue) records (deny by default)"
            )
        }
        let cls = "classes.\(label.recordClass.rawValue)"
        let unnamed = Decision.deny(
            "no rule of policy v\(version) lets '\(actor.id)' \(action.rawValue) this record (deny by default)"
        )
        if state.destroyed, action != .viewLabel, action != .auditRead {
            return .deny("the record was destroyed; only its tombstone label remains")
        }
        if let decision = familyDecision(
            action, actor: actor, label: label, state: state, directory: directory)
        {
            return decision
        }
        switch action {
        case .seal:
            if let r = firstRole(rules.write, actor: actor) {
                return .allow(
                    "\(r.value.rawValue) may write \(label.recordClass.rawValue) records — "
                        + cite("\(cls).write", r.line))
            }
            return .deny(
                "only " + rules.write.map(\.value.rawValue).joined(separator: ", ")
                    + " may write \(label.recordClass.rawValue) records — "
                    + cite("\(cls).write", rules.line))

        case .open:
            if let d = firstMatch(rules.deny, actor: actor, label: label, directory: directory) {
                return .deny("explicitly denied to \(d.value) — " + cite("\(cls).deny", d.line))
            }
            if let r = firstMatch(rules.read, actor: actor, label: label, directory: directory) {
                if state.flagged, rules.safeguarding.withholdFromCopies, isFamily(r.value) {
                    return .deny(
                        "the record is flagged and safeguarding material is withheld from learner and "
                            + "parent copies — "
                            + cite("\(cls).safeguarding.withhold-from-copies", rules.line))
                }
                return .allow("\(r.value) may open — " + cite("\(cls).read", r.line))
            }
            if let r = firstRole(rules.labelOnly, actor: actor) {
                return .deny(
                    "\(r.value.rawValue) sees labels only, never contents — "
                        + cite("\(cls).label-only", r.line))
            }
            if state.flagged, let r = firstRole(rules.safeguarding.openFlagged, actor: actor) {
                return .deny(
                    "\(r.value.rawValue) opens flagged records through a recorded disclosure, with a reason — "
                        + cite("\(cls).safeguarding.open-flagged", r.line))
            }
            return unnamed

        case .viewLabel:
            if let r = firstMatch(rules.read, actor: actor, label: label, directory: directory) {
                // A learner or parent never learns that a flagged record exists: not its label,
                // not a refusal that names it.
                if state.flagged, rules.safeguarding.withholdFromCopies, isFamily(r.value) {
                    return unnamed
                }
                return .allow(
                    "\(r.value) may open, so may see the label — " + cite("\(cls).read", r.line))
            }
            if let r = firstRole(rules.labelOnly, actor: actor) {
                return .allow(
                    "\(r.value.rawValue) sees labels — " + cite("\(cls).label-only", r.line))
            }
            if state.flagged, let r = firstRole(rules.safeguarding.openFlagged, actor: actor) {
                return .allow(
                    "\(r.value.rawValue) sees flagged labels — "
                        + cite("\(cls).safeguarding.open-flagged", r.line))
            }
            // Whoever may ask for break-glass finds the record to ask about by its label.
            if let bg = rules.safeguarding.breakGlass,
                let role = bg.requesters.first(where: actor.has)
            {
                return .allow(
                    "\(role.rawValue) may request break-glass, so sees labels — "
                        + cite("\(cls).safeguarding.break-glass", bg.line))
            }
            return unnamed

        case .flag:
            // Whether it is flagged already is told only to someone who may flag it.
            guard
                let r = firstMatch(
                    rules.safeguarding.flag, actor: actor, label: label, directory: directory)
            else { return unnamed }
            if state.flagged { return .deny("the record is already flagged") }
            return .allow("\(r.value) may flag — " + cite("\(cls).safeguarding.flag", r.line))

        case .disclose:
            guard state.flagged else {
                return .deny(
                    "the record is not flagged; an unflagged record is opened only through break-glass"
                )
            }
            if let d = firstMatch(rules.deny, actor: actor, label: label, directory: directory) {
                return .deny("explicitly denied to \(d.value) — " + cite("\(cls).deny", d.line))
            }
            if let r = firstRole(rules.safeguarding.openFlagged, actor: actor) {
                return .allow(
                    "\(r.value.rawValue) opens flagged records with a reason — "
                        + cite("\(cls).safeguarding.open-flagged", r.line))
            }
            return unnamed

        case .breakGlassRequest, .breakGlassApprove:
            guard let bg = rules.safeguarding.breakGlass else {
                return .deny(
                    "policy v\(version) allows no break-glass on \(label.recordClass.rawValue) records"
                )
            }
            if action == .breakGlassRequest {
                if state.flagged {
                    return .deny("the record is flagged: open it through a disclosure instead")
                }
                if state.breakGlassOpen {
                    return .deny("a break-glass request is already open on this record")
                }
                if let d = firstMatch(rules.deny, actor: actor, label: label, directory: directory)
                {
                    return .deny("explicitly denied to \(d.value) — " + cite("\(cls).deny", d.line))
                }
                if let role = bg.requesters.first(where: actor.has) {
                    return .allow(
                        "\(role.rawValue) may request break-glass — "
                            + cite("\(cls).safeguarding.break-glass", bg.line))
                }
                return unnamed
            }
            if let role = bg.approvers.first(where: actor.has) {
                return .allow(
                    "\(role.rawValue) is one of the \(bg.approvals) approvers needed — "
                        + cite("\(cls).safeguarding.break-glass", bg.line))
            }
            return unnamed

        case .hold, .release:
            // The role first: someone without it learns nothing of the record's state.
            guard let r = firstRole(rules.retention.hold, actor: actor) else { return unnamed }
            if action == .hold, state.held { return .deny("the record is already held") }
            if action == .release, !state.held { return .deny("the record is not held") }
            return .allow(
                "\(r.value.rawValue) places and releases holds — "
                    + cite("\(cls).retention.hold", r.line))

        case .destroy, .agreeDestroy:
            let agreeing = action == .agreeDestroy
            // The role first: someone without it learns nothing of a hold or a break-glass request.
            guard
                firstRole(rules.retention.destroy, actor: actor) != nil
                    || (agreeing && actor.has(.headOfCentre))
            else { return unnamed }
            if state.held { return .deny("the record is held and cannot be destroyed") }
            if state.breakGlassOpen { return .deny("a break-glass request is open on the record") }
            if let r = firstRole(rules.retention.destroy, actor: actor) {
                return .allow(
                    "\(r.value.rawValue) "
                        + (agreeing
                            ? "agrees to a destruction another keeper proposed — "
                            : "destroys records that are due — ")
                        + cite("\(cls).retention.destroy", r.line))
            }
            if agreeing, actor.has(.headOfCentre) {
                return .allow("a head of centre agrees to a destruction a record keeper proposed")
            }
            return unnamed

        case .auditRead:
            if let r = firstRole(audit.readAll, actor: actor) {
                return .allow(
                    "\(r.value.rawValue) reads the whole audit log — "
                        + cite("audit.read-all", r.line))
            }
            if label.author == actor.id, let r = firstRole(audit.readOwn, actor: actor) {
                return .allow(
                    "\(r.value.rawValue) reads the audit of records they wrote — "
                        + cite("audit.read-own", r.line))
            }
            return unnamed
        }
    }

    /// Whether `actor` may write records of `recordClass` at all.
    func decideSeal(_ recordClass: RecordClass, actor: Principal) -> Decision {
        guard let rules = classes[recordClass] else {
            return .deny(
                "policy v\(version) has no rules for \(recordClass.rawValue) records (deny by default)"
            )
        }
        if let r = firstRole(rules.write, actor: actor) {
            return .allow(
                "\(r.value.rawValue) may write \(recordClass.rawValue) records — "
                    + cite("classes.\(recordClass.rawValue).write", r.line))
        }
        return .deny(
            "only " + rules.write.map(\.value.rawValue).joined(separator: ", ")
                + " may write \(recordClass.rawValue) records")
    }

    /// How much of the audit log `actor` may read.
    func auditScope(actor: Principal) -> (scope: AuditScope, rule: String) {
        if let r = firstRole(audit.readAll, actor: actor) {
            return (
                .all,
                "\(r.value.rawValue) reads the whole audit log — " + cite("audit.read-all", r.line)
            )
        }
        if let r = firstRole(audit.readOwn, actor: actor) {
            return (
                .ownRecords,
                "\(r.value.rawValue) reads the audit of records they wrote — "
                    + cite("audit.read-own", r.line)
            )
        }
        return (
            .none,
            "policy v\(version) does not let '\(actor.id)' read the audit log (deny by default)"
        )
    }

    /// Whether `actor` may sign an audit checkpoint.
    func decideCheckpoint(actor: Principal) -> Decision {
        if actor.isAuthority { return .allow("the authority signs checkpoints") }
        if let r = firstRole(audit.checkpoint, actor: actor) {
            return .allow(
                "\(r.value.rawValue) signs checkpoints — " + cite("audit.checkpoint", r.line))
        }
        return .deny("policy v\(version) does not let '\(actor.id)' sign checkpoints")
    }

    /// The principals a record is sealed to: exactly those the policy lets open it now, in
    /// `state` (a flagged record withheld from copies has no slot for a learner or parent).
    func recipients(
        for label: Label, state: RecordState = RecordState(), directory: Directory
    ) -> [PrincipalID] {
        guard let rules = classes[label.recordClass] else { return [] }
        var candidates: [Principal] = []
        func add(_ id: PrincipalID?) {
            if let id, let p = directory.principals[id] { candidates.append(p) }
        }
        add(label.author)
        let learner = directory.learners[label.learner]
        add(learner?.tutor)
        add(PrincipalID(validating: label.learner.text))
        for parent in learner?.contacts.parents ?? [] { add(parent) }
        add(learner?.contacts.homeSchool)
        add(learner?.contacts.provider)
        for subject in rules.read.map(\.value) {
            switch subject {
            case .role(let role): candidates += directory.holders(of: role)
            case .copies(.ilr): candidates += directory.holders(of: .ilrOfficer)
            default: break
            }
        }
        var seen = Set<PrincipalID>()
        return candidates.filter {
            seen.insert($0.id).inserted
                && decide(.open, actor: $0, label: label, state: state, directory: directory)
                    .allowed
        }.map(\.id).sorted()
    }
}

extension Directory {
    /// Whether `signer` may sign an audit checkpoint: asked when one is signed, and again of every
    /// checkpoint `audit verify` is given, under the policy and roles in force now. A leaver's key
    /// may still be on a disk somewhere, so a checkpoint by someone since revoked is refused too
    /// (take checkpoints regularly, by people who stay).
    func decideCheckpoint(signer: Principal) -> Decision {
        if signer.revoked { return .deny("'\(signer.id)' was revoked") }
        if let policy { return policy.decideCheckpoint(actor: signer) }
        return signer.isAuthority
            ? .allow("the authority signs checkpoints")
            : .deny("before a policy is applied only the authority signs checkpoints")
    }
}

/// Accept-restore is about trusting this machine's memory, not access to records: it stays with the
/// authority and administrators whatever the policy says.
func decideAcceptRestore(actor: Principal) -> Decision {
    actor.isAuthority || actor.has(.admin)
        ? .allow("the authority and administrators accept a deliberate restore")
        : .deny("only the authority or an administrator may accept a restore")
}
