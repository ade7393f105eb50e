import Foundation

/// A tutorial to plan: with whom, when and where. Never what about.
public struct PlanRequest: Sendable, Equatable {
    /// The learner.
    public var learner: LearnerID
    /// The day, in the centre's time zone.
    public var day: CalendarDate
    /// The start in minutes after midnight, in the centre's time zone; nil while still to agree.
    public var startMinute: Int?
    /// How long, in minutes (5–240).
    public var minutes: Int
    /// Where: a room or a place; empty while still to agree.
    public var place: String
    /// The tutor who holds it; nil for whoever plans it (a head of centre who is not a tutor:
    /// the learner's own tutor).
    public var tutor: PrincipalID?
    /// Whether the learner agreed that their parents or carers are told.
    public var tellFamily: Bool

    /// A tutorial with `learner` on `day`.
    public init(
        learner: LearnerID, day: CalendarDate, startMinute: Int? = nil, minutes: Int = 30,
        place: String = "", tutor: PrincipalID? = nil, tellFamily: Bool = false
    ) {
        (self.learner, self.day, self.startMinute, self.minutes) = (
            learner, day, startMinute, minutes
        )
        (self.place, self.tutor, self.tellFamily) = (place, tutor, tellFamily)
    }
}

/// A plan as it was written, and who was told.
public struct PlanOutcome: Sendable, Equatable {
    /// The plan as it now stands.
    public let plan: TutorialPlan
    /// Whole days from today to the tutorial, in the centre's time zone.
    public let daysNotice: Int
    /// Less notice than the policy asks (``TutorialRules/noticeDays``): allowed, and said so in
    /// every notice.
    public let shortNotice: Bool
    /// Who was sent a notice.
    public let notified: [PrincipalID]
}

/// Planning tutorials: a tutor (or the team) plans them with learners, each learner is told at
/// once (and their family, where the learner agreed), and changes and cancellations are told at
/// once too. Plans are signed facts with no content; each step is audited.
public struct Planning: SessionService {
    package let session: Session

    /// Plans a tutorial and notifies the learner, where agreed their parents or carers, and the
    /// tutors concerned.
    /// - Throws: usage (64) for a day in the past or over a year ahead, a bad time, length or
    ///   place; not found (66) for an unknown learner or tutor; denied (77, audited) for anyone
    ///   but a tutor or head of centre, or a member of the learner's family.
    public func plan(_ request: PlanRequest) async throws -> PlanOutcome {
        try await session.decidingAfresh {
            // Refused (and audited) before anything about the learner is looked up or said.
            let asked = directory.resolve(request.learner)
            guard TutorialPlan.may(principal, plan: asked, in: directory) else {
                try await refuse(
                    .plan, asked.text,
                    "only a tutor or a head of centre plans tutorials, and never with their own "
                        + "family")
            }
            let learner = try learner(asked, on: request.day)
            // A head of centre who does not tutor plans for the learner's own tutor.
            let tutorID =
                request.tutor.map(directory.resolve)
                ?? (principal.has(.tutor) ? principal.id : learner.tutor)
            guard let tutor = directory.principals[tutorID],
                TutorialPlan.mayHold(tutor, with: learner.id, in: directory)
            else {
                throw TutelaError.notFound(
                    "'\(tutorID)' is not an enrolled tutor who may hold a tutorial with "
                        + "\(learner.id)")
            }
            try await validate(
                day: request.day, startMinute: request.startMinute, minutes: request.minutes)
            let plan = TutorialPlan(
                id: try newID("TP"), learner: learner.id, tutor: tutor.id, day: request.day,
                startMinute: request.startMinute, minutes: request.minutes,
                place: try Self.place(request.place), tellFamily: request.tellFamily,
                status: .planned, record: nil, revision: 0, by: principal.id,
                time: vault.clock.now(), reason: "", decidedAt: directory.statementCount)
            return try await write(plan, action: .plan, replacing: nil)
        }
    }

    /// Moves a planned tutorial to another day, time or place (nil: unchanged), telling everyone
    /// its first notice told.
    public func change(
        _ id: PlanID, day: CalendarDate? = nil, startMinute: Int?? = nil, minutes: Int? = nil,
        place: String? = nil, reason: String
    ) async throws -> PlanOutcome {
        try await session.decidingAfresh {
            let why = try Session.requireReason(reason, for: "change a planned tutorial")
            let current = try await mayChange(id, .planChange)
            let revised = current.revised(
                day: day, startMinute: startMinute, minutes: minutes,
                place: try place.map(Self.place), by: principal.id, time: vault.clock.now(),
                reason: why, decidedAt: directory.statementCount)
            try await validate(
                day: revised.day, startMinute: revised.startMinute, minutes: revised.minutes)
            return try await write(revised, action: .planChange, replacing: current)
        }
    }

