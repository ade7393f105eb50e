/// People's and learners' ids are the centre's own, written as it chose ("L-1001", "sam"), but
/// typed in any case: an id that matches no one exactly is read as the one id that matches it
/// ignoring case. No two ids may differ only in case — people's, invitations' and learners' alike,
/// since a learner signs in under their learner id — so that reading is never ambiguous.
extension Directory {
    /// The enrolled or invited person `typed` names, in any case; `typed` itself when it matches
    /// no one (the caller then says there is no such person).
    public func resolve(_ typed: PrincipalID) -> PrincipalID {
        guard principals[typed] == nil, invitations[typed] == nil,
            let id = personFolds[typed.text.lowercased()],
            principals[id] != nil || invitations[id] != nil
        else { return typed }
        return id
    }

    /// The recorded learner `typed` names, in any case; `typed` itself when it matches no one.
    public func resolve(_ typed: LearnerID) -> LearnerID {
        guard learners[typed] == nil, let id = learnerFolds[typed.text.lowercased()],
            learners[id] != nil
        else { return typed }
        return id
    }

    /// Refuses a new id that differs only in case from a person's, an invitation's or a learner's
    /// already recorded (a lookup, not a scan: the directory is replayed on every unlock), or that
    /// has the shape of a record's or request's id.
    func requireDistinct(_ id: String, learner: Bool) throws(TutelaError) {
        // A person or learner named like a record or request would share its audit entries.
        guard Identifier.generatedForm(id) == nil else {
            throw .invalidInput(
                "\(learner ? "learner" : "person") id '\(id)' has the shape of an id Tutela makes "
                    + "for records and requests (R-, BG-, RV- or IR- and three groups of four)",
                hint: "choose another id")
        }
        let folded = id.lowercased()
        var clashes: [String] = []
        if let person = personFolds[folded], person.text != id,
            principals[person] != nil || invitations[person] != nil
        {
            clashes.append(person.text)
        }
        if let recorded = learnerFolds[folded], recorded.text != id, learners[recorded] != nil {
            clashes.append(recorded.text)
        }
        guard let clash = clashes.first else { return }
        throw .exists(
            "\(learner ? "learner" : "person") id '\(id)' differs only in case from '\(clash)'; "
                + "ids are read in any case, so it would be confused with it",
            hint: "use '\(clash)' if that is who is meant, or choose another id")
    }
}
