import Foundation
import Testing

@testable import Tutela

/// What the red team tried against planning (#25), each attack that landed now a test.
@Suite("Planning: attacks")
struct PlanningRedTeamTests {
    func day(_ text: String) throws -> CalendarDate { try #require(CalendarDate(text)) }

    /// A plan `price` signs by hand (as their own code could), filed as a store would.
    func forged(_ session: Session, tutor: PrincipalID = "price", time: Int64 = 1) throws
        -> StoredObject
    {
        try session.sign(
            TutorialPlan(
                id: "TP-0000-0000-0009", learner: "sam", tutor: tutor,
                day: try day("2026-12-02"), startMinute: nil, minutes: 30, place: "",
                tellFamily: false,
                status: .planned, record: nil, revision: 0, by: session.principal.id, time: time,
                reason: "", decidedAt: session.directory.statementCount))
    }

    @Test("a place short in characters but long in bytes, or with direction marks, is refused")
    func longPlace() async throws {
        let c = try await PlanningCentre.make()
        let price = try await c.session("price")
        for place in [
            String(repeating: "🏴󠁧󠁢󠁷󠁬󠁳󠁿", count: 100), "e" + String(repeating: "\u{301}", count: 400),
            "Room \u{202E}4 kcab",
        ] {
            #expect(place.count <= 120)
            await expectError(.usage) {
                try await price.planning.plan(
                    PlanRequest(learner: "sam", day: try day("2026-12-01"), place: place))
            }
        }
        #expect(try await c.f.store.objects(kind: FactKind.plan.rawValue, key: nil).isEmpty)
        // A fact its reader would refuse is never written, whatever made it.
        let long = TutorialPlan(
            id: "TP-0000-0000-0008", learner: "sam", tutor: "price", day: try day("2026-12-02"),
            startMinute: nil, minutes: 30, place: "", tellFamily: false, status: .planned,
            record: nil, revision: 0, by: "price", time: 1,
            reason: String(repeating: "x", count: 5000), decidedAt: price.directory.statementCount)
        await expectError(.usage) { try price.sign(long) }
    }

    @Test("a learner is never told, nor shown, that a plan was held, nor as which record")
    func heldRecordHiddenFromFamily() async throws {
        let c = try await PlanningCentre.make()
        let price = try await c.session("price")
        // Two tutorials held for their plans; one is then flagged (and leaves Sam's list).
        var records: [RecordID] = []
        for day in ["2026-11-21", "2026-11-22"] {
            c.hands.move(to: day)
            let plan = try await price.planning.plan(
                PlanRequest(learner: "sam", day: try self.day(day), tellFamily: true)
            ).plan
            let label = try await price.seal(
                PlanningCentre.form("sam", on: day), confidential: false)
            _ = try await price.planning.held(plan.id, record: label.record)
            records.append(label.record)
        }
        _ = try await price.safeguarding.flag(records[0], reason: "disclosure")
        for who: PrincipalID in ["sam", "pat"] {
            let told = try await c.session(who).inbox().map {
                "\($0.entry.subject ?? "") \($0.entry.reason ?? "")"
            }
            // A record id is a word of its own ("R-…"); a plan id ("TP-…") may hold "R-" inside.
            let named = told.contains { line in
                line.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "-") })
                    .contains { $0.hasPrefix("R-") }
            }
            #expect(!named, "\(who) told a record: \(told)")
            #expect(!told.contains { $0.contains("held") }, "\(who) told it was held")
            // The flagged one's plan looks exactly as the other's: planned, no record.
            let shown = try await c.session(who).planning.plans()
            #expect(shown.map(\.status) == [.planned, .planned], "\(who)")
            #expect(shown.allSatisfy { $0.record == nil && $0.revision == 0 }, "\(who)")
        }
        #expect(try await price.planning.plans().map(\.record) == records)
    }

    @Test("a learner's tutor who is also their parent is told only what the learner agreed")
    func tutorWhoIsAParent() async throws {
        let c = try await PlanningCentre.make()
        let office = try c.f.session("office")
        try await office.administration.enrol(
            "tp", name: "Tutor Parent", roles: [.tutor, .parentCarer],
            passphrase: Fixture.passphrase("tp"))
        try await office.administration.addLearner(
            "ria", name: "Ria Park", tutor: "tp", dateOfBirth: nil, programme: "Diploma")
        try await office.administration.setContacts("ria", LearnerContacts(parents: ["tp"]))
        let head = try await c.session("head")
        let quiet = try await head.planning.plan(
            PlanRequest(learner: "ria", day: try day("2026-12-01"), tutor: "price"))
        #expect(!quiet.notified.contains("tp"))
        #expect(try await c.session("tp").planning.plans().isEmpty)
        let agreed = try await head.planning.plan(
            PlanRequest(
                learner: "ria", day: try day("2026-12-02"), tutor: "price", tellFamily: true))
        #expect(agreed.notified.contains("tp"))
    }

    @Test("a plan is changed or cancelled only by staff who may plan with the learner")
    func whoChanges() async throws {
        let c = try await PlanningCentre.make()
        let price = try await c.session("price")
        let plan = try await price.planning.plan(
            PlanRequest(learner: "kim", day: try day("2026-12-01"), tellFamily: true)
        ).plan
        let before = try await c.f.store.links(.audit).count
        // Kim sees it, so is refused (and audited); Jones and Hale are not shown it at all.
        await expectError(.permissionDenied) {
            try await c.session("kim").planning.cancel(plan.id, reason: "busy")
        }
        #expect(try await c.f.store.links(.audit).count == before + 1)
        for who: PrincipalID in ["jones", "hale"] {
            await expectError(.notFound) {
                try await c.session(who).planning.change(plan.id, place: "Hall", reason: "x")
            }
        }
        #expect(try await price.planning.plans().first?.revision == 0)
    }

    @Test(
        "the tutor a plan names must be a tutor who is not the learner's family — or it is tampering"
    )
    func namedTutor() async throws {
        let c = try await PlanningCentre.make()
        let office = try c.f.session("office")
        try await office.administration.enrol(
            "tp", name: "Tutor Parent", roles: [.tutor, .parentCarer],
            passphrase: Fixture.passphrase("tp"))
        try await office.administration.setContacts("sam", LearnerContacts(parents: ["pat", "tp"]))
        let price = try await c.session("price")
        for tutor: PrincipalID in ["tp", "pat", "hale", "kim"] {
            await expectError(.notFound) {
                try await price.planning.plan(
                    PlanRequest(learner: "sam", day: try day("2026-12-01"), tutor: tutor))
            }
        }
        // Signed by a tutor who may plan, naming a learner as its tutor: never shown.
        let object = try forged(price, tutor: "kim")
        await expectError(.tampered) {
            try FactCodec.read(object, as: TutorialPlan.self, directory: price.directory).fact
                .check(directory: price.directory)
        }
    }

    @Test(
        "a head of centre who is a learner's parent sees their plans only where the learner agreed")
    func headWhoIsAParent() async throws {
        let c = try await PlanningCentre.make()
        let office = try c.f.session("office")
        try await office.administration.enrol(
            "hp", name: "Head Parent", roles: [.headOfCentre, .parentCarer],
            passphrase: Fixture.passphrase("hp"))
        try await office.administration.setContacts("sam", LearnerContacts(parents: ["pat", "hp"]))
        let price = try await c.session("price")
        _ = try await price.planning.plan(PlanRequest(learner: "sam", day: try day("2026-12-01")))
        #expect(try await c.session("hp").planning.plans().isEmpty)
        let agreed = try await price.planning.plan(
            PlanRequest(learner: "sam", day: try day("2026-12-02"), tellFamily: true)
        ).plan
        #expect(try await c.session("hp").planning.plans().map(\.id) == [agreed.id])
        // Kim's plans, not their family's: a head sees them.
        _ = try await price.planning.plan(PlanRequest(learner: "kim", day: try day("2026-12-03")))
        #expect(try await c.session("hp").planning.plans().count == 2)
    }

    @Test("a tutor plans only with learners they may list: anyone else is 'no such learner'")
    func onlyTheirOwn() async throws {
        let c = try await PlanningCentre.make()
        let jones = try await c.session("jones")
        let other = await expectError(.notFound) {
            try await jones.planning.plan(PlanRequest(learner: "sam", day: try day("2026-12-01")))
        }
        let nobody = await expectError(.notFound) {
            try await jones.planning.plan(
                PlanRequest(learner: "nobody", day: try day("2026-12-01")))
        }
        #expect(
            other?.message.replacingOccurrences(of: "sam", with: "X")
                == nobody?.message.replacingOccurrences(of: "nobody", with: "X"))
        _ = try await jones.planning.plan(PlanRequest(learner: "alex", day: try day("2026-12-01")))
    }

    @Test("only a tutorial dated the plan's day, sealed by the planner, not void, holds a plan")
    func heldOnlyByItsTutorial() async throws {
        let c = try await PlanningCentre.make()
        let price = try await c.session("price")
        let plan = try await price.planning.plan(
            PlanRequest(learner: "sam", day: try day("2026-11-21"))
        ).plan
        let lastTerm = try await price.seal(
            PlanningCentre.form("sam", on: "2026-07-01"), confidential: false)
        let note = try await price.seal(
            .informalNote(
                InformalNote.parse(
                    Array(#"{"learner": "sam", "date": "2026-11-21", "summary": "s"}"#.utf8),
                    source: "note")), as: .informalNote)
        let voided = try await price.seal(
            PlanningCentre.form("sam", on: "2026-11-21"), confidential: false)
        try await price.corrections.void(voided.record, reason: "wrong learner")
        for record in [lastTerm.record, note.record, voided.record] {
            await expectError(.usage) { try await price.planning.held(plan.id, record: record) }
        }
        #expect(try await price.planning.plans().first?.status == .planned)
        await expectError(.usage) {
            try await price.planning.checkHeld(plan.id, learner: "sam", day: try day("2026-11-20"))
        }
        await expectError(.usage) {
            try await price.planning.checkHeld(plan.id, learner: "kim", day: try day("2026-11-21"))
        }
    }

    @Test("a signed plan with an impossible time is damage (65), not a crash")
    func impossibleTime() async throws {
        let c = try await PlanningCentre.make()
        let price = try await c.session("price")
        for time in [Int64.min, -1, Int64.max] {
            let object = try forged(price, time: time)
            await expectError(.tampered) {
                try FactCodec.read(object, as: TutorialPlan.self, directory: price.directory)
            }
        }
    }

    @Test(
        "a tutorial planned in the hour the clocks go back is the first; in the skipped hour, an hour on"
    )
    func summerTime() throws {
        let london = "Europe/London"
        // 01:30 on 25 October 2026 happens twice: first in summer time (00:30 UTC).
        #expect(PlanTime.instant(try day("2026-10-25"), minute: 90, zone: london) == 1_792_888_200)
        // 01:30 on 28 March 2027 never happens: read as 02:30 summer time (01:30 UTC).
        #expect(PlanTime.instant(try day("2027-03-28"), minute: 90, zone: london) == 1_806_197_400)
        // An ordinary winter and summer day.
        #expect(PlanTime.instant(try day("2026-12-01"), minute: 600, zone: london) == 1_796_119_200)
        #expect(PlanTime.instant(try day("2027-06-10"), minute: 600, zone: london) == 1_812_618_000)
        #expect(PlanTime.localDay(1_796_083_200 - 1, zone: london) == (try day("2026-11-30")))
    }

    @Test("a line is folded within 75 octets even through one character of many marks")
    func folding() {
        let line = "LOCATION:" + "e" + String(repeating: "\u{301}", count: 200)
        let folded = ICalendar.fold(line)
        for physical in folded.utf8.split(separator: 13) {
            #expect(physical.filter { $0 != 10 }.count <= 75)
        }
        // Unfolded byte by byte (a space before a combining mark is one Character in Swift).
        var bytes = Array(folded.utf8)
        var i = 0
        while i + 2 < bytes.count {
            if bytes[i] == 13, bytes[i + 1] == 10, bytes[i + 2] == 32 {
                bytes.removeSubrange(i..<(i + 3))
            } else {
                i += 1
            }
        }
        #expect(bytes == Array((line + "\r\n").utf8))
    }
}
