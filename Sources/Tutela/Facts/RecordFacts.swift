/// Facts about a record's own standing, signed by the people who may correct it.

/// The fields of a decision one person made about a record, with their reason (a flag, a void):
/// one per record, judged by the directory it was decided under.
struct ReasonedDecision {
    let time: Int64
    let reason: String
    let decidedAt: Int64

    func write(_ w: inout CanonicalWriter) {
        w.i64(time)
        w.string(reason)
        w.i64(decidedAt)
    }

    /// Reads the fields of a fact filed under its own record and signed under the directory
    /// position it was decided at.
    static func read(_ r: inout CanonicalReader, header: FactHeader) throws(TutelaError)
        -> ReasonedDecision
    {
        try header.requireOnePerSubject()
        let decision = ReasonedDecision(
            time: try r.i64("time"), reason: try r.string("reason", max: 2000),
            decidedAt: try r.i64("decided at"))
        try header.requireMadeUnder(decision.decidedAt)
        return decision
    }
}

/// A record marked void: sealed by mistake (the wrong learner, a duplicate). Nothing is deleted —
/// the record is kept, and readable by the same staff, until its retention ends — but every
/// list and every opening shows it as void, with who voided it, when and why, and a learner or
/// family is never shown it (it may be about another learner).
public struct VoidStatement: Sendable, Equatable, Fact {
    static let kind = FactKind.void
    /// The void record.
    public let record: RecordID
    /// Who voided it: the fact's signer — the record's author, or a head of centre.
    public let voidedBy: PrincipalID
    /// When, in seconds since 1970 UTC.
    public let time: Int64
    /// Why, in the voider's words; shown to staff who may open the record (a learner or family
    /// is never shown a void record).
    public let reason: String
    /// How many directory statements the voider's session had verified when they voided it: the
    /// directory the statement is judged by whenever it is read.
    public let decidedAt: Int64

    var factID: String { record.text }
    var subject: String { record.text }

    func writeFields(_ w: inout CanonicalWriter) {
        ReasonedDecision(time: time, reason: reason, decidedAt: decidedAt).write(&w)
    }

    static func readFields(
        _ r: inout CanonicalReader, header: FactHeader
    ) throws(TutelaError) -> VoidStatement {
        let d = try ReasonedDecision.read(&r, header: header)
        return VoidStatement(
            record: try header.recordSubject(), voidedBy: header.signer, time: d.time,
            reason: d.reason, decidedAt: d.decidedAt)
    }

    /// Whether `actor` may void the record labelled `label`: its author while enrolled, or a head
    /// of centre. (Voiding releases nothing and deletes nothing; it only marks.)
    static func may(_ actor: Principal, void label: Label) -> Bool {
        guard !actor.revoked, !actor.awaitingKeys else { return false }
        return label.author == actor.id || actor.has(.headOfCentre)
    }

    /// Checks that the directory when it was made let its signer void `label`'s record: a void
    /// written into the database by anyone else is tampering, never a mark to show.
    func check(label: Label, directory: Directory) throws(TutelaError) {
        let then = try directory.asOf(decidedAt)
        guard label.record == record, let voider = then.principals[voidedBy],
            Self.may(voider, void: label)
        else {
            throw .tampered(
                "the void of \(record) is signed by '\(voidedBy)', who could not void it when it "
                    + "was made")
        }
    }
}

/// The link from a record to one of its addenda, filed under the record, so that opening it finds
/// its addenda in one read — and a link deleted from the database reads as tampering, never as a
/// record with nothing added. Signed by the author, who wrote both.
public struct AddendumLink: Sendable, Equatable, Fact {
    static let kind = FactKind.addendumLink
    /// The record amended.
    public let record: RecordID
    /// The addendum.
    public let addendum: RecordID
    /// Their author: the fact's signer.
    public let author: PrincipalID

    var factID: String { addendum.text }
    var subject: String { record.text }

    func writeFields(_ w: inout CanonicalWriter) {}

    static func readFields(
        _ r: inout CanonicalReader, header: FactHeader
    ) throws(TutelaError) -> AddendumLink {
        AddendumLink(
            record: try header.recordSubject(), addendum: try header.ownID(),
            author: header.signer)
    }
}
