/// People's and learners' ids are the centre's own, written as it chose ("L-1001", "sam"), but
/// typed in any case: an id that matches no one exactly is read as the one id that matches it
/// ignoring case. No two ids may differ only in case, so that reading is never ambiguous.
extension Directory {
    /// The enrolled or invited person `typed` names, in any case; `typed` itself when it matches
    /// no one (the caller then says there is no such person).
    public func resolve(_ typed: PrincipalID) -> PrincipalID {
        guard principals[typed] == nil, invitations[typed] == nil else { return typed }
        let folded = typed.text.lowercased()
        let known = Set(principals.keys).union(invitations.keys)
        return known.first { $0.text.lowercased() == folded } ?? typed
    }

    /// The recorded learner `typed` names, in any case; `typed` itself when it matches no one.
    public func resolve(_ typed: LearnerID) -> LearnerID {
        guard learners[typed] == nil else { return typed }
        let folded = typed.text.lowercased()
        return learners.keys.first { $0.text.lowercased() == folded } ?? typed
    }

    /// Refuses a new id that differs only in case from one already recorded.
    func requireDistinct(_ id: String, from existing: some Sequence<String>, noun: String)
        throws(TutelaError)
    {
        let folded = id.lowercased()
        if let clash = existing.first(where: { $0 != id && $0.lowercased() == folded }) {
            throw .exists(
                "\(noun) id '\(id)' differs only in case from '\(clash)'; ids are read in any "
                    + "case, so it would be confused with it",
                hint: "choose another id")
        }
    }
}
