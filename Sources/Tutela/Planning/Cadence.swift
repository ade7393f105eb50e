/// Where one learner's review for one term or half-term stands.
public struct CadenceRow: Sendable, Equatable {
    /// Where it stands.
    public enum Standing: String, Sendable, CaseIterable {
        /// A review tutorial was sealed in the period (one whose label the reader sees).
        case done
        /// Not yet held, but planned in the period.
        case planned
        /// Nothing yet; it falls due at the end of the period, more than the notice ahead.
        case due
        /// Nothing yet, and it falls due within the notice the policy asks: the tutor's reminder.
        case dueSoon = "due-soon"
        /// The period ended without one.
        case overdue
    }

    /// The learner.
    public let learner: LearnerID
    /// Their name.
    public let name: String
    /// Their assigned tutor.
    public let tutor: PrincipalID
    /// Their programme, as the directory records it.
    public let programme: String
    /// The programme's cadence.
    public let every: ReviewEvery
    /// The term or half-term.
    public let period: ReviewPeriod
    /// Where the review stands.
    public let standing: Standing
    /// The review sealed in it, when done and the reader may see its label.
    public let record: RecordID?
    /// The plan in it, when planned.
    public let plan: PlanID?
}

/// Review cadence: for every learner on a programme with one, whether this term's or
/// half-term's review is done, planned or due — and the last one, when it was missed.
extension Planning {
    /// The cadence of the learners this person follows: a tutor's own tutees, or (for a head of
    /// centre) every learner, narrowed to `tutor`'s when given. Reviews are the tutorials (either
    /// class, not void, not an addendum) the reader may see the label of.
    /// - Throws: denied (77) for anyone but a tutor or a head of centre.
    public func cadence(tutor: PrincipalID? = nil) async throws -> [CadenceRow] {
        let rules = try policy().tutorials
        let isHead = principal.has(.headOfCentre) && !principal.revoked
        guard isHead || principal.has(.tutor) && !principal.revoked else {
            throw TutelaError.denied("only tutors and heads of centre follow review cadences")
        }
        let today = try today()
        let tutor = isHead ? tutor.map(directory.resolve) : principal.id
        var wanted: [(Learner, ReviewCadence, [ReviewPeriod], Int)] = []
        for learner in directory.learners.values where learner.leftOn.map({ $0 > today }) ?? true {
            if let tutor, learner.tutor != tutor { continue }
            guard let cadence = rules.cadence(for: learner.programme) else { continue }
            let periods = rules.periods(cadence.every)
            guard let current = periods.lastIndex(where: { $0.starts <= today }) else { continue }
            wanted.append((learner, cadence, periods, current))
        }
        guard !wanted.isEmpty else { return [] }
        let earliest = wanted.map { $0.2[max(0, $0.3 - 1)].starts }.min() ?? today
        let reviews = try await Finding(session: session).every(
            RecordQuery(from: earliest)
        ).filter {
            !$0.void && !$0.destroyed && $0.label.amends == nil
                && [.tutorial, .confidentialTutorial].contains($0.label.recordClass)
        }.map(\.label)
        let plans = try await plans(from: earliest)
        var rows: [CadenceRow] = []
        for (learner, cadence, periods, current) in wanted {
            let theirs = reviews.filter { $0.learner == learner.id }
            let planned = plans.filter { $0.learner == learner.id }
            for index in [current - 1, current] where index >= 0 {
                let period = periods[index]
                if let enrolled = learner.enrolled, enrolled > period.ends { continue }
                let row = standing(
                    period, today: today, notice: rules.noticeDays, reviews: theirs,
                    plans: planned)
                // The period before this one is shown only when it was missed.
                if index < current, row.standing != .overdue { continue }
                rows.append(
                    CadenceRow(
                        learner: learner.id, name: learner.name, tutor: learner.tutor,
                        programme: learner.programme ?? cadence.programme, every: cadence.every,
                        period: period, standing: row.standing, record: row.record,
                        plan: row.plan))
            }
        }
        return rows.sorted {
            ($0.period.ends, $0.learner.text) < ($1.period.ends, $1.learner.text)
        }
    }

    /// The reminders for this tutor: their tutees' reviews falling due within the notice, with
    /// nothing planned, and those missed.
    public func reminders() async throws -> [CadenceRow] {
        guard principal.has(.tutor), !principal.revoked, directory.policy != nil else { return [] }
        return try await cadence().filter { $0.standing == .dueSoon || $0.standing == .overdue }
    }

    private func standing(
        _ period: ReviewPeriod, today: CalendarDate, notice: Int, reviews: [Label],
        plans: [TutorialPlan]
    ) -> (standing: CadenceRow.Standing, record: RecordID?, plan: PlanID?) {
        if let review = reviews.first(where: { period.contains($0.tutorialDate) }) {
            return (.done, review.record, nil)
        }
        // A held plan is not itself a review: its record counts above, when the reader sees it.
        let inPeriod = plans.filter { period.contains($0.day) }
        if let next = inPeriod.first(where: { $0.status == .planned && $0.day >= today }) {
            return (.planned, nil, next.id)
        }
        if period.ends < today { return (.overdue, nil, nil) }
        let left = period.ends.daysSinceEpoch - today.daysSinceEpoch
        return (left <= notice ? .dueSoon : .due, nil, nil)
    }
}
