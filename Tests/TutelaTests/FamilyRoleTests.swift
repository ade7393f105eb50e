import Foundation
import Testing

@testable import Tutela

/// A parent or carer who also holds a role in the school — the learner's tutor, the home school's
/// contact, a safeguarding officer — is family first: nothing they see, open or are told reveals
/// that their own child's record is flagged, and they take no safeguarding step on it (promise 4).
@Suite("A learner's family who also work in the school")
struct FamilyRoleTests {
    /// Sam's records by Price under the shipped school policy, copies to Sam and the parents: one
    /// shared, one shared and then flagged; `parent` is linked to Sam as a parent or carer.
    struct Scene {
        let s: SafeguardingFixture
        let shared: Label
        let flagged: Label

        static func make(
            parent: PrincipalID, roles: [Role], copiesTo: [String] = ["learner", "parents-carers"],
            policy: String? = nil, homeSchool: Bool = false
        ) async throws -> Scene {
            let s = try await SafeguardingFixture.make()
            let office = try s.f.session("office")
            if let policy {
                try await office.administration.applyPolicy(
                    Fixture.shippedPolicy(policy).text, source: policy)
            }
            try await office.administration.enrol(
                parent, name: "A parent", roles: roles, passphrase: Fixture.passphrase(parent))
            try await office.administration.setContacts(
                "sam", LearnerContacts(parents: [parent], homeSchool: homeSchool ? parent : nil))
            if roles.contains(.safeguardingOfficer) {
                _ = try await s.session("dsl").lifecycle.syncGroup(.safeguardingOfficer)
            }
            let price = try await s.session("price")
            let shared = try await price.seal(try form("shared", copiesTo), confidential: false)
            let flagged = try await price.seal(try form("worrying", copiesTo), confidential: false)
            try await price.safeguarding.flag(flagged.record, reason: "CPOMS 7702")
            return Scene(s: s, shared: shared, flagged: flagged)
        }

        static func form(_ marker: String, _ copiesTo: [String]) throws -> ProgressReview {
            let copies = copiesTo.map { "\"\($0)\"" }.joined(separator: ", ")
            let json = """
                {"learner": "sam", "date": "2026-11-20", "course": "Level 2 Diploma",
                 "comments": "\(marker)", "copiesTo": [\(copies)]}
                """
            return try ProgressReview.parse(Array(json.utf8), source: "form")
        }

        /// What `who` sees of Sam's records: the list, whether any is marked flagged, and the
        /// refusal an open of the flagged one gets, beside one for a record that never existed.
        func expectNothingRevealed(to who: PrincipalID) async throws {
            let session = try await s.session(who)
            let listed = try await session.finding.records(RecordQuery(learner: "sam")).records
            #expect(!listed.contains { $0.flagged })
            #expect(!listed.contains { $0.label.record == flagged.record })
            await expectNoRecord { try await session.open(flagged.record) }
            let told = try await session.inbox().compactMap(\.entry.subject)
            #expect(!told.contains(flagged.record.text))
        }

        /// `body`, about the flagged record, is answered as for an id with nothing behind it.
        func expectNoRecord(_ body: () async throws -> some Any) async {
            let error = await expectError(.notFound) { _ = try await body() }
            #expect(error?.message == "there is no record \(flagged.record)")
        }
    }

    @Test(
        "Sam's tutor who is also Sam's parent: the flagged record is not theirs to see or hear of")
    func tutorParent() async throws {
        let scene = try await Scene.make(parent: "kim", roles: [.tutor, .parentCarer])
        let office = try scene.s.f.session("office")
        try await office.administration.reassign(["sam"], to: "kim", confirmed: true)
        // An officer's disclosure tells the assigned tutor — but not this one.
        _ = try await scene.s.session("dsl").safeguarding.disclose(
            scene.flagged.record, reason: "following up CPOMS 7702")
        try await scene.expectNothingRevealed(to: "kim")
        let kim = try await scene.s.session("kim")
        // The shared record opens as it would for any assigned tutor.
        #expect(try await kim.open(scene.shared.record).label == scene.shared)
        // No safeguarding step on their own child's records: the flagged one is not theirs to know
        // of, and the one they see gets a refusal that names no state.
        await scene.expectNoRecord {
            try await kim.safeguarding.flag(scene.flagged.record, reason: "worried")
        }
        let refused = await expectError(.permissionDenied) {
            try await kim.safeguarding.flag(scene.shared.record, reason: "worried")
        }
        #expect(refused?.message.contains("taken by others") == true)
        // Nor do they write their own child's records.
        do {
            _ = try await kim.seal(Fixture.form(marker: "mine"), confidential: false)
            Issue.record("kim sealed a record about their own child")
        } catch let error as TutelaError {
            #expect(error.kind == .permissionDenied)
            #expect(error.message.contains("another member of staff"))
        }
        // The parent's role is not taken away while they are linked to the learner.
        let kept = await expectError(.usage) {
            try await office.administration.setRoles("kim", [.tutor], confirmed: true)
        }
        #expect(kept?.message.contains("linked to a learner") == true)
        // The tutor of another learner, who is no parent, is unaffected: Jones still writes Alex's.
        let jones = try await scene.s.session("jones")
        _ = try await jones.seal(Fixture.form(learner: "alex", marker: "alex"), confidential: false)
    }

