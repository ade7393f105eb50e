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
}
