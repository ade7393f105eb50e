/// A notice in someone's inbox: the audit entry it points to, verified.
public struct Notice: Sendable, Equatable {
    public let sequence: Int64
    public let entry: AuditEntry
}
