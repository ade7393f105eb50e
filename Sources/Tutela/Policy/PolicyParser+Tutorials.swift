import Yams

/// The policy's `tutorials:` section: the school calendar, review cadences, notice and calendar
/// entries.
extension PolicyReader {
    /// The most terms a calendar holds (ten years of three).
    static let maximumTerms = 30

    mutating func tutorialRules(_ node: Node) throws(TutelaError) -> TutorialRules {
        let map = try mapping(
            node, "tutorials", allowed: ["notice-days", "terms", "reviews", "calendar-shows"])
        var terms: [SchoolTerm] = []
        if let list = map["terms"] {
            for item in try self.list(list, "tutorials.terms") {
                let term = try schoolTerm(item)
                if let previous = terms.last, term.starts <= previous.ends {
                    throw fail(
                        item,
                        "term '\(term.name)' starts (\(term.starts)) before '\(previous.name)' "
                            + "ends (\(previous.ends)): list the terms in order, never overlapping")
                }
                guard !terms.contains(where: { $0.name == term.name }) else {
                    throw fail(item, "term '\(term.name)' is listed twice")
                }
                terms.append(term)
            }
            guard terms.count <= Self.maximumTerms else {
                throw fail(list, "tutorials.terms lists more than \(Self.maximumTerms) terms")
            }
        }
        var cadences = TutorialRules.defaultCadences
        if let reviews = map["reviews"] {
            cadences = try reviewCadences(reviews)
        }
        let shows = try map["calendar-shows"].map { (n) throws(TutelaError) in
            let text = try string(n, "tutorials.calendar-shows", max: 20)
            guard let shows = CalendarName(rawValue: text) else {
                throw fail(n, "tutorials.calendar-shows must be initials or learner-id")
            }
            return shows
        }
        return TutorialRules(
            noticeDays: try map["notice-days"].map { (n) throws(TutelaError) in
                try integer(n, "tutorials.notice-days", range: 1...28)
            } ?? TutorialRules.defaultNoticeDays,
            terms: terms, cadences: cadences, calendarShows: shows ?? .initials, line: line(node))
    }

    /// One term: `name`, `starts`, `ends` and an optional `half-term: [FIRST, LAST]` inside it.
    mutating func schoolTerm(_ node: Node) throws(TutelaError) -> SchoolTerm {
        let map = try mapping(
            node, "a term", allowed: ["name", "starts", "ends", "half-term"],
            required: ["name", "starts", "ends"])
        let name = try string(map["name"] ?? node, "a term's name", max: 60)
        let starts = try date(map["starts"] ?? node, "the start of '\(name)'")
        let ends = try date(map["ends"] ?? node, "the end of '\(name)'")
        guard starts < ends, ends.daysSinceEpoch - starts.daysSinceEpoch <= 200 else {
            throw fail(
                node,
                "term '\(name)' must end after it starts, within 200 days (\(starts) to \(ends))")
        }
        var half: ClosedRange<CalendarDate>?
        if let node = map["half-term"] {
            let days = try list(node, "the half-term of '\(name)'")
            guard days.count == 2 else {
                throw fail(node, "the half-term of '\(name)' is [FIRST DAY, LAST DAY] of the break")
            }
            let first = try date(days[0], "the half-term of '\(name)'")
            let last = try date(days[1], "the half-term of '\(name)'")
            guard starts < first, first <= last, last < ends else {
                throw fail(
                    node,
                    "the half-term of '\(name)' (\(first) to \(last)) must fall inside the term, "
                        + "with school days before and after it")
            }
            half = first...last
        }
        return SchoolTerm(name: name, starts: starts, ends: ends, halfTerm: half, line: line(node))
    }

    /// `reviews:`: each programme's cadence, `half-term` or `term`. It replaces the defaults.
    mutating func reviewCadences(_ node: Node) throws(TutelaError) -> [ReviewCadence] {
        try count(node)
        guard case .mapping(let map) = node else {
            throw fail(node, "tutorials.reviews must map each programme to half-term or term")
        }
        var cadences: [ReviewCadence] = []
        for (key, value) in map {
            let programme = try string(key, "a programme's name", max: 120)
            let every = try string(value, "the reviews of '\(programme)'", max: 20)
            guard let cadence = ReviewEvery(rawValue: every) else {
                throw fail(value, "the reviews of '\(programme)' must be half-term or term")
            }
            guard
                !cadences.contains(where: {
                    TutorialRules.folded($0.programme) == TutorialRules.folded(programme)
                })
            else { throw fail(key, "programme '\(programme)' is listed twice") }
            cadences.append(ReviewCadence(programme: programme, every: cadence, line: line(key)))
        }
        return cadences
    }

    /// A `YYYY-MM-DD` date.
    mutating func date(_ node: Node, _ what: String) throws(TutelaError) -> CalendarDate {
        let text = try string(node, what, max: 10)
        guard let date = CalendarDate(text) else {
            throw fail(node, "\(what) must be a date written YYYY-MM-DD, not '\(text)'")
        }
        return date
    }
}
