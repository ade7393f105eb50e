/// A term of the centre's calendar: its first and last days and its half-term break.
public struct SchoolTerm: Sendable, Hashable {
    /// Its name, such as "Autumn 2026".
    public let name: String
    /// The first day of the term.
    public let starts: CalendarDate
    /// The last day of the term.
    public let ends: CalendarDate
    /// The first and last days of the half-term break, or nil for a term without one.
    public let halfTerm: ClosedRange<CalendarDate>?
    /// The line of the term in the policy file (counting from 1).
    public let line: Int
}

/// How often a programme's learners are reviewed.
public enum ReviewEvery: String, Sendable, Hashable, CaseIterable {
    /// Once in each half of each term (NEET prevention courses).
    case halfTerm = "half-term"
    /// Once each term (Young Apprenticeship and Diploma progress reporting).
    case term
}

/// A programme's review cadence: its learners have a review in every term or half-term.
public struct ReviewCadence: Sendable, Hashable {
    /// The programme, as the directory records it for a learner (compared ignoring case).
    public let programme: String
    /// How often.
    public let every: ReviewEvery
    /// The line in the policy file, or 0 for a shipped default.
    public let line: Int
}

/// A stretch of the calendar in which one review is due: a term, or one half of it.
public struct ReviewPeriod: Sendable, Hashable {
    /// "Autumn 2026" or "Autumn 2026, first half".
    public let name: String
    /// Its first day.
    public let starts: CalendarDate
    /// Its last day: the review is due by then.
    public let ends: CalendarDate

    /// Whether `day` falls in it.
    public func contains(_ day: CalendarDate) -> Bool { starts <= day && day <= ends }
}

/// What a planned tutorial's calendar entry names the learner by.
public enum CalendarName: String, Sendable, Hashable, CaseIterable {
    /// Their initials ("A.P."): enough for the tutor, little to anyone who sees the diary.
    case initials
    /// Their learner id.
    case learnerID = "learner-id"
}

/// The policy's `tutorials:` section: the centre's calendar, the review cadence of each
/// programme, the notice a learner is given of a tutorial, and what a calendar entry shows.
public struct TutorialRules: Sendable, Hashable {
    /// Days of notice a learner should have of a tutorial (a notice given later is allowed, and
    /// flagged as short).
    public let noticeDays: Int
    /// The terms, in order, never overlapping.
    public let terms: [SchoolTerm]
    /// The review cadence of each programme.
    public let cadences: [ReviewCadence]
    /// What a calendar entry names the learner by.
    public let calendarShows: CalendarName
    /// The line of the `tutorials:` section, or nil when the policy has none.
    public let line: Int?

    /// The notice the guidance asks for: "one week is usually sufficient".
    public static let defaultNoticeDays = 7

    /// The guidance's two requirements: half-termly reviews for NEET prevention courses, termly
    /// progress reporting for Young Apprenticeship and Diploma programmes.
    public static let defaultCadences = [
        ReviewCadence(programme: "NEET prevention", every: .halfTerm, line: 0),
        ReviewCadence(programme: "Young Apprenticeship", every: .term, line: 0),
        ReviewCadence(programme: "Diploma", every: .term, line: 0),
    ]

    /// What applies when a policy has no `tutorials:` section: no calendar (so no review falls
    /// due), the default cadences and notice.
    public static let defaults = TutorialRules(
        noticeDays: defaultNoticeDays, terms: [], cadences: defaultCadences,
        calendarShows: .initials, line: nil)

    /// The cadence of `programme`, if it has one (names compared ignoring case and spacing).
    public func cadence(for programme: String?) -> ReviewCadence? {
        guard let programme else { return nil }
        let wanted = Self.folded(programme)
        return cadences.first { Self.folded($0.programme) == wanted }
    }

    /// Every review period of the calendar for `every`, in order.
    public func periods(_ every: ReviewEvery) -> [ReviewPeriod] {
        terms.flatMap { term -> [ReviewPeriod] in
            guard every == .halfTerm, let half = term.halfTerm else {
                return [ReviewPeriod(name: term.name, starts: term.starts, ends: term.ends)]
            }
            return [
                ReviewPeriod(
                    name: "\(term.name), first half", starts: term.starts,
                    ends: half.lowerBound.adding(days: -1)),
                ReviewPeriod(
                    name: "\(term.name), second half", starts: half.upperBound.adding(days: 1),
                    ends: term.ends),
            ]
        }
    }

    /// A programme name as names are compared: lower case, single spaces.
    static func folded(_ name: String) -> String {
        name.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }
}
