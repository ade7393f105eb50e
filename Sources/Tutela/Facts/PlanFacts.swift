/// A tutorial planned with a learner, and each change to it: when, where and with whom — never
/// what it is about. Filed under the learner; each change replaces the fact with a later
/// revision, signed by whoever made it, so the plan's history is the audit log's.
public struct TutorialPlan: Sendable, Equatable, Fact {
    static let kind = FactKind.plan

    /// Where a plan stands.
    public enum Status: UInt8, Sendable, CaseIterable {
        /// To take place.
        case planned = 1
        /// Called off; the learner was told.
        case cancelled = 2
        /// Held: the record sealed for it is ``TutorialPlan/record``.
        case held = 3

        /// The word a list shows.
        public var word: String {
            switch self {
            case .planned: "planned"
            case .cancelled: "cancelled"
            case .held: "held"
            }
        }
    }

    /// The plan's id, `TP-XXXX-XXXX-XXXX`.
    public let id: PlanID
    /// The learner it is with.
    public let learner: LearnerID
    /// The tutor who holds it.
    public let tutor: PrincipalID
    /// The day, in the centre's time zone.
    public let day: CalendarDate
    /// The start, in minutes after midnight in the centre's time zone; nil while the time is still
    /// to be agreed (a "next tutorial" date taken from a form).
    public let startMinute: Int?
    /// How long it is planned to last, in minutes.
    public let minutes: Int
    /// Where: a room or a place, never a topic; empty while still to be agreed.
    public let place: String
    /// Whether the learner agreed that their parents or carers are told of it.
    public let tellFamily: Bool
    /// Where it stands.
    public let status: Status
    /// The record sealed for it, once held.
    public let record: RecordID?
    /// 0 when first planned; each change adds one.
    public let revision: Int64
    /// Who made this revision: the fact's signer.
    public let by: PrincipalID
    /// When this revision was made, in seconds since 1970 UTC.
    public let time: Int64
    /// Why it changed or was cancelled, in the words of whoever did it; empty for a first plan.
    public let reason: String
    /// How many directory statements its maker's session had verified: the directory it is
    /// judged by.
    public let decidedAt: Int64

    /// The longest place accepted, in characters; and in UTF-8 bytes, which its reader counts
    /// (a character can take many: an accent, another script, a run of marks).
    public static let maximumPlaceLength = 120
    static let maximumPlaceBytes = 480
    /// The most revisions a plan may have.
    static let maximumRevision: Int64 = 100_000
    /// The latest time a plan may carry: the last second of 9999.
    static let latestTime: Int64 = 253_402_300_799
    /// How long a tutorial may be planned to last: 5 minutes to 4 hours.
    public static let minutesAllowed = 5...240

    var factID: String { id.text }
    var subject: String { learner.text }

    func writeFields(_ w: inout CanonicalWriter) {
        w.id(tutor)
        w.string(day.description)
        w.i64(Int64(startMinute ?? -1))
        w.i64(Int64(minutes))
        w.string(place)
        w.bool(tellFamily)
        w.u8(status.rawValue)
        w.optionalID(record)
        w.i64(revision)
        w.i64(time)
        w.string(reason)
        w.i64(decidedAt)
    }

    static func readFields(
        _ r: inout CanonicalReader, header: FactHeader
    ) throws(TutelaError) -> TutorialPlan {
        let name = "plan \(header.id)"
        let tutor: PrincipalID = try r.id("tutor")
        guard let day = CalendarDate(try r.string("day", max: 10)) else {
            throw .tampered("\(name) has no valid day")
        }
        let start = try r.i64("start")
        let minutes = try r.i64("minutes")
        let place = try r.string("place", max: maximumPlaceBytes)
        let tellFamily = try r.bool("tell family")
        guard let status = Status(rawValue: try r.u8("status")) else {
            throw .tampered("\(name) has an unknown status")
        }
        let record: RecordID? = try r.optionalID("record")
        let revision = try r.i64("revision")
        guard (0...maximumRevision).contains(revision) else {
            throw .tampered("\(name) is malformed")
        }
        let plan = TutorialPlan(
            id: try header.ownID(), learner: try header.subjectID(), tutor: tutor, day: day,
            startMinute: start == -1 ? nil : Int(start), minutes: Int(minutes), place: place,
            tellFamily: tellFamily, status: status, record: record,
            revision: revision, by: header.signer, time: try r.i64("time"),
            reason: try r.string("reason", max: 8000), decidedAt: try r.i64("decided at"))
        try header.requireMadeUnder(plan.decidedAt)
        guard start == -1 || (0..<1440).contains(start), minutesAllowed.contains(plan.minutes),
            plan.revision >= 0, (status == .held) == (record != nil),
            (0...latestTime).contains(plan.time), isPlace(place)
        else { throw .tampered("\(name) is malformed") }
        return plan
    }

