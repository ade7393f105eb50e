import Foundation
import Synchronization
import Testing

@testable import Tutela

/// A clock a test moves: the term passing.
final class Hands: Sendable {
    private let now: Mutex<Int64>

    init(_ day: String, at hour: Int64 = 9) { now = Mutex(Self.time(day, hour)) }

    var clock: Clock { Clock { [self] in now.withLock { $0 } } }

    func move(to day: String, at hour: Int64 = 9) { now.withLock { $0 = Self.time(day, hour) } }

    static func time(_ day: String, _ hour: Int64) -> Int64 {
        Int64(CalendarDate(day)?.daysSinceEpoch ?? 0) * 86_400 + hour * 3600
    }
}

/// The centre with the term under way in the tests' calendar (``TestFiles/calendar``), Kim (a learner who signs in, on a NEET prevention course, tutor Price) and Pat, Sam's parent.
struct PlanningCentre {
    let f: Fixture
    let hands: Hands

    static func make(on day: String = "2026-11-21") async throws -> PlanningCentre {
        let hands = Hands(day)
        let f = try await Fixture.make(clock: hands.clock)
        let office = try f.session("office")
        _ = try await office.administration.applyPolicy(
            TestFiles.policy(tutorials: TestFiles.calendar), source: "school.yaml")
        try await office.administration.addLearner(
            "kim", name: "Kim Lee", tutor: "price", dateOfBirth: nil, programme: "NEET prevention")
        for (id, role) in [("kim", Role.learner), ("pat", .parentCarer), ("ilr", .ilrOfficer)] {
            try await office.administration.enrol(
                PrincipalID(id), name: id.capitalized, roles: [role],
                passphrase: Fixture.passphrase(PrincipalID(id)))
        }
        try await office.administration.setContacts("sam", LearnerContacts(parents: ["pat"]))
        return PlanningCentre(f: f, hands: hands)
    }

    func session(_ who: PrincipalID) async throws -> Session {
        try await f.vault.unlock(who, passphrase: Fixture.passphrase(who))
    }

    /// The reasons of the plan notices in `who`'s inbox, newest first.
    func planNotices(_ who: PrincipalID) async throws -> [String] {
        try await session(who).inbox().filter {
            [.plan, .planChange, .planCancel, .planHeld].contains($0.entry.action)
        }.map { $0.entry.reason ?? "" }
    }

    /// A progress review of `learner` dated `day`, agreeing the next tutorial on `next`.
    static func form(_ learner: LearnerID, on day: String, next: String? = nil) throws
        -> ProgressReview
    {
        let json = """
            {"learner": "\(learner)", "date": "\(day)", "course": "Construction",
             "comments": "PRIVATE-CONTENT-MARKER", "copiesTo": ["learner"]\
            \(next.map { #", "nextTutorial": "\#($0)""# } ?? "")}
            """
        return try ProgressReview.parse(Array(json.utf8), source: "test form")
    }
}

@Suite("Planned tutorials")
struct PlanningTests {
    @Test("a plan tells the learner at once, and the tutors; never another learner")
    func planTellsTheLearner() async throws {
        let c = try await PlanningCentre.make()
        let price = try await c.session("price")
        let outcome = try await price.planning.plan(
            PlanRequest(
                learner: "sam", day: #require(CalendarDate("2026-12-01")), startMinute: 600,
                place: "Room 4"))
        #expect(!outcome.shortNotice)
        #expect(outcome.daysNotice == 10)
        #expect(outcome.notified == ["sam"])
        let told = try await c.planNotices("sam")
        #expect(told.count == 1)
        #expect(told.first?.contains("2026-12-01 at 10:00") == true)
        #expect(told.first?.contains("Room 4") == true)
        // Kim, another learner, is told nothing and sees no plan of Sam's.
        #expect(try await c.planNotices("kim").isEmpty)
        #expect(try await c.session("kim").planning.plans().isEmpty)
        #expect(try await c.session("sam").planning.plans().map(\.id) == [outcome.plan.id])
        // Pat, Sam's parent, only where Sam agreed.
        #expect(try await c.planNotices("pat").isEmpty)
        #expect(try await c.session("pat").planning.plans().isEmpty)
        let family = try await price.planning.plan(
            PlanRequest(
                learner: "sam", day: #require(CalendarDate("2026-12-08")), startMinute: 600,
                place: "Room 4", tellFamily: true))
        #expect(family.notified == ["pat", "sam"])
        #expect(try await c.planNotices("pat").count == 1)
        #expect(try await c.session("pat").planning.plans().map(\.id) == [family.plan.id])
        // Jones, who neither holds it nor tutors Sam, does not see it.
        #expect(try await c.session("jones").planning.plans().isEmpty)
        #expect(try await c.session("head").planning.plans().count == 2)
    }

