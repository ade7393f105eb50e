/// The safeguarding path's facts: flags, break-glass requests, approvals and uses, and the reviews
/// of every opening. Their format is `FactCodec`'s; each type here says only its own fields.

extension FactHeader {
    /// Refuses a fact about a record that is not filed under its own id (one fact of its kind per
    /// subject).
    func requireOnePerSubject() throws(TutelaError) {
        guard id == subject else {
            throw .tampered("\(kind.rawValue) \(id) is filed under another subject (\(subject))")
        }
    }

    /// Refuses a fact whose own directory position (the one the policy judges it by) is not the
    /// one its signature was made under: a retired key cannot sign under an old position and be
    /// judged by today's policy.
    func requireMadeUnder(_ decidedAt: Int64) throws(TutelaError) {
        guard decidedAt == madeUnder else {
            throw .tampered(
                "\(kind.rawValue) \(id) says it was decided under directory position \(decidedAt) "
                    + "but signed under \(madeUnder)")
        }
    }

    /// Refuses a fact that is one per signer per subject (an approval) filed under any id but
    /// `SUBJECT/SIGNER`, and reads the approver role it names.
    func approverRole(_ r: inout CanonicalReader, _ name: String) throws(TutelaError) -> Role {
        guard id == "\(subject)/\(signer)" else {
            throw .tampered("\(name) \(id) is not filed under its own approver")
        }
        guard let role = Role(rawValue: try r.string("role", max: 64)) else {
            throw .tampered("\(name) \(id) names an unknown role")
        }
        return role
    }

    /// The subject as a record id.
    /// - Throws: `.tampered` when the signed subject is not a valid id.
    func recordSubject() throws(TutelaError) -> RecordID { try subjectID() }

    /// The subject as an id of the kind the fact is about (a record, a request, a review).
    /// - Throws: `.tampered` when the signed subject is not a valid id.
    func subjectID<Kind>() throws(TutelaError) -> ID<Kind> {
        guard let subject = ID<Kind>(validating: subject) else {
            throw .tampered(
                "\(kind.rawValue) \(id) is about something that is not a \(Kind.noun)")
        }
        return subject
    }

    /// The fact's own id as an id of `Kind` (a request's, a review's).
    /// - Throws: `.tampered` when the signed id is not a valid id.
    func ownID<Kind>() throws(TutelaError) -> ID<Kind> {
        guard let own = ID<Kind>(validating: id) else {
            throw .tampered("\(kind.rawValue) is filed under something that is not a \(Kind.noun)")
        }
        return own
    }
}

/// A safeguarding flag: who flagged a record, when, and why.
public struct SafeguardingFlag: Sendable, Equatable, Fact {
    static let kind = FactKind.flag
    /// Version 2 adds ``decidedAt``.
    static let version: UInt8 = 2
    /// The flagged record.
    public let record: RecordID
    /// Who flagged it: the fact's signer.
    public let flaggedBy: PrincipalID
    /// When, in seconds since 1970 UTC.
    public let time: Int64
    /// The reason the flagger gave; shown to officers, never to learners or families.
    public let reason: String
    /// How many directory statements the flagger's session had verified when the policy let them
    /// flag it: the directory a flag is judged by whenever it is read.
    public let decidedAt: Int64

    var factID: String { record.text }
    var subject: String { record.text }

    func writeFields(_ w: inout CanonicalWriter) {
        ReasonedDecision(time: time, reason: reason, decidedAt: decidedAt).write(&w)
    }

    static func readFields(
        _ r: inout CanonicalReader, header: FactHeader
    ) throws(TutelaError) -> SafeguardingFlag {
        let d = try ReasonedDecision.read(&r, header: header)
        return SafeguardingFlag(
            record: try header.recordSubject(), flaggedBy: header.signer, time: d.time,
            reason: d.reason, decidedAt: d.decidedAt)
    }

    /// Checks that the policy in force when this flag was made let its signer flag `label`'s
    /// record: a flag written into the database by someone it never let flag — which would
    /// withhold a learner's copy, and route the record to officers — is tampering, never
    /// ignored (ignoring a genuine flag could release safeguarding material).
    func check(label: Label, directory: Directory) throws(TutelaError) {
        let then = try directory.asOf(decidedAt)
        guard let flagger = then.principals[flaggedBy], !flagger.revoked, let policy = then.policy,
            policy.decide(
                .flag, actor: flagger, label: label, state: RecordState(), directory: then
            )
            .allowed
        else {
            throw .tampered(
                "the flag on \(record) is signed by '\(flaggedBy)', whom the policy in force when "
                    + "it was made did not let flag it")
        }
    }
}

/// A break-glass request: an officer asks to open an unflagged record.
public struct BreakGlassRequest: Sendable, Equatable, Fact {
    static let kind = FactKind.breakGlassRequest
    /// The request's id, `BG-XXXX-XXXX-XXXX`.
    public let id: RequestID
    /// The record it asks to open.
    public let record: RecordID
    /// The officer who asked: the fact's signer.
    public let requester: PrincipalID
    /// Why, in the requester's words.
    public let reason: String
    /// When it was made, in seconds since 1970 UTC.
    public let created: Int64
    /// When it lapses, in seconds since 1970 UTC.
    public let expires: Int64
    /// Approvals needed (the policy's k when requested).
    public let approvalsNeeded: Int

