/// The JSON shapes of the policy commands, shared by the command line's `--json` and the
/// server's answers.

/// The answer to `policy check --json` and `POST /api/v1/policy/check`.
public struct PolicyCheckedJSON: Encodable, Sendable {
    public let valid = true
    public let name: String
    public let version: Int

    public init(_ policy: Policy) {
        name = policy.name
        version = policy.version
    }
}

/// The answer to `policy apply --json` and `PUT /api/v1/policy`.
public struct PolicyAppliedJSON: Encodable, Sendable {
    public let version: Int
    public let name: String
    /// Records whose new readers have no key slot yet (someone who can open them regrants).
    public let recordsNeedingNewSlots: [String]
    /// Records with slots for people the policy no longer names.
    public let recordsWithSurplusSlots: [String]

    public init(_ policy: Policy, changes: [SlotChange]) {
        version = policy.version
        name = policy.name
        recordsNeedingNewSlots = changes.filter(\.adds).map(\.record.text)
        recordsWithSurplusSlots = changes.filter { !$0.surplus.isEmpty }.map(\.record.text)
    }
}

/// The answer to `policy explain --json` and `GET /api/v1/records/{id}/explain`.
public struct ExplainJSON: Encodable, Sendable {
    public let record: String
    public let action: String
    public let actor: String
    public let decision: String
    public let rule: String

    public init(record: RecordID, action: PolicyAction, actor: PrincipalID, decision: Decision) {
        self.record = record.text
        self.action = action.rawValue
        self.actor = actor.text
        self.decision = decision.allowed ? "allow" : "deny"
        rule = decision.rule
    }
}
