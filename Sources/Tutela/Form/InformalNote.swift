/// An informal support conversation, recorded as a minimum entry (the guidance asks that results of
/// informal support be recorded at least on the Individual Learner Record).
public struct InformalNote: Sendable, Equatable, Codable {
    /// The id of the learner the note is about; sealing refuses a learner not on record.
    public var learner: LearnerID
    /// The date of the conversation, written on the label.
    public var date: CalendarDate
    /// What was discussed and its outcome, briefly.
    public var summary: String
    /// Any follow-up agreed (at most 2,000 characters).
    public var followUp: String?
    /// Whether the minimum entry has been made on the ILR.
    public var recordedOnILR: Bool?
    /// Who may receive a copy, each at most once, as on the progress review.
    public var copiesTo: [ProgressReview.CopyRecipient]?

    /// Parses and validates a note from JSON or YAML bytes; unknown fields are refused.
    public static func parse(_ bytes: [UInt8], source: String) throws(TutelaError) -> InformalNote {
        var fields = try FieldReader(
            Document.parse(bytes, source: source), path: "", source: source)
        let note = InformalNote(
            learner: try fields.id("learner"),
            date: try fields.date("date", required: true).orThrow(),
            summary: try fields.text("summary", max: 5000, required: true).orThrow(),
            followUp: try fields.text("followUp", max: 2000),
            recordedOnILR: try fields.bool("recordedOnILR"),
            copiesTo: try fields.list("copiesTo", max: ProgressReview.CopyRecipient.allCases.count)
            {
                (item) throws(TutelaError) in
                try FieldReader.choice(
                    item.value, ProgressReview.CopyRecipient.self, path: item.path, source: source)
            })
        try fields.finish()
        if let copies = note.copiesTo, Set(copies).count != copies.count {
            throw .invalidInput("\(source): field 'copiesTo': a recipient is listed twice")
        }
        return note
    }
}

/// What a record holds: a progress review or an informal note.
public enum RecordContent: Sendable, Equatable {
    /// A progress review / tutorial form.
    case progressReview(ProgressReview)
    /// An informal note; it is sealed only as an `informal-note` record.
    case informalNote(InformalNote)
    /// An addendum to another record; it is sealed only through
    /// ``Corrections/addendum(to:text:)``, with the class and copies of the record it amends.
    case addendum(Addendum)

    /// The id of the learner the record is about.
    public var learner: LearnerID {
        switch self {
        case .progressReview(let f): return f.learner
        case .informalNote(let n): return n.learner
        case .addendum(let a): return a.learner
        }
    }

    /// The same content about `learner` (the id as recorded, for one typed in another case).
    func about(_ learner: LearnerID) -> RecordContent {
        switch self {
        case .progressReview(var f):
            f.learner = learner
            return .progressReview(f)
        case .informalNote(var n):
            n.learner = learner
            return .informalNote(n)
        case .addendum(var a):
            a.learner = learner
            return .addendum(a)
        }
    }

    /// The date the content records (the tutorial, or the conversation), written on the label.
    public var date: CalendarDate {
        switch self {
        case .progressReview(let f): return f.date
        case .informalNote(let n): return n.date
        case .addendum(let a): return a.date
        }
    }

    var copies: [CopyKind] {
        let agreed: [ProgressReview.CopyRecipient]
        switch self {
        case .progressReview(let f): agreed = f.copiesTo ?? []
        case .informalNote(let n): agreed = n.copiesTo ?? []
        // An addendum's copies are its original's, taken from that record's label.
        case .addendum: agreed = []
        }
        return agreed.compactMap { CopyKind(rawValue: $0.rawValue) }
    }

    /// Whether content of this kind may be sealed as `recordClass`.
    func fits(_ recordClass: RecordClass) -> Bool {
        switch self {
        case .progressReview: return recordClass != .informalNote
        case .informalNote: return recordClass == .informalNote
        case .addendum: return true
        }
    }
}
