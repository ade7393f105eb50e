/// What sealing a tutorial did to the plans: the plan it was held for, and the next tutorial its
/// form agreed, now planned.
public struct SealFollowUp: Sendable, Equatable {
    /// The plan linked to the record, if one was named.
    public let held: TutorialPlan?
    /// The plan made from the form's "next tutorial" date (time and place still to agree), if
    /// the form gave one and no tutorial with the learner is planned that day already.
    public let next: PlanOutcome?
    /// Why the next tutorial could not be planned, when it could not (the held step stands).
    public let nextProblem: String?
}

extension Planning {
    /// Checks, before a tutorial about `learner` dated `day` is sealed for plan `id`, that the
    /// plan may be marked held by it: a sealed record is never left for a plan it cannot hold.
    public func checkHeld(_ id: PlanID, learner: LearnerID, day: CalendarDate) async throws {
        let plan = try await mayChange(id, .planHeld)
        guard plan.learner == directory.resolve(learner) else {
            throw TutelaError.usage("\(id) is planned with \(plan.learner), not \(learner)")
        }
        guard plan.day == day else {
            throw TutelaError.usage(
                "\(id) was planned for \(plan.day), but the form is dated \(day): change the "
                    + "plan's day first (tutela plan change)")
        }
    }

    /// After a tutorial is sealed: links it to `plan`, and plans the next tutorial on the form's
    /// `nextTutorial` date (with time and place to be agreed, telling the learner) unless one is
    /// planned with the learner that day already, or the date has passed.
    public func afterSeal(
        _ label: Label, plan: PlanID?, nextTutorial: CalendarDate?
    ) async throws -> SealFollowUp {
        var held: TutorialPlan?
        if let plan { held = try await self.held(plan, record: label.record) }
        guard let nextTutorial, nextTutorial > label.tutorialDate, nextTutorial >= (try today()),
            TutorialPlan.may(principal, plan: label.learner, in: directory),
            principal.has(.tutor)
        else { return SealFollowUp(held: held, next: nil, nextProblem: nil) }
        do {
            let already = try await plans(
                learner: label.learner, from: nextTutorial, to: nextTutorial
            ).contains { $0.status == .planned }
            guard !already else { return SealFollowUp(held: held, next: nil, nextProblem: nil) }
            let next = try await self.plan(PlanRequest(learner: label.learner, day: nextTutorial))
            return SealFollowUp(held: held, next: next, nextProblem: nil)
        } catch let error as TutelaError where error.kind != .tampered {
            return SealFollowUp(held: held, next: nil, nextProblem: error.message)
        }
    }
}
