extension CalendarDate {
    /// The same day `years` later; 29 February becomes 28 February in a year that has none.
    func adding(years: Int) -> CalendarDate {
        let y = year + years
        let d = min(day, CalendarDate.daysIn(month: month, year: y))
        return CalendarDate(year: y, month: month, day: d)
    }

    func adding(days: Int) -> CalendarDate { CalendarDate(daysSinceEpoch: daysSinceEpoch + days) }
}

/// The dates a retention rule can start from, all known without reading a record.
struct RetentionFacts {
    let created: CalendarDate
    let learnerLeft: CalendarDate?
    let dateOfBirth: CalendarDate?

    /// Which facts are missing, 0…3: (learner has not left ? 1 : 0) + (no date of birth ? 2 : 0).
    var missingIndex: Int { (learnerLeft == nil ? 1 : 0) + (dateOfBirth == nil ? 2 : 0) }
}

extension RetentionRule {
    /// When the period ends, or nil while a trigger has not happened (the learner has not left) or is
    /// unknown (no date of birth recorded). `later-of` waits for all of its periods; `earlier-of` ends
    /// with the first that ends.
    func end(_ facts: RetentionFacts) -> CalendarDate? {
        switch self {
        case .after(let trigger, let years):
            let start: CalendarDate?
            switch trigger {
            case .created: start = facts.created
            case .learnerLeft: start = facts.learnerLeft
            case .dob: start = facts.dateOfBirth
            }
            return start?.adding(years: years)
        // Without building arrays: this runs for every record in a retention check.
        case .laterOf(let rules):
            var latest: CalendarDate?
            for rule in rules {
                guard let end = rule.end(facts) else { return nil }
                latest = latest.map { max($0, end) } ?? end
            }
            return latest
        case .earlierOf(let rules):
            var earliest: CalendarDate?
            for rule in rules {
                guard let end = rule.end(facts) else { continue }
                earliest = earliest.map { min($0, end) } ?? end
            }
            return earliest
        }
    }

    /// The triggers whose dates are missing, to explain an undetermined schedule.
    func missing(_ facts: RetentionFacts) -> [String] {
        switch self {
        case .after(let trigger, _):
            switch trigger {
            case .created: return []
            case .learnerLeft: return facts.learnerLeft == nil ? ["the learner has not left"] : []
            case .dob: return facts.dateOfBirth == nil ? ["no date of birth is recorded"] : []
            }
        case .laterOf(let rules), .earlierOf(let rules):
            return Array(Set(rules.flatMap { $0.missing(facts) })).sorted()
        }
    }
}

/// Where a record stands in its retention schedule on a given day.
public struct RetentionStatus: Sendable, Equatable {
    /// Where a record stands; the raw value is how it is written out.
    public enum Standing: String, Sendable, CaseIterable {
        /// Its period has ended and the schedule says destroy (or a review decided destroy).
        case due
        /// Its period has ended and the schedule (or an earlier review) asks for a review.
        case review
        /// A hold stops it being destroyed, whatever its schedule says.
        case held
        /// Its period ends within the look-ahead window.
        case upcoming
        /// Its period ends later.
        case notDue = "not-due"
        /// Its period cannot be computed yet (the learner has not left; no date of birth).
        case undetermined
        /// Destroyed; only its tombstone remains.
        case destroyed
    }

    /// The record's label.
    public let label: Label
    /// Where the record stands on the day checked.
    public let standing: Standing
    /// Whether the record has a safeguarding flag, so that its class's flagged schedule applies.
    public let flagged: Bool
    /// When the period ends (or a review's keep-until date), if known.
    public let dueOn: CalendarDate?
    /// The schedule that applies, in words, citing the policy.
    public let rule: String
    /// More detail: the hold's reason, a review's decision, what is missing.
    public let note: String?
}
