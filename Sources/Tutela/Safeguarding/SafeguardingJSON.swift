// The JSON shapes of the safeguarding team's lists, shared by the command line's `--json` output
// and the HTTP API (`../shared/CLI.md`, `../shared/API.md`). Labels and reasons only: never contents.

/// A flagged record in the officers' queue, as JSON.
public struct QueueJSON: Encodable, Sendable {
    public let record: String
    public let label: String
    public let `class`: String
    public let learner: String
    public let created: String
    public let flaggedBy: String
    public let flaggedAt: String
    public let reason: String
    public let disclosures: Int
    public let reviewed: Int
    public let closed: Bool

    /// The JSON of `item`.
    public init(_ item: Safeguarding.QueueItem) {
        record = item.label.record.text
        label = item.label.envelopeText
        `class` = item.label.recordClass.rawValue
        learner = item.label.learner.text
        created = item.label.created.description
        flaggedBy = item.flag.flaggedBy.text
        flaggedAt = Timestamp.iso(item.flag.time)
        reason = item.flag.reason
        disclosures = item.disclosures
        reviewed = item.reviewed
        closed = item.closed
    }
}

/// A disclosure or break-glass opening, for review after the fact, as JSON.
public struct ReviewJSON: Encodable, Sendable {
    public let review: String
    public let kind: String
    public let record: String
    public let openedBy: String
    public let time: String
    public let reason: String
    public let outcome: String?
    public let reviewer: String?
    public let note: String?

    /// The JSON of `item`.
    public init(_ item: ReviewItem) {
        review = item.id.text
        kind = item.kind.rawValue
        record = item.record.text
        openedBy = item.actor.text
        time = Timestamp.iso(item.time)
        reason = item.reason
        outcome = item.outcome?.rawValue
        reviewer = item.reviewer?.text
        note = item.note
    }
}

/// A notice in someone's inbox, as JSON: its audit entry's fields and whether it is unread.
public struct NoticeJSON: Encodable, Sendable {
    public let entry: EntryJSON
    public let unread: Bool

    /// The JSON of `notice`.
    public init(_ notice: Notice) {
        entry = EntryJSON(AuditRecord(sequence: notice.sequence, entry: notice.entry))
        unread = notice.unread
    }

    /// Encodes the entry's fields and `unread` beside them, in one object.
    public func encode(to encoder: any Encoder) throws {
        try entry.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(unread, forKey: .unread)
    }

    enum Key: String, CodingKey { case unread }
}
