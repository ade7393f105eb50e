import Foundation
import Testing

@testable import Tutela

/// Finding things (#21 item 4): records newest first with filters and pages, learners and people
/// listed only as the policy allows, flags seen only by the safeguarding team.
@Suite("Finding records, learners and people")
struct FindingTests {
    static func form(_ learner: LearnerID, date: String, marker: String = "x") throws
        -> ProgressReview
    {
        let json = """
            {"learner": "\(learner)", "date": "\(date)", "course": "Level 2 Diploma",
             "attendance": {"lessons": 40, "absences": 3}, "punctuality": "good",
             "comments": "\(marker)", "copiesTo": ["learner"]}
            """
        return try ProgressReview.parse(Array(json.utf8), source: "test form")
    }

    /// Price writes three for Sam (one confidential), Jones one for Alex; Price flags the middle.
    static func scene() async throws -> (Fixture, [Label]) {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let jones = try f.session("jones")
        var labels: [Label] = []
        labels.append(try await price.seal(form("sam", date: "2026-09-10"), confidential: false))
        labels.append(try await price.seal(form("sam", date: "2026-11-02"), confidential: true))
        labels.append(try await price.seal(form("sam", date: "2026-10-05"), confidential: false))
        labels.append(try await jones.seal(form("alex", date: "2026-11-12"), confidential: false))
        _ = try await price.safeguarding.flag(labels[1].record, reason: "CPOMS 7001")
        return (f, labels)
    }

    @Test("records come newest tutorial first, filtered and paged, with learner names")
    func filtersAndPages() async throws {
        let (f, labels) = try await Self.scene()
        let hale = try f.session("hale")
        let all = try await hale.finding.records(RecordQuery())
        #expect(all.total == 4 && all.pages == 1)
        #expect(
            all.records.map(\.label.record)
                == [labels[3], labels[1], labels[2], labels[0]].map(\.record))
        #expect(all.records.first?.learnerName == "Alex Morgan")
        // A record keeper does not open flagged records: the flag is not shown to them.
        #expect(all.records.allSatisfy { !$0.flagged && !$0.destroyed })

        let sams = try await hale.finding.records(RecordQuery(learner: "sam"))
        #expect(sams.records.map(\.label.learner) == ["sam", "sam", "sam"])
        let byJones = try await hale.finding.records(RecordQuery(author: "jones"))
        #expect(byJones.records.map(\.label.record) == [labels[3].record])
        let confidential = try await hale.finding.records(
            RecordQuery(recordClass: .confidentialTutorial))
        #expect(confidential.records.map(\.label.record) == [labels[1].record])
        let autumn = try await hale.finding.records(
            RecordQuery(from: CalendarDate("2026-10-01"), to: CalendarDate("2026-11-02")))
        #expect(autumn.records.map(\.label.record) == [labels[1].record, labels[2].record])

        let page2 = try await hale.finding.records(RecordQuery(page: 2, perPage: 3))
        #expect(page2.total == 4 && page2.pages == 2 && page2.page == 2)
        #expect(page2.records.map(\.label.record) == [labels[0].record])
        let past = try await hale.finding.records(RecordQuery(page: 9, perPage: 3))
        #expect(past.records.isEmpty && past.total == 4)