    @Test("the home school's contact who is also the parent (college policy): no flagged copy")
    func homeSchoolParent() async throws {
        let scene = try await Scene.make(
            parent: "hana", roles: [.homeSchool, .parentCarer], copiesTo: ["home-school"],
            policy: "college.yaml", homeSchool: true)
        let hana = try await scene.s.session("hana")
        // The home school's copy of the unflagged record opens.
        #expect(try await hana.open(scene.shared.record).label == scene.shared)
        try await scene.expectNothingRevealed(to: "hana")
    }

    @Test("an officer who is the learner's parent: not told, not in their queue, no step by them")
    func officerParent() async throws {
        // Copies to the parents: the flagged record is one they would read as a parent, so it is
        // not there for them at all.
        let scene = try await Scene.make(
            parent: "dana", roles: [.safeguardingOfficer, .parentCarer])
        try await scene.expectNothingRevealed(to: "dana")
        let dana = try await scene.s.session("dana")
        #expect(try await dana.safeguarding.queue().isEmpty)
        #expect(try await dana.finding.records(RecordQuery(flaggedOnly: true)).records.isEmpty)
        await scene.expectNoRecord {
            try await dana.safeguarding.disclose(scene.flagged.record, reason: "checking")
        }
        // Another officer still has it.
        let dsl = try await scene.s.session("dsl")
        #expect(try await dsl.safeguarding.queue().map(\.label.record) == [scene.flagged.record])
    }

    @Test(
        "an officer who is the parent, of records they see as an officer: the same refusals either way"
    )
    func officerParentSeesLabels() async throws {
        // Copies to the learner only: as an officer (a break-glass requester) they see every
        // label, this one unmarked, and every step is refused in words that name no state.
        let scene = try await Scene.make(
            parent: "dana", roles: [.safeguardingOfficer, .parentCarer], copiesTo: ["learner"])
        let dana = try await scene.s.session("dana")
        let listed = try await dana.finding.records(RecordQuery(learner: "sam")).records
        #expect(Set(listed.map(\.label.record)) == [scene.shared.record, scene.flagged.record])
        #expect(!listed.contains { $0.flagged })
        #expect(try await dana.safeguarding.queue().isEmpty)
        var answers: [[String]] = []
        for record in [scene.shared.record, scene.flagged.record] {
            var words: [String] = []
            for step in [
                { _ = try await dana.safeguarding.disclose(record, reason: "checking") },
                { _ = try await dana.breakGlass.request(record, reason: "checking") },
                { _ = try await dana.open(record) },
            ] as [() async throws -> Void] {
                let error = await expectError(.permissionDenied) { try await step() }
                words.append(error?.message.replacingOccurrences(of: record.text, with: "R") ?? "")
            }
            answers.append(words)
        }
        #expect(answers[0] == answers[1])
        #expect(!answers[1].contains { $0.contains("flag") })
    }