    /// Cancels a planned tutorial, telling everyone its first notice told.
    public func cancel(_ id: PlanID, reason: String) async throws -> PlanOutcome {
        try await session.decidingAfresh {
            let why = try Session.requireReason(reason, for: "cancel a planned tutorial")
            let current = try await mayChange(id, .planCancel)
            let revised = current.revised(
                status: .cancelled, by: principal.id, time: vault.clock.now(), reason: why,
                decidedAt: directory.statementCount)
            return try await write(revised, action: .planCancel, replacing: current)
        }
    }

    /// Marks a planned tutorial held, linked to `record`: a tutorial (not a note, not an
    /// addendum, not void) that this person sealed about the same learner, dated the plan's day.
    /// - Throws: usage (64) for any other record; the plan's other errors as
    ///   ``change(_:day:startMinute:minutes:place:reason:)``.
    @discardableResult
    public func held(_ id: PlanID, record: RecordID) async throws -> TutorialPlan {
        try await session.decidingAfresh {
            let current = try await mayChange(id, .planHeld)
            guard let stored = try await session.verifiedRecord(record) else {
                throw TutelaError.notFound("there is no record \(record)")
            }
            let label = try Label.parse(stored.labelBytes)
            try await Self.requireHeld(current, by: label, principal: principal)
            guard try await session.corrections.voidStatement(of: label) == nil else {
                throw TutelaError.usage("\(record) is void, so it cannot be a tutorial held")
            }
            let revised = current.revised(
                status: .held, record: record, by: principal.id, time: vault.clock.now(),
                reason: "held", decidedAt: directory.statementCount)
            return try await write(revised, action: .planHeld, replacing: current).plan
        }
    }

    // MARK: - Reading

    /// The plans this person may see, by day: those they hold or made, their tutees', every one
    /// for a head of centre, and a learner's (or, where they agreed, their family's) own.
    public func plans(
        learner: LearnerID? = nil, tutor: PrincipalID? = nil, from: CalendarDate? = nil,
        to: CalendarDate? = nil
    ) async throws -> [TutorialPlan] {
        let learner = learner.map(directory.resolve)
        let tutor = tutor.map(directory.resolve)
        var shown: [TutorialPlan] = []
        do {
            for plan in try await facts(TutorialPlan.self, about: learner?.text) {
                try plan.check(directory: directory)
                guard mayView(plan) else { continue }
                if let tutor, plan.tutor != tutor { continue }
                if let from, plan.day < from { continue }
                if let to, plan.day > to { continue }
                // A learner or family is not shown that a plan was held, nor as which record: a
                // record withheld from them (a flagged one) would be missing where they look.
                let family = directory.isFamily(principal.id, of: plan.learner)
                shown.append(family ? plan.asFamilySeesIt : plan)
            }
        } catch let error as TutelaError where error.kind == .tampered && principal.isFamily {
            // Nor told what did not match: another learner's plan, who signed it.
            throw TutelaError(
                .tampered, "the vault's plans do not match its audit log",
                hint: AuditLog.restoreHint)
        }
        return shown.sorted {
            ($0.day, $0.startMinute ?? -1, $0.id.text) < ($1.day, $1.startMinute ?? -1, $1.id.text)
        }
    }

    /// Whether this person may see `plan`. Family first: the learner sees their own, a parent or
    /// carer only where the learner agreed — whatever staff role either also holds.
    func mayView(_ plan: TutorialPlan) -> Bool {
        let me = principal.id
        if directory.isFamily(me, of: plan.learner) {
            return directory.learnerPrincipal(plan.learner)?.id == me || plan.tellFamily
        }
        if plan.tutor == me || plan.by == me || principal.has(.headOfCentre) && !principal.revoked {
            return true
        }
        return directory.learners[plan.learner]?.tutor == me
    }

    /// Checks that `label` is the tutorial `plan` was for: a tutorial (either class, not an
    /// addendum) that `principal` sealed about the plan's learner, dated the plan's day.
    static func requireHeld(_ plan: TutorialPlan, by label: Label, principal: Principal)
        async throws
    {
        guard label.learner == plan.learner, label.author == principal.id,
            [.tutorial, .confidentialTutorial].contains(label.recordClass), label.amends == nil
        else {
            throw TutelaError.usage(
                "\(label.record) is not a tutorial you sealed about \(plan.learner), so it cannot "
                    + "be the one planned as \(plan.id)")
        }
        guard label.tutorialDate == plan.day else {
            throw TutelaError.usage(
                "\(label.record) is dated \(label.tutorialDate), but \(plan.id) was planned for "
                    + "\(plan.day): change the plan's day first (tutela plan change)")
        }
    }

    // MARK: - Helpers

    /// The learner `id`, when this person may list them (anyone else's answer is the same "no
    /// such learner", whether or not they exist) and they have not left by `day`.
    func learner(_ id: LearnerID, on day: CalendarDate) throws(TutelaError) -> Learner {
        guard let learner = directory.learners[directory.resolve(id)],
            try policy().mayList(learner, actor: principal)
        else { throw .notFound("there is no learner \(id) you plan tutorials with") }
        if let left = learner.leftOn, left <= day {
            throw .usage(
                "\(learner.id) left on \(left); tutorials are planned with current learners")
        }
        return learner
    }