        await expectError(.usage) { try await hale.finding.records(RecordQuery(page: 0)) }
        await expectError(.usage) { try await hale.finding.records(RecordQuery(perPage: 1001)) }
        await expectError(.usage) {
            try await hale.finding.records(
                RecordQuery(from: CalendarDate("2026-11-02"), to: CalendarDate("2026-10-01")))
        }
    }

    @Test("only the safeguarding team sees which records are flagged, and lists only those")
    func flagsForOfficers() async throws {
        let (f, labels) = try await Self.scene()
        let dsl = try f.session("dsl")
        let flagged = try await dsl.finding.records(RecordQuery(flaggedOnly: true))
        #expect(flagged.records.map(\.label.record) == [labels[1].record])
        #expect(flagged.records.first?.flagged == true)
        // Officers find a learner's records by label, to ask for break-glass on one.
        let sams = try await dsl.finding.records(RecordQuery(learner: "sam"))
        #expect(sams.total == 3)
        #expect(sams.records.filter(\.flagged).map(\.label.record) == [labels[1].record])

        for who: PrincipalID in ["price", "hale", "head", "sam"] {
            let error = await expectError(.permissionDenied) {
                try await f.session(who).finding.records(RecordQuery(flaggedOnly: true))
            }
            #expect(error?.message.contains("safeguarding team") == true)
            let seen = try await f.session(who).finding.records(RecordQuery())
            #expect(seen.records.allSatisfy { !$0.flagged }, "\(who)")
        }
        // Each refusal is on the log, as the queue's are.
        let refusals = try await f.session("hale").auditLog(record: nil).filter {
            $0.entry.outcome == .denied && $0.entry.reason == "flagged records list"
        }
        #expect(refusals.count == 4)
    }

    @Test("a learner lists their own records, never a flagged one, and no one else's name")
    func learnerList() async throws {
        let (f, labels) = try await Self.scene()
        let sam = try f.session("sam")
        let mine = try await sam.finding.records(RecordQuery())
        // The confidential one is not theirs to read; the flagged one is withheld from family.
        #expect(Set(mine.records.map(\.label.record)) == [labels[0].record, labels[2].record])
        #expect(mine.total == 2)
        #expect(mine.records.allSatisfy { $0.learnerName == "Sam Taylor" && !$0.flagged })
        #expect(sam.finding.learners().map(\.id) == ["sam"])
        #expect(sam.finding.people().map(\.id) == ["sam"])
    }

    @Test("learner and people lists follow the policy's directory section")
    func directoryLists() async throws {
        let (f, _) = try await Self.scene()
        // Record keepers list every learner; a tutor their tutees; a learner themselves.
        #expect(try f.session("hale").finding.learners().map(\.id) == ["alex", "sam"])
        #expect(try f.session("price").finding.learners().map(\.id) == ["sam"])
        #expect(try f.session("hale").finding.learners(tutor: "jones").map(\.id) == ["alex"])
        // A tutor sees Alex's records' labels where the policy lets them, but not Alex's name.
        let price = try await f.session("price").finding.records(RecordQuery(learner: "alex"))
        #expect(price.records.allSatisfy { $0.learnerName == nil })

        // A tutor lists the staff and their tutees' side (Sam), never another family.
        let people = try f.session("price").finding.people()
        #expect(people.count == 7)
        try await f.session("office").administration.enrol(
            "alexmum", name: "Alex's mum", roles: [.parentCarer],
            passphrase: Fixture.passphrase("alexmum"))
        try await f.session("office").administration.setContacts(
            "alex", LearnerContacts(parents: ["alexmum"]))
        let refreshed = try await f.vault.unlock("price", passphrase: Fixture.passphrase("price"))
        #expect(!refreshed.finding.people().contains { $0.id == "alexmum" })
        let jonesNow = try await f.vault.unlock("jones", passphrase: Fixture.passphrase("jones"))
        #expect(jonesNow.finding.people().contains { $0.id == "alexmum" })
        #expect(people.first(where: { $0.id == "dsl" })?.roles == [.safeguardingOfficer])
        #expect(people.allSatisfy { $0.standing == .active })

        // An invitation not yet used is listed as such; a revoked person as revoked.
        let office = try f.session("office")
        _ = try await office.administration.invite(
            "newt", name: "Newt New", roles: [.tutor], lifetimeDays: 7)
        try await office.administration.revoke("jones", confirmed: true)
        try await office.refresh()
        let now = office.finding.people()
        #expect(now.first(where: { $0.id == "newt" })?.standing == .invited)
        #expect(now.first(where: { $0.id == "jones" })?.standing == .revoked)
    }

    @Test("a policy's directory section decides, and may not name learners or families")
    func policySection() throws {
        let shipped = try String(decoding: Fixture.shippedPolicy().text, as: UTF8.self)
        let narrowed = shipped.replacingOccurrences(
            of:
                "  people: [admin, head-of-centre, safeguarding-officer, record-keeper, ilr-officer, tutor]",
            with: "  people: [admin]")
        #expect(narrowed != shipped)
        let policy = try Policy.parse(Array(narrowed.utf8), source: "narrow.yaml")
        #expect(policy.directory.people.map(\.value) == [.admin])

        let family = shipped.replacingOccurrences(
            of: "  learners: [admin,", with: "  learners: [parent-carer, admin,")
        #expect(family != shipped)
        #expect(throws: TutelaError.self) {
            try Policy.parse(Array(family.utf8), source: "family.yaml")
        }
        do {
            _ = try Policy.parse(Array(family.utf8), source: "family.yaml")
        } catch let error as TutelaError {
            #expect(error.message.contains("family.yaml:"))
            #expect(error.message.contains("'parent-carer' may not list"))
        } catch {}
        // Without the section, the declared staff roles apply.
        let start = try #require(shipped.range(of: "directory:\n"))
        let end = try #require(
            shipped.range(of: "\n\n", range: start.upperBound..<shipped.endIndex))
        let without = shipped.replacingCharacters(in: start.lowerBound..<end.upperBound, with: "")
        let defaults = try Policy.parse(Array(without.utf8), source: "defaults.yaml")
        #expect(defaults.directory.line == nil)
        #expect(defaults.directory.people.map(\.value).contains(.tutor))
        #expect(!defaults.directory.learners.map(\.value).contains(.tutor))
    }

    @Test("a flag row deleted to hide a record from the officers' list is caught")
    func deletedFlagIsTampering() async throws {
        let (f, labels) = try await Self.scene()
        let dsl = try f.session("dsl")
        await f.store.base.tamper { state in
            let kind = FactKind.flag.rawValue
            for (id, object) in state.objects[kind] ?? [:]
            where object.key == labels[1].record.text {
                state.objects[kind]?[id] = nil
            }
        }
        await expectError(.tampered) {
            try await dsl.finding.records(RecordQuery(flaggedOnly: true))
        }
    }

    @Test(
        "learners' and people's ids are read in any case; none may differ from another only in case"
    )
    func idsInAnyCase() async throws {
        let (f, labels) = try await Self.scene()
        let hale = try f.session("hale")
        let sams = try await hale.finding.records(RecordQuery(learner: "SAM"))
        #expect(sams.total == 3)
        let byPrice = try await hale.finding.records(RecordQuery(author: "Price"))
        #expect(byPrice.total == 3)
        #expect(hale.finding.learners(tutor: "JONES").map(\.id) == ["alex"])
        // Signing in and sealing with the id typed in capitals: the label carries it as recorded.
        let price = try await f.vault.unlock("PRICE", passphrase: Fixture.passphrase("price"))
        #expect(price.principal.id == "price")
        let label = try await price.seal(Self.form("Sam", date: "2026-11-20"), confidential: false)
        #expect(label.learner == "sam")
        guard case .progressReview(let form) = try await price.open(label.record).content else {
            Issue.record("not a form")
            return
        }
        #expect(form.learner == "sam")
        #expect(labels.count == 4)

        let office = try f.session("office")
        let clash = await expectError(.exists) {
            try await office.administration.addLearner(
                "SAM", name: "Another Sam", tutor: "price", dateOfBirth: nil, programme: nil)
        }
        #expect(clash?.message.contains("only in case") == true)
        await expectError(.exists) {
            try await office.administration.invite("Hale", name: "Another Hale", roles: [.tutor])
        }
        // A sign-in for a learner under their id in another case would never match their records.
        await expectError(.exists) {
            try await office.administration.invite("ALEX", name: "Alex", roles: [.learner])
        }
        try await office.administration.learnerLeft(
            "ALEX", on: #require(CalendarDate("2026-07-20")))
        #expect(office.directory.learners["alex"]?.leftOn != nil)
    }
}
