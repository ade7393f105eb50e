/// Safeguarding material about a family is withheld from that family on every path — whatever
/// other roles its members hold. A parent who is also a member of staff (the learner's tutor, the
/// home school's contact, a head of centre, an officer) never learns through Tutela that their own
/// child's record is flagged, and takes no safeguarding step on it: others act.
extension Directory {
    /// The people a record about `learner` must not reveal safeguarding material to: the learner
    /// and the parents and carers the directory links them to.
    public func family(of learner: LearnerID) -> Set<PrincipalID> {
        var family = Set(self.learners[learner]?.contacts.parents ?? [])
        if let own = try? PrincipalID(learner.text) { family.insert(own) }
        return family
    }

    /// Whether `person` is `learner` or one of the parents and carers the directory links them to:
    /// the one test of family every path asks (``family(of:)`` is the same people as a set).
    public func isFamily(_ person: PrincipalID, of learner: LearnerID) -> Bool {
        person.text == learner.text
            || learners[learner]?.contacts.parents.contains(person) == true
    }

    /// Whether `actor` is answered as a learner or family is, for the record labelled `label`: a
    /// learner or parent for every record, anyone else for their own family's.
    public func conceals(_ label: Label, from actor: Principal) -> Bool {
        actor.isFamily || isFamily(actor.id, of: label.learner)
    }
}

extension Policy {
    /// Whether `actor` is the learner the record labelled `label` is about, or one of that
    /// learner's parents or carers — whichever of their roles a rule would match.
    public func isFamily(of label: Label, actor: Principal, directory: Directory) -> Bool {
        directory.isFamily(actor.id, of: label.learner)
    }

    /// Whether `actor` is answered as a learner or family is, for the record labelled `label`:
    /// a record they may not see does not exist for them, word for word.
    public func conceals(_ label: Label, from actor: Principal, directory: Directory) -> Bool {
        directory.conceals(label, from: actor)
    }

    static func familyStep(_ actor: Principal, _ label: Label) -> Decision {
        .deny(
            "'\(actor.id)' is \(label.learner) or their parent or carer: safeguarding steps, "
                + "retention steps and voids on a family's own records are taken by others")
    }

    /// The decision for someone who is family of the record's learner (``isFamily(of:actor:directory:)``),
    /// or nil for anyone else. Every answer is one they would get were the record not flagged, so
    /// none of them tells a flagged record from another:
    /// - safeguarding and retention steps (flag, disclose, break-glass, approving it, hold,
    ///   release, destroy, agreeing to one) are refused whatever the record's state: others take
    ///   them;
    /// - a flagged record is decided as if it were not flagged, except that one a reader's rule
    ///   would open is neither opened nor seen.
    func familyDecision(
        _ action: PolicyAction, actor: Principal, label: Label, state: RecordState,
        directory: Directory
    ) -> Decision? {
        guard isFamily(of: label, actor: actor, directory: directory),
            let rules = classes[label.recordClass]
        else { return nil }
        switch action {
        case .flag, .disclose, .breakGlassRequest, .breakGlassApprove, .hold, .release, .destroy,
            .agreeDestroy:
            return Self.familyStep(actor, label)
        case .open, .viewLabel:
            guard state.flagged, rules.safeguarding.withholdFromCopies else { return nil }
            var unflagged = state
            unflagged.flagged = false
            let cls = "classes.\(label.recordClass.rawValue)"
            // One they would read, they do not see at all, as a learner or parent does not — even
            // in a role that sees every label, where a label they could not open would stand out.
            if firstMatch(rules.read, actor: actor, label: label, directory: directory) != nil {
                return .deny(
                    "safeguarding material is withheld from \(label.learner) and their family, "
                        + "whatever other role they hold — "
                        + cite("\(cls).safeguarding.withhold-from-copies", rules.line))
            }
            return decide(
                action, actor: actor, label: label, state: unflagged, directory: directory)
        case .seal, .auditRead:
            return nil
        }
    }
}

extension Directory {
    /// The learners `person` is family of: themselves, if a learner, and those they are linked to
    /// as a parent or carer.
    public func learners(familyOf person: PrincipalID) -> [LearnerID] {
        learners.values.filter { isFamily(person, of: $0.id) }.map(\.id)
    }
}

extension Session {
    /// Every record about a learner this person is family of, destroyed ones included (their
    /// labels stay filed): what the review list, the inbox and the audit log leave out for them.
    /// Read through the state's lists by learner, so a label row moved away is tampering (65).
    func ownFamilysRecords() async throws -> Set<RecordID> {
        let learners = directory.learners(familyOf: principal.id)
        guard !learners.isEmpty else { return [] }
        return Set(try await filedLabels(learners.map { .learner($0) }).map(\.record))
    }
}