    @Test("a head of centre and record keeper who is the parent: not the record, nor its review")
    func headParent() async throws {
        let scene = try await Scene.make(
            parent: "hugo", roles: [.headOfCentre, .recordKeeper, .parentCarer])
        // A disclosure tells the heads of centre — but not this one — and waits for their review.
        _ = try await scene.s.session("dsl").safeguarding.disclose(
            scene.flagged.record, reason: "following up CPOMS 7702")
        // A head sees every label, but not one of their own child's they would read as a parent
        // and may not: it would stand out.
        try await scene.expectNothingRevealed(to: "hugo")
        let hugo = try await scene.s.session("hugo")
        #expect(try await hugo.open(scene.shared.record).label == scene.shared)
        #expect(try await hugo.safeguarding.reviews().isEmpty)
        let waiting = try await scene.s.session("head").safeguarding.reviews()
        #expect(waiting.map(\.record) == [scene.flagged.record])
        let id = try #require(waiting.first?.id)
        let none = await expectError(.notFound) {
            try await hugo.safeguarding.review(id, outcome: .justified, note: "fine")
        }
        #expect(none?.message == "there is no review \(id)")
        // Nor a retention step on their child's records: others take it.
        let hold = await expectError(.permissionDenied) {
            try await hugo.retention.setHold(scene.shared.record, active: true, reason: "keep")
        }
        #expect(hold?.message.contains("taken by others") == true)
        await scene.expectNoRecord {
            try await hugo.retention.setHold(scene.flagged.record, active: true, reason: "keep")
        }
        let review = await expectError(.permissionDenied) {
            try await hugo.retention.reviewRetention(
                scene.shared.record, keepUntil: nil, reason: "done")
        }
        #expect(review?.message.contains("taken by others") == true)
        // Nor void their child's record (a void takes it from the family's view): refused, and
        // the flagged one is still no record.
        let void = await expectError(.permissionDenied) {
            try await hugo.corrections.void(scene.shared.record, reason: "sealed by mistake")
        }
        #expect(void?.message.contains("taken by others") == true)
        await scene.expectNoRecord {
            try await hugo.corrections.void(scene.flagged.record, reason: "sealed by mistake")
        }
        await scene.expectNoRecord {
            try await hugo.retention.reviewRetention(
                scene.flagged.record, keepUntil: nil, reason: "done")
        }
        // Their retention check leaves their child's records out; another keeper's has them.
        _ = try await scene.s.session("jones").seal(
            Fixture.form(learner: "alex", marker: "alex"), confidential: false)
        let today = try #require(CalendarDate("2026-12-06"))
        let theirs = try await hugo.retention.check(asOf: today).map(\.label.learner)
        #expect(!theirs.contains("sam") && theirs.contains("alex"))
        let hale = try await scene.s.session("hale").retention.check(asOf: today)
        #expect(hale.contains { $0.label.record == scene.flagged.record && $0.flagged })
        // Asked about one record alone, the library answers as the command line does: their
        // child's is refused in the same words flagged or not; someone who keeps no records is
        // refused outright, audited.
        let one = await expectError(.permissionDenied) {
            try await hugo.retention.status(asOf: today, record: scene.shared.record)
        }
        #expect(one?.message.contains("taken by others") == true)
        await scene.expectNoRecord {
            try await hugo.retention.status(asOf: today, record: scene.flagged.record)
        }
        let price = try await scene.s.session("price")
        let tutor = await expectError(.permissionDenied) {
            try await price.retention.status(asOf: today, record: scene.flagged.record)
        }
        #expect(tutor?.message.contains("may not run retention checks") == true)
        await expectError(.permissionDenied) {
            _ = try await price.retention.status(asOf: today)
        }
    }