    var factID: String { id.text }
    var subject: String { record.text }

    func writeFields(_ w: inout CanonicalWriter) {
        w.string(reason)
        w.i64(created)
        w.i64(expires)
        w.u8(UInt8(clamping: approvalsNeeded))
    }

    static func readFields(
        _ r: inout CanonicalReader, header: FactHeader
    ) throws(TutelaError) -> BreakGlassRequest {
        BreakGlassRequest(
            id: try header.ownID(), record: try header.recordSubject(), requester: header.signer,
            reason: try r.string("reason", max: 2000), created: try r.i64("created"),
            expires: try r.i64("expires"), approvalsNeeded: Int(try r.u8("approvals")))
    }
}

/// One approver's release of their group's share, re-sealed to the requester.
public struct Approval: Sendable, Equatable, Fact {
    static let kind = FactKind.approval
    /// The request approved.
    public let request: RequestID
    /// Who approved: the fact's signer.
    public let approver: PrincipalID
    /// The approver role whose group share this releases.
    public let role: Role
    /// When, in seconds since 1970 UTC.
    public let time: Int64
    /// The share as a bound box to the requester, bound to the request id.
    let box: [UInt8]

    /// One approval per approver per request: `REQUEST/APPROVER`.
    var factID: String { "\(request)/\(approver)" }
    var subject: String { request.text }

    func writeFields(_ w: inout CanonicalWriter) {
        w.string(role.rawValue)
        w.i64(time)
        w.data(box)
    }

    static func readFields(
        _ r: inout CanonicalReader, header: FactHeader
    ) throws(TutelaError) -> Approval {
        let role = try header.approverRole(&r, "approval")
        return Approval(
            request: try header.subjectID(), approver: header.signer, role: role,
            time: try r.i64("time"),
            box: try r.data("box", max: 512))
    }
}

/// The one use of a break-glass request: the requester opened the record.
struct BreakGlassUse: Sendable, Equatable, Fact {
    static let kind = FactKind.breakGlassUse
    let request: RequestID
    let time: Int64

    var factID: String { request.text }
    var subject: String { request.text }

    func writeFields(_ w: inout CanonicalWriter) { w.i64(time) }

    static func readFields(
        _ r: inout CanonicalReader, header: FactHeader
    ) throws(TutelaError) -> BreakGlassUse {
        try header.requireOnePerSubject()
        return BreakGlassUse(request: try header.subjectID(), time: try r.i64("time"))
    }
}

/// A disclosure or break-glass opening waiting for, or having had, its review after the fact.
public struct ReviewItem: Sendable, Equatable, Fact {
    static let kind = FactKind.review
    /// Which path opened the record.
    public enum Kind: String, Sendable {
        case disclosure
        case breakGlass = "break-glass"
    }
    /// A reviewer's verdict.
    public enum Outcome: String, Sendable, CaseIterable { case justified, unjustified }

    /// The item's id, `RV-XXXX-XXXX-XXXX`.
    public let id: ReviewID
    /// Which path opened the record.
    public let kind: Kind
    /// The record opened.
    public let record: RecordID
    /// Who opened the record: the fact's signer.
    public let actor: PrincipalID
    /// When, in seconds since 1970 UTC.
    public let time: Int64
    /// The reason the opener gave.
    public let reason: String
    /// The review's verdict, once a head of centre has given one (a ``ReviewOutcome``).
    public var outcome: Outcome?
    /// Who gave the verdict.
    public var reviewer: PrincipalID?
    /// The reviewer's note.
    public var note: String?

    var factID: String { id.text }
    var subject: String { record.text }

    func writeFields(_ w: inout CanonicalWriter) {
        w.string(kind.rawValue)
        w.i64(time)
        w.string(reason)
    }

    static func readFields(
        _ r: inout CanonicalReader, header: FactHeader
    ) throws(TutelaError) -> ReviewItem {
        guard let kind = Kind(rawValue: try r.string("kind", max: 32)) else {
            throw .tampered("review \(header.id) has an unknown kind")
        }
        return ReviewItem(
            id: try header.ownID(), kind: kind, record: try header.recordSubject(),
            actor: header.signer,
            time: try r.i64("time"), reason: try r.string("reason", max: 2000))
    }
}

/// A head of centre's verdict on a ``ReviewItem``, filed under the item's id.
struct ReviewOutcome: Sendable, Equatable, Fact {
    static let kind = FactKind.reviewOutcome
    let review: ReviewID
    let outcome: ReviewItem.Outcome
    let note: String
    let reviewer: PrincipalID
    let time: Int64

    var factID: String { review.text }
    var subject: String { review.text }

    func writeFields(_ w: inout CanonicalWriter) {
        w.string(outcome.rawValue)
        w.string(note)
        w.i64(time)
    }

    static func readFields(
        _ r: inout CanonicalReader, header: FactHeader
    ) throws(TutelaError) -> ReviewOutcome {
        try header.requireOnePerSubject()
        guard let outcome = ReviewItem.Outcome(rawValue: try r.string("outcome", max: 32)) else {
            throw .tampered("review outcome \(header.id) has an unknown verdict")
        }
        return ReviewOutcome(
            review: try header.subjectID(), outcome: outcome, note: try r.string("note", max: 2000),
            reviewer: header.signer, time: try r.i64("time"))
    }
}