    /// A place as typed: trimmed, at most 120 characters (480 bytes) of ordinary text.
    static func place(_ text: String) throws(TutelaError) -> String {
        let place = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard TutorialPlan.isPlace(place) else {
            throw .usage(
                "the place is too long or holds control or direction marks: give a room or a "
                    + "place in at most \(TutorialPlan.maximumPlaceLength) letters")
        }
        return place
    }

    /// Refuses a day before today or over a year ahead, a start outside 00:00–23:59 and a length
    /// outside 5–240 minutes.
    func validate(day: CalendarDate, startMinute: Int?, minutes: Int) async throws {
        let today = try today()
        guard day >= today else {
            throw TutelaError.usage("\(day) has passed; plan a tutorial from today (\(today)) on")
        }
        guard day.daysSinceEpoch - today.daysSinceEpoch <= 366 else {
            throw TutelaError.usage("\(day) is over a year ahead; plan within the year")
        }
        if let startMinute, !(0..<1440).contains(startMinute) {
            throw TutelaError.usage("a tutorial starts between 00:00 and 23:59")
        }
        guard TutorialPlan.minutesAllowed.contains(minutes) else {
            throw TutelaError.usage("a tutorial lasts 5–240 minutes, not \(minutes)")
        }
    }

    /// Today in the centre's time zone.
    func today() throws(TutelaError) -> CalendarDate {
        PlanTime.localDay(vault.clock.now(), zone: try policy().timeZone)
    }

    /// The plan `id`, verified, which this person may change (audited refusal otherwise); a plan
    /// cancelled or held is changed no more.
    func mayChange(_ id: PlanID, _ action: AuditEntry.Action) async throws -> TutorialPlan {
        guard
            let plan = try await facts(TutorialPlan.self, about: nil).first(where: { $0.id == id })
        else { throw TutelaError.notFound("there is no plan \(id)") }
        try plan.check(directory: directory)
        guard mayView(plan) else { throw TutelaError.notFound("there is no plan \(id)") }
        guard TutorialPlan.may(principal, plan: plan.learner, in: directory) else {
            try await refuse(
                action, plan.learner.text,
                "only a tutor or a head of centre changes planned tutorials, never with their "
                    + "own family")
        }
        guard plan.status == .planned else {
            throw TutelaError(.exists, "\(id) was \(plan.status.word) already; plan another")
        }
        return plan
    }

    /// Stores `plan` (replacing `current`, which must still be what is stored) with its audit
    /// entry and notices, in one transaction.
    func write(
        _ plan: TutorialPlan, action: AuditEntry.Action, replacing current: TutorialPlan?
    ) async throws -> PlanOutcome {
        let rules = try policy().tutorials
        let days = plan.day.daysSinceEpoch - (try today()).daysSinceEpoch
        let short = plan.status == .planned && days < rules.noticeDays
        let told = notified(plan)
        let entry = auditEntry(
            action, subject: plan.learner.text,
            reason: PlanWords.notice(
                plan, action: action, directory: directory, daysNotice: days,
                shortOf: short ? rules.noticeDays : nil))
        let object = try sign(plan)
        let (identity, directory) = (self.identity, self.directory)
        try await session.write { tx in
            let stored = try await Session.facts(
                TutorialPlan.self, about: plan.learner.text, tx: tx, directory: directory
            ).first { $0.id == plan.id }
            guard stored == current else {
                throw TutelaError.tryAgain(
                    "\(plan.id) was changed meanwhile; nothing was written", hint: "look again")
            }
            try await tx.put(object)
            try await Session.appendAudit(entry, tx: tx, signer: identity, notify: told)
        }
        return PlanOutcome(
            plan: plan, daysNotice: days, shortNotice: short,
            notified: told.subtracting([principal.id]).sorted())
    }

    /// Who is told of `plan`: the learner (when enrolled), their parents or carers where the
    /// learner agreed, the tutor who holds it and the learner's own tutor. That it was held (with
    /// which record) is told to the tutors only: a learner or family told a record id they then
    /// cannot find would learn that it is withheld from them.
    func notified(_ plan: TutorialPlan) -> Set<PrincipalID> {
        var told: Set<PrincipalID> = [plan.tutor]
        // The learner's own tutor — unless they are family (a parent who tutors), who hear only
        // what the learner agreed family should.
        if let tutor = directory.learners[plan.learner]?.tutor,
            !directory.isFamily(tutor, of: plan.learner)
        {
            told.insert(tutor)
        }
        guard plan.status != .held else { return told }
        if let learner = directory.learnerPrincipal(plan.learner), !learner.revoked {
            told.insert(learner.id)
        }
        if plan.tellFamily {
            for parent in directory.learners[plan.learner]?.contacts.parents ?? []
            where directory.principals[parent]?.revoked == false {
                told.insert(parent)
            }
        }
        return told
    }
}

extension Session {
    /// Planning tutorials, as this person.
    public var planning: Planning { Planning(session: self) }
}