    @Test("less notice than the policy asks is allowed, and flagged in the notice")
    func shortNotice() async throws {
        let c = try await PlanningCentre.make()
        let outcome = try await c.session("price").planning.plan(
            PlanRequest(learner: "kim", day: #require(CalendarDate("2026-11-24")), startMinute: 540)
        )
        #expect(outcome.shortNotice)
        #expect(outcome.daysNotice == 3)
        #expect(try await c.planNotices("kim").first?.contains("short notice: 3 days") == true)
    }

    @Test("a change and a cancellation tell the learner at once; a cancelled plan changes no more")
    func changeAndCancel() async throws {
        let c = try await PlanningCentre.make()
        let price = try await c.session("price")
        let plan = try await price.planning.plan(
            PlanRequest(
                learner: "kim", day: #require(CalendarDate("2026-12-01")), startMinute: 600,
                place: "Room 4")
        ).plan
        let moved = try await price.planning.change(
            plan.id, startMinute: .some(840), place: "Library", reason: "room booked")
        #expect(moved.plan.revision == 1)
        #expect(try await c.planNotices("kim").first?.contains("at 14:00") == true)
        #expect(try await c.planNotices("kim").first?.contains("Library") == true)
        _ = try await price.planning.cancel(plan.id, reason: "tutor ill")
        #expect(try await c.planNotices("kim").first?.contains("cancelled") == true)
        #expect(try await c.planNotices("kim").count == 3)
        await expectError(.exists) {
            try await price.planning.change(plan.id, place: "Room 5", reason: "again")
        }
        #expect(try await price.planning.plans(learner: "kim").first?.status == .cancelled)
    }

    @Test(
        "only a tutor or a head plans; a learner, a record keeper and a parent are refused, audited"
    )
    func whoPlans() async throws {
        let c = try await PlanningCentre.make()
        let day = try #require(CalendarDate("2026-12-01"))
        for who: PrincipalID in ["hale", "sam", "pat", "dsl"] {
            let before = try await c.f.store.links(.audit).count
            await expectError(.permissionDenied) {
                try await c.session(who).planning.plan(PlanRequest(learner: "sam", day: day))
            }
            let last = try #require(try await c.f.store.links(.audit).last)
            #expect(try await c.f.store.links(.audit).count == before + 1)
            let entry = try AuditEntry.parse(last.body, context: "entry")
            #expect(entry.action == .plan && entry.outcome == .denied && entry.actor == who)
        }
        #expect(try await c.f.store.objects(kind: FactKind.plan.rawValue, key: nil).isEmpty)
        _ = try await c.session("head").planning.plan(PlanRequest(learner: "sam", day: day))
    }

    @Test("a day past, a year ahead, a bad length or a left learner is refused, writing nothing")
    func badPlans() async throws {
        let c = try await PlanningCentre.make()
        let price = try await c.session("price")
        for request in try [
            PlanRequest(learner: "sam", day: #require(CalendarDate("2026-11-20"))),
            PlanRequest(learner: "sam", day: #require(CalendarDate("2027-12-01"))),
            PlanRequest(learner: "sam", day: #require(CalendarDate("2026-12-01")), minutes: 2),
            PlanRequest(
                learner: "sam", day: #require(CalendarDate("2026-12-01")),
                place: String(repeating: "x", count: 121)),
        ] {
            await expectError(.usage) { try await price.planning.plan(request) }
        }
        await expectError(.notFound) {
            try await price.planning.plan(
                PlanRequest(learner: "nobody", day: #require(CalendarDate("2026-12-01"))))
        }
        await expectError(.notFound) {
            try await price.planning.plan(
                PlanRequest(
                    learner: "sam", day: #require(CalendarDate("2026-12-01")), tutor: "hale"))
        }
        #expect(try await c.f.store.objects(kind: FactKind.plan.rawValue, key: nil).isEmpty)
    }

    @Test("a plan edited, deleted or signed by someone who may not plan is tampering (65)")
    func tamperedPlans() async throws {
        let c = try await PlanningCentre.make()
        let price = try await c.session("price")
        let plan = try await price.planning.plan(
            PlanRequest(learner: "sam", day: #require(CalendarDate("2026-12-01")), place: "Room 4")
        ).plan
        let row = try #require(
            try await c.f.store.objects(kind: FactKind.plan.rawValue, key: "sam").first)
        // The place edited in the database.
        var body = row.body
        let at = try #require(
            body.indices.first { Array(body[$0..<min($0 + 6, body.count)]) == Array("Room 4".utf8) }
        )
        body[at + 5] = UInt8(ascii: "5")
        let edited = body
        let kind = row.kind
        await c.f.store.tamper { state in
            state.objects[kind]?[row.id] = StoredObject(
                kind: row.kind, id: row.id, key: row.key, body: edited)
        }
        await expectError(.tampered) { try await c.session("head").planning.plans() }
        // Put back, then deleted: a plan cannot be made to vanish.
        await c.f.store.tamper { state in state.objects[kind]?[row.id] = row }
        #expect(try await c.session("head").planning.plans().map(\.id) == [plan.id])
        await c.f.store.tamper { state in state.objects[kind]?[row.id] = nil }
        await expectError(.tampered) { try await c.session("head").planning.plans() }
        await c.f.store.tamper { state in state.objects[kind]?[row.id] = row }
        // A record keeper's key signs a plan and plants it beside: it verifies as a signature,
        // but they could not plan, so it is never shown or acted on.
        let hale = try await c.session("hale")
        let forged = TutorialPlan(
            id: "TP-0000-0000-0001", learner: "sam", tutor: "price",
            day: try #require(CalendarDate("2026-12-02")), startMinute: nil, minutes: 30,
            place: "", tellFamily: false, status: .planned, record: nil, revision: 0, by: "hale",
            time: 0, reason: "", decidedAt: hale.directory.statementCount)
        let object = try hale.sign(forged)
        await expectError(.tampered) {
            try FactCodec.read(object, as: TutorialPlan.self, directory: hale.directory).fact
                .check(directory: hale.directory)
        }
    }

    @Test("sealing for a plan marks it held, and the form's next tutorial becomes the next plan")
    func sealLinksThePlan() async throws {
        let c = try await PlanningCentre.make()
        let price = try await c.session("price")
        let plan = try await price.planning.plan(
            PlanRequest(learner: "sam", day: #require(CalendarDate("2026-11-21")), startMinute: 600)
        ).plan
        let label = try await price.seal(
            PlanningCentre.form("sam", on: "2026-11-21", next: "2027-01-12"), confidential: false)
        let after = try await price.planning.afterSeal(
            label, plan: plan.id, nextTutorial: CalendarDate("2027-01-12"))
        #expect(after.held?.status == .held)
        #expect(after.held?.record == label.record)
        let next = try #require(after.next)
        #expect(next.plan.day == CalendarDate("2027-01-12") && next.plan.startMinute == nil)
        #expect(try await c.planNotices("sam").first?.contains("time to be agreed") == true)
        // Another seal agreeing the same day plans nothing twice.
        let again = try await price.planning.afterSeal(
            label, plan: nil, nextTutorial: CalendarDate("2027-01-12"))
        #expect(again.next == nil)
        // Only the record's own author links it, and only a record about the plan's learner.
        let other = try await price.planning.plan(
            PlanRequest(learner: "kim", day: #require(CalendarDate("2026-12-01")))
        ).plan
        await expectError(.usage) { try await price.planning.held(other.id, record: label.record) }
    }
}
