/// The progress review / tutorial pro forma: one field per box of the paper form.
///
/// Built only through ``parse(_:source:)``, which checks every field and names the one that is wrong.
/// Unknown fields are refused, so a typo never silently drops what a tutor wrote.
public struct ProgressReview: Sendable, Equatable, Codable {
    /// The learner's punctuality, as ticked on the form.
    public enum Punctuality: String, Sendable, Codable, CaseIterable {
        /// The four boxes of the form, best first.
        case excellent, good, reasonable, poor
    }

    /// Who the learner agreed may receive a copy.
    public enum CopyRecipient: String, Sendable, Codable, CaseIterable {
        /// The learner the form is about.
        case learner
        /// The Individual Learner Record, read by the ILR officer where policy allows.
        case ilr
        /// The learner's home school.
        case homeSchool = "home-school"
        /// The learner's parents or carers.
        case parentsCarers = "parents-carers"
        /// The learner's work-based provider.
        case workBasedProvider = "work-based-provider"
    }

    /// The attendance box: lessons and absences.
    public struct Attendance: Sendable, Equatable, Codable {
        /// How many lessons there were (0–10,000).
        public var lessons: Int
        /// How many of those lessons the learner missed; never more than ``lessons``.
        public var absences: Int
    }

    /// One target set at the tutorial.
    public struct Target: Sendable, Equatable, Codable {
        /// What the learner is to achieve (required, at most 1,000 characters).
        public var target: String
        /// The date it is to be achieved by, or nil if none was set.
        public var byWhen: CalendarDate?
    }

    /// The id of the learner the review is about; sealing refuses a learner not on record.
    public var learner: LearnerID
    /// The date of the tutorial, written on the label; no other date on the form may be before it.
    public var date: CalendarDate
    /// The learner's course (required, at most 200 characters).
    public var course: String
    /// The learner's school, as written in the box (at most 200 characters).
    public var school: String?
    /// The learner's form tutor, as written in the box (at most 200 characters).
    public var formTutor: String?
    /// Which year of the course the learner is in (1–10).
    public var yearOfCourse: Int?
    /// Lessons and absences, or nil if the box was left empty.
    public var attendance: Attendance?
    /// How punctual the learner has been, or nil if no box was ticked.
    public var punctuality: Punctuality?
    /// What the learner is working towards, such as a qualification (at most 200 characters).
    public var workingTowards: String?
    /// Whether the learner is on target, or nil if the question was not answered.
    public var onTarget: Bool?
    /// General comments (at most 20,000 characters, like the other comment fields).
    public var comments: String?
    /// The learner's own comments.
    public var learnerComments: String?
    /// The tutor's own comments.
    public var tutorComments: String?
    /// Whether the targets set last time were met, or nil if not answered.
    public var previousTargetsMet: Bool?
    /// Notes on the targets set last time.
    public var previousTargetsNote: String?
    /// New targets (at most 50).
    public var targets: [Target]?
    /// Actions agreed at the tutorial (at most 50, each at most 2,000 characters).
    public var agreedActions: [String]?
    /// The date of the next tutorial, if one was set; not before ``date``.
    public var nextTutorial: CalendarDate?
    /// Who the learner agreed may receive a copy, each at most once; policy `copies:` rules reach
    /// only these.
    public var copiesTo: [CopyRecipient]?
    /// The date the learner signed, or nil if they have not; not before ``date``.
    public var signedByLearner: CalendarDate?
    /// The date the tutor signed, or nil if they have not; not before ``date``.
    public var signedByTutor: CalendarDate?

    static let shortText = 200
    static let longText = 20_000
    static let maximumListCount = 50

    /// Parses and validates a form from JSON or YAML bytes.
    /// - Throws: a data error (exit 65) naming the field at fault.
    public static func parse(_ bytes: [UInt8], source: String) throws(TutelaError) -> ProgressReview
    {
        try from(Document.parse(bytes, source: source), source: source)
    }

    static func from(_ document: Document, source: String) throws(TutelaError) -> ProgressReview {
        var fields = try FieldReader(document, path: "", source: source)
        let form = ProgressReview(
            learner: try fields.id("learner"),
            date: try fields.date("date", required: true).orThrow(),
            course: try fields.text("course", max: shortText, required: true).orThrow(),
            school: try fields.text("school", max: shortText),
            formTutor: try fields.text("formTutor", max: shortText),
            yearOfCourse: try fields.integer("yearOfCourse", range: 1...10),
            attendance: try fields.object("attendance") { (a) throws(TutelaError) in
                let lessons = try a.integer("lessons", range: 0...10_000, required: true).orThrow()
                let absences = try a.integer("absences", range: 0...10_000, required: true)
                    .orThrow()
                guard absences <= lessons else {
                    throw a.problem(
                        "absences", "\(absences) absences is more than the \(lessons) lessons")
                }
                return Attendance(lessons: lessons, absences: absences)
            },
            punctuality: try fields.choice("punctuality", Punctuality.self),
            workingTowards: try fields.text("workingTowards", max: shortText),
            onTarget: try fields.bool("onTarget"),
            comments: try fields.text("comments", max: longText),
            learnerComments: try fields.text("learnerComments", max: longText),
            tutorComments: try fields.text("tutorComments", max: longText),
            previousTargetsMet: try fields.bool("previousTargetsMet"),
            previousTargetsNote: try fields.text("previousTargetsNote", max: longText),
            targets: try fields.list("targets", max: maximumListCount) {
                (item) throws(TutelaError) in
                var t = try FieldReader(item.value, path: item.path, source: source)
                let target = Target(
                    target: try t.text("target", max: 1000, required: true).orThrow(),
                    byWhen: try t.date("byWhen"))
                try t.finish()
                return target
            },
            agreedActions: try fields.list("agreedActions", max: maximumListCount) {
                (item) throws(TutelaError) in
                try FieldReader.text(item.value, path: item.path, max: 2000, source: source)
            },
            nextTutorial: try fields.date("nextTutorial"),
            copiesTo: try fields.list("copiesTo", max: CopyRecipient.allCases.count) {
                (item) throws(TutelaError) in
                try FieldReader.choice(
                    item.value, CopyRecipient.self, path: item.path, source: source)
            },
            signedByLearner: try fields.date("signedByLearner"),
            signedByTutor: try fields.date("signedByTutor"))
        try fields.finish()
        try form.checkConsistency(source: source)
        return form
    }

    private func checkConsistency(source: String) throws(TutelaError) {
        func problem(_ field: String, _ what: String) -> TutelaError {
            .invalidInput("\(source): field '\(field)': \(what)")
        }
        if let next = nextTutorial, next < date {
            throw problem("nextTutorial", "\(next) is before the tutorial date \(date)")
        }
        if let signed = signedByLearner, signed < date {
            throw problem("signedByLearner", "\(signed) is before the tutorial date \(date)")
        }
        if let signed = signedByTutor, signed < date {
            throw problem("signedByTutor", "\(signed) is before the tutorial date \(date)")
        }
        if let copies = copiesTo, Set(copies).count != copies.count {
            throw problem("copiesTo", "a recipient is listed twice")
        }
    }
}

extension Optional {
    /// Unwraps a value a required-field reader has already guaranteed.
    func orThrow() throws(TutelaError) -> Wrapped {
        guard let self else { throw .internal("a required field was not checked") }
        return self
    }
}