    @Test("a notice sent before the parent was linked to the learner is no longer shown to them")
    func noticeBeforeLink() async throws {
        let s = try await SafeguardingFixture.make()
        let office = try s.f.session("office")
        try await office.administration.enrol(
            "dana", name: "A parent", roles: [.safeguardingOfficer, .parentCarer],
            passphrase: Fixture.passphrase("dana"))
        _ = try await s.session("dsl").lifecycle.syncGroup(.safeguardingOfficer)
        let price = try await s.session("price")
        // Copies to the parents: once linked, a record they would read as a parent.
        let flagged = try await price.seal(
            Scene.form("worrying", ["learner", "parents-carers"]), confidential: false)
        try await price.safeguarding.flag(flagged.record, reason: "CPOMS 7703")
        let before = try await s.session("dana").inbox().compactMap(\.entry.subject)
        #expect(before.contains(flagged.record.text))
        #expect(
            try await s.session("dana").auditLog(record: nil).contains {
                $0.entry.subject == flagged.record.text
            })
        try await office.administration.setContacts("sam", LearnerContacts(parents: ["dana"]))
        let dana = try await s.session("dana")
        #expect(!(try await dana.inbox().compactMap(\.entry.subject).contains(flagged.record.text)))
        // The whole log leaves their family's records out; one record's log is refused, flagged
        // or not.
        #expect(
            !(try await dana.auditLog(record: nil).contains {
                $0.entry.subject == flagged.record.text
            }))
        _ = await expectError(.permissionDenied) { try await dana.auditLog(record: flagged.record) }
        // And, an officer still, they move the group's slots to a new key, this record's too.
        try await office.administration.revoke("dsl2")
        let summary = try await s.session("dana").lifecycle.rewrapGroup(.safeguardingOfficer)
        #expect(summary.group == "group:safeguarding-officer#2" && summary.slots == 1)
        // Re-encrypting reads every record the group holds: another officer does it.
        _ = await expectError(.permissionDenied) {
            try await s.session("dana").lifecycle.reencryptGroup(.safeguardingOfficer)
        }
    }

    @Test(
        "a head who is the learner's parent hears nothing of a break-glass request on their child's record"
    )
    func headParentBreakGlass() async throws {
        let scene = try await Scene.make(
            parent: "hugo", roles: [.headOfCentre, .recordKeeper, .parentCarer])
        let request = try await scene.s.session("dsl").breakGlass.request(
            scene.shared.record, reason: "child missing, police")
        let hugo = try await scene.s.session("hugo")
        // Given the id, they are refused before anything about the request is said.
        let approve = await expectError(.permissionDenied) {
            try await hugo.breakGlass.approve(request.id)
        }
        #expect(approve?.message.contains("taken by others") == true)
        #expect(approve?.message.contains("expired") == false)
        let describe = await expectError(.permissionDenied) {
            try await hugo.breakGlass.describe(request.id)
        }
        #expect(describe?.message.contains("taken by others") == true)
        // Another approver's refusal is logged against the record, naming the request: it leaves
        // the parent's view of the log with the record's other entries.
        await expectError(.permissionDenied) {
            try await scene.s.session("dsl").breakGlass.approve(request.id)
        }
        let log = try await scene.s.session("hale").auditLog(record: nil)
        let refusal = try #require(
            log.last { $0.entry.action == .breakGlassApprove && $0.entry.outcome == .denied })
        #expect(refusal.entry.subject == scene.shared.record.text)
        #expect(refusal.entry.reason?.hasPrefix(request.id.text) == true)
        let seen = try await hugo.auditLog(record: nil)
        #expect(!seen.contains { ($0.entry.reason ?? "").contains(request.id.text) })
        #expect(!seen.contains { $0.entry.subject == request.id.text })
        // The same words for an open, and once the record is flagged: nothing tells them apart.
        let open = await expectError(.permissionDenied) {
            try await hugo.breakGlass.open(request.id)
        }
        #expect(open?.message == approve?.message)
        try await scene.s.session("price").safeguarding.flag(
            scene.shared.record, reason: "CPOMS 7703")
        for attempt in [
            { _ = try await hugo.breakGlass.approve(request.id) },
            { _ = try await hugo.breakGlass.open(request.id) },
        ] as [() async throws -> Void] {
            let flagged = await expectError(.permissionDenied) { try await attempt() }
            #expect(flagged?.message == approve?.message)
        }
        let flaggedDescribe = await expectError(.permissionDenied) {
            try await hugo.breakGlass.describe(request.id)
        }
        #expect(flaggedDescribe?.message == describe?.message)
    }

    @Test("their own family's records are left out of the re-grant report, whatever they would add")
    func regrantReport() async throws {
        let scene = try await Scene.make(parent: "hugo", roles: [.headOfCentre, .parentCarer])
        // Sam's tutor changes: each of Sam's records now wants a slot for Jones.
        let office = try await scene.s.session("office")
        _ = try await office.administration.reassign(["sam"], to: "jones", confirmed: true)
        let head = try await scene.s.session("head").lifecycle.slotChanges(record: nil)
        #expect(head.contains { $0.record == scene.shared.record })
        let hugo = try await scene.s.session("hugo").lifecycle.slotChanges(record: nil)
        #expect(!hugo.contains { $0.record == scene.shared.record })
        #expect(!hugo.contains { $0.record == scene.flagged.record })
    }
}
