/// A notice in someone's inbox: the audit entry it points to, verified.
public struct Notice: Sendable, Equatable {
    /// The entry's sequence number in the audit log.
    public let sequence: Int64
    /// The audit entry, its signature and hash verified.
    public let entry: AuditEntry
    /// Not yet marked read (``Session/markInboxRead(through:)``).
    public let unread: Bool
}
