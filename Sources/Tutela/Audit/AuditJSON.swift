// The JSON shapes of the audit log, shared by the command line's `--json` output and the HTTP API.

/// One audit entry as JSON.
public struct EntryJSON: Encodable, Sendable {
    public let sequence: Int64
    public let time: String
    public let actor: String
    public let action: String
    public let subject: String?
    public let outcome: String
    public let reason: String?
    public let policyVersion: String

    /// The JSON of `record`.
    public init(_ record: AuditRecord) {
        sequence = record.sequence
        time = Timestamp.iso(record.entry.time)
        actor = record.entry.actor.text
        action = record.entry.action.rawValue
        subject = record.entry.subject
        outcome = record.entry.outcome.rawValue
        reason = record.entry.reason
        policyVersion = record.entry.policyVersion
    }
}

/// What `audit verify` found, as JSON.
public struct AuditReportJSON: Encodable, Sendable {
    public let ok: Bool
    public let entries: Int64
    public let first: String?
    public let last: String?
    public let head: String?
    public let checkpointMatched: Bool?
    public let checkpointEntries: Int64?
    public let machineLastSaw: Int64?

    /// The JSON of `report`, verified against `checkpoint` when one was given.
    public init(_ report: AuditReport, checkpoint: Checkpoint?) {
        ok = true
        entries = report.entries
        first = report.firstTime.map(Timestamp.iso)
        last = report.lastTime.map(Timestamp.iso)
        head = report.head.map(Hex.encode)
        checkpointMatched = checkpoint == nil ? nil : true
        checkpointEntries = checkpoint?.entries
        machineLastSaw = report.pinnedEntries
    }
}
