/// Who a copy of a learner's records is for: the learner, or their parents or carers. A copy
/// holds only what the policy lets its recipient read, whoever makes it, and never a flagged
/// record.
public enum CopyRecipient: String, Sendable, CaseIterable {
    /// The learner the records are about.
    case learner
    /// The learner's parents or carers.
    case parentsCarers = "parents-carers"

    /// Who a copy made by `maker` is for when the maker does not say: themselves, if they are a
    /// learner or a parent; nil for staff, who must say.
    public static func implied(by maker: Principal) -> CopyRecipient? {
        if maker.roles.contains(.learner) { return .learner }
        if maker.roles.contains(.parentCarer) { return .parentsCarers }
        return nil
    }
}

extension Principal {
    /// A learner or a parent or carer: someone who must never learn that safeguarding material
    /// exists. Judged from the roles they were given, revoked or not.
    public var isFamily: Bool { roles.contains(.learner) || roles.contains(.parentCarer) }
}

extension Policy {
    /// Whether a copy for `recipient` may hold the record labelled `label` in `state`: the
    /// policy's read rules must reach the recipient (as the learner, or the learner's parents or
    /// carers, through a role or a ticked copy), no deny rule may name them, and the record must
    /// not be flagged — copies never carry safeguarding material, whatever
    /// `withhold-from-copies` says.
    public func decideCopy(for recipient: CopyRecipient, label: Label, state: RecordState)
        -> Decision
    {
        guard let rules = classes[label.recordClass] else {
            return .deny(
                "policy v\(version) has no rules for \(label.recordClass.rawValue) records")
        }
        let cls = "classes.\(label.recordClass.rawValue)"
        func reaches(_ subject: Subject) -> Bool {
            switch (recipient, subject) {
            case (.learner, .learner), (.learner, .role(.learner)): return true
            case (.learner, .copies(.learner)): return label.copies.contains(.learner)
            case (.parentsCarers, .role(.parentCarer)): return true
            case (.parentsCarers, .copies(.parentsCarers)):
                return label.copies.contains(.parentsCarers)
            default: return false
            }
        }
        if state.destroyed { return .deny("the record was destroyed") }
        if state.flagged {
            return .deny("the record is flagged: copies never carry safeguarding material")
        }
        if let d = rules.deny.first(where: { reaches($0.value) }) {
            return .deny("explicitly denied to \(d.value) — " + cite("\(cls).deny", d.line))
        }
        guard let r = rules.read.first(where: { reaches($0.value) }) else {
            return .deny(
                "no rule of policy v\(version) lets \(recipient.rawValue) read "
                    + "\(label.recordClass.rawValue) records")
        }
        return .allow("\(r.value) may read — " + cite("\(cls).read", r.line))
    }
}
