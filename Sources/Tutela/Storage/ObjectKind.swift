/// The kinds of stored object that are not signed facts (those are ``FactKind``): a group member's
/// key box, which its binding authenticates, inbox pointers to signed audit entries and where the
/// log holds each record's sealing (each checked against the entry), and the import index, whose
/// keyed tags authenticate it.
/// (Break-glass shares have operations of their own: ``StoredShare``.)
enum ObjectKind {
    /// A group's private key sealed to one member: `group:ROLE#V/MEMBER` under `group:ROLE#V`.
    static let groupMember = "group-member"
    /// A pointer from someone's inbox to an audit entry: `RECIPIENT/SEQUENCE` under the recipient.
    static let notice = "notice"
    /// A form an import sealed: `AUTHOR/DIGEST` under the author (``ImportIndex``).
    static let importDigest = "import-digest"
    /// How far someone has read their inbox: `PERSON` under the person, an i64 audit sequence.
    static let inboxRead = "inbox-read"
    /// Where the log holds the entry that sealed a record: the entry's sequence in 20 digits (before
    /// #17's last change, the record id) under the record, an i64 audit sequence
    /// (``SubjectIndex/madeRow(_:sequence:)``), checked against that entry when read.
    static let auditMade = "audit-made"
}
