extension Policy {
    /// Whether `actor` may see `learner` in a list, name included: every learner for the roles
    /// the policy's `directory.learners` names; otherwise only a tutor's own tutees, a learner
    /// themselves, and the learners a parent, carer, home school or provider is linked to.
    public func mayList(_ learner: Learner, actor: Principal) -> Bool {
        if firstRole(directory.learners, actor: actor) != nil { return true }
        if actor.has(.tutor), learner.tutor == actor.id { return true }
        if actor.has(.learner), learner.id.text == actor.id.text { return true }
        let contacts = learner.contacts
        if actor.has(.parentCarer), contacts.parents.contains(actor.id) { return true }
        if actor.has(.homeSchool), contacts.homeSchool == actor.id { return true }
        if actor.has(.workBasedProvider), contacts.provider == actor.id { return true }
        return false
    }

    /// Whether `actor` may see `person` in a list of people: themselves; for the roles the policy's
    /// `directory.people` names, every member of staff, and a learner or family member only where
    /// the actor may list a learner they stand for (the learner, a parent or carer, the home school
    /// or provider) — a tutor sees their tutees' families, not every family.
    public func mayList(_ person: Principal, actor: Principal, in people: Directory) -> Bool {
        if person.id == actor.id { return true }
        guard firstRole(directory.people, actor: actor) != nil else { return false }
        guard person.roles.contains(where: DirectoryRules.neverListing.contains) else {
            return true
        }
        return people.learners.values.contains { learner in
            let contacts = learner.contacts
            let standsFor =
                learner.id.text == person.id.text || contacts.parents.contains(person.id)
                || contacts.homeSchool == person.id || contacts.provider == person.id
            return standsFor && mayList(learner, actor: actor)
        }
    }

    /// Whether `actor` sees which records of `recordClass` are flagged: the roles that open
    /// flagged records of the class (the safeguarding team). No one else learns it from a list.
    public func seesFlags(_ recordClass: RecordClass, actor: Principal) -> Bool {
        guard let rules = classes[recordClass] else { return false }
        return firstRole(rules.safeguarding.openFlagged, actor: actor) != nil
    }

    /// Which records' labels `actor` may see, as far as can be told without reading any label —
    /// a superset of what ``decide(_:actor:label:state:directory:)`` allows for `.viewLabel`, so
    /// that a list read through it misses nothing (each label is still decided on). Someone whom
    /// a rule of some class lets see labels by role (label-only roles, the safeguarding team,
    /// break-glass requesters, a `role:` or ILR reader) may see any record's; everyone else only
    /// those they wrote and those about the learners they stand for.
    public func labelScope(actor: Principal, directory people: Directory) -> LabelScope {
        var authored = false
        var learners: Set<LearnerID> = []
        func about(_ standsFor: (Learner) -> Bool) {
            learners.formUnion(people.learners.values.filter(standsFor).map(\.id))
        }
        for rules in classes.values {
            let safeguarding = rules.safeguarding
            if firstRole(rules.labelOnly, actor: actor) != nil
                || firstRole(safeguarding.openFlagged, actor: actor) != nil
                || safeguarding.breakGlass?.requesters.contains(where: actor.has) == true
            {
                return .every
            }
            for subject in rules.read.map(\.value) {
                switch subject {
                case .author: authored = true
                case .assignedTutor:
                    if actor.has(.tutor) { about { $0.tutor == actor.id } }
                case .learner, .copies(.learner):
                    if actor.has(.learner), let me = LearnerID(validating: actor.id.text) {
                        learners.insert(me)
                    }
                case .copies(.parentsCarers):
                    if actor.has(.parentCarer) { about { $0.contacts.parents.contains(actor.id) } }
                case .copies(.homeSchool):
                    if actor.has(.homeSchool) { about { $0.contacts.homeSchool == actor.id } }
                case .copies(.workBasedProvider):
                    if actor.has(.workBasedProvider) { about { $0.contacts.provider == actor.id } }
                case .copies(.ilr):
                    if actor.has(.ilrOfficer) { return .every }
                case .role(let role):
                    if actor.has(role) { return .every }
                }
            }
        }
        return .some(authored: authored, learners: learners)
    }
}

/// Whose labels someone may see (see ``Policy/labelScope(actor:directory:)``).
public enum LabelScope: Sendable, Equatable {
    /// Possibly any record's.
    case every
    /// At most those of the records they wrote (when `authored`) and of records about `learners`.
    case some(authored: Bool, learners: Set<LearnerID>)
}