    /// Whether `text` may be a plan's place: at most 120 characters and 480 bytes of text with no
    /// control or formatting characters (which could reorder what a diary shows).
    static func isPlace(_ text: String) -> Bool {
        text.count <= maximumPlaceLength && text.utf8.count <= maximumPlaceBytes
            && !text.unicodeScalars.contains {
                [.control, .format].contains($0.properties.generalCategory)
            }
    }

    /// The same plan, revised by `by` at `time` under directory position `decidedAt`.
    func revised(
        day: CalendarDate? = nil, startMinute: Int?? = nil, minutes: Int? = nil,
        place: String? = nil, status: Status? = nil, record: RecordID? = nil,
        by: PrincipalID, time: Int64, reason: String, decidedAt: Int64
    ) -> TutorialPlan {
        TutorialPlan(
            id: id, learner: learner, tutor: tutor, day: day ?? self.day,
            startMinute: startMinute ?? self.startMinute, minutes: minutes ?? self.minutes,
            place: place ?? self.place, tellFamily: tellFamily, status: status ?? self.status,
            record: record ?? self.record, revision: revision + 1, by: by, time: time,
            reason: reason, decidedAt: decidedAt)
    }

    /// The plan as a learner or their family see it: a held plan as it stood before it was held
    /// (that it was held, and by which record, could show them a record withheld from them).
    var asFamilySeesIt: TutorialPlan {
        guard status == .held else { return self }
        return TutorialPlan(
            id: id, learner: learner, tutor: tutor, day: day, startMinute: startMinute,
            minutes: minutes, place: place, tellFamily: tellFamily, status: .planned, record: nil,
            revision: revision - 1, by: by, time: time, reason: "", decidedAt: decidedAt)
    }

    /// Whether `actor` may plan a tutorial with `learner`, or change or cancel one: a tutor or a
    /// head of centre, enrolled, who is not one of the learner's family.
    static func may(_ actor: Principal, plan learner: LearnerID, in directory: Directory) -> Bool {
        guard !actor.revoked, !actor.awaitingKeys,
            actor.has(.tutor) || actor.has(.headOfCentre)
        else { return false }
        return !directory.isFamily(actor.id, of: learner)
    }

    /// Whether `tutor` may hold a tutorial with `learner`: an enrolled tutor, not revoked, who is
    /// not one of the learner's family (who would then see and be told of every plan).
    static func mayHold(_ tutor: Principal, with learner: LearnerID, in directory: Directory)
        -> Bool
    {
        tutor.has(.tutor) && !tutor.revoked && !tutor.awaitingKeys
            && !directory.isFamily(tutor.id, of: learner)
    }

    /// Checks that the directory when this revision was made let its signer make it, with the
    /// tutor it names: a plan written into the database by anyone else, or naming someone who
    /// could not hold it (another learner, a parent), is tampering — never a plan to show or
    /// notify.
    func check(directory: Directory) throws(TutelaError) {
        let then = try directory.asOf(decidedAt)
        guard let maker = then.principals[by], Self.may(maker, plan: learner, in: then),
            let listed = then.learners[learner],
            then.policy?.mayList(listed, actor: maker) == true
        else {
            throw .tampered(
                "plan \(id) is signed by '\(by)', who could not plan tutorials with \(learner) "
                    + "when it was made")
        }
        guard let holder = then.principals[tutor], Self.mayHold(holder, with: learner, in: then)
        else {
            throw .tampered("plan \(id) names '\(tutor)', who could not hold it when it was made")
        }
    }
}
