/// The kinds of stored object that are not signed facts (those are ``FactKind``): boxes that carry
/// keys, which their binding authenticates, and inbox pointers to signed audit entries.
public enum ObjectKind {
    /// A group's private key sealed to one member: `group:ROLE#V/MEMBER` under `group:ROLE#V`.
    static let groupMember = "group-member"
    /// A break-glass key share sealed to an approver group: `RECORD/group:ROLE#V` under the record.
    public static let share = "break-glass-share"
    /// A pointer from someone's inbox to an audit entry: `RECIPIENT/SEQUENCE` under the recipient.
    static let notice = "notice"
}
