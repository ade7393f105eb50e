/// A notice in someone's inbox: the audit entry it points to, verified.
public struct Notice: Sendable, Equatable {
    /// The entry's sequence number in the audit log.
    public let sequence: Int64
    /// The audit entry, its signature and hash verified. The reason of a safeguarding step (a flag,
    /// a disclosure, a break-glass request or opening) is left out for a reader who neither opens
    /// flagged records nor is a head of centre: the assigned tutor or author told that a record was
    /// opened is not told the officers' words.
    public let entry: AuditEntry
    /// Not yet marked read (``Session/markInboxRead(through:)``).
    public let unread: Bool
}
