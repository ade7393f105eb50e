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

    /// Whether `actor` may see `person` in a list of people: everyone for the roles the policy's
    /// `directory.people` names, otherwise only themselves.
    public func mayList(_ person: Principal, actor: Principal) -> Bool {
        person.id == actor.id || firstRole(directory.people, actor: actor) != nil
    }

    /// Whether `actor` sees which records of `recordClass` are flagged: the roles that open
    /// flagged records of the class (the safeguarding team). No one else learns it from a list.
    public func seesFlags(_ recordClass: RecordClass, actor: Principal) -> Bool {
        guard let rules = classes[recordClass] else { return false }
        return firstRole(rules.safeguarding.openFlagged, actor: actor) != nil
    }
}
