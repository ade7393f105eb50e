import Foundation
import Testing

@testable import Tutela

/// Copies for learners and families, and everything a learner or parent sees, never tip anyone
/// off that safeguarding material exists (issue 20, failures 2 and 3).
@Suite("Copies and answers that never tip off a learner or family")
struct CopyTipOffTests {
    /// The safeguarding centre with a parent, Pat, linked to Sam, and four of Sam's records by
    /// Price: one shared with parents, one for the learner only, one confidential, and one shared
    /// with parents that is then flagged.
    struct Scene {
        let s: SafeguardingFixture
        let shared: Label
        let learnerOnly: Label
        let confidential: Label
        let flagged: Label

        static func make() async throws -> Scene {
            let s = try await SafeguardingFixture.make()
            let office = try s.f.session("office")
            try await office.administration.enrol(
                "pat", name: "Pat Taylor", roles: [.parentCarer],
                passphrase: Fixture.passphrase("pat"))
            try await office.administration.setContacts("sam", LearnerContacts(parents: ["pat"]))
            let price = try await s.session("price")
            let shared = try await price.seal(try family("shared with home"), confidential: false)
            let learnerOnly = try await price.seal(
                Fixture.form(marker: "for sam"), confidential: false)
            let confidential = try await price.seal(
                Fixture.form(marker: "private"), confidential: true)
            let flagged = try await price.seal(try family("worrying"), confidential: false)
            try await price.safeguarding.flag(flagged.record, reason: "CPOMS 5501")
            return Scene(
                s: s, shared: shared, learnerOnly: learnerOnly, confidential: confidential,
                flagged: flagged)
        }

        /// A form whose copies go to the learner and to parents and carers.
        static func family(_ marker: String) throws -> ProgressReview {
            let json = """
                {"learner": "sam", "date": "2026-11-20", "course": "Level 2 Diploma",
                 "comments": "\(marker)", "copiesTo": ["learner", "parents-carers"]}
                """
            return try ProgressReview.parse(Array(json.utf8), source: "family form")
        }
    }

    @Test(
        "a tutor's copy for a family holds only what the parents may read, and says nothing of the rest"
    )
    func tutorCopyForParents() async throws {
        let scene = try await Scene.make()
        let price = try await scene.s.session("price")
        await expectError(.usage) { try await price.export(learner: "sam") }
        let copy = try await price.export(learner: "sam", for: .parentsCarers)
        #expect(copy.records.map(\.label.record) == [scene.shared.record])
        // The tutor is told, privately, what was left out and why.
        let reasons = Dictionary(uniqueKeysWithValues: copy.leftOut.map { ($0.record, $0.reason) })
        #expect(
            Set(reasons.keys) == [
                scene.learnerOnly.record, scene.confidential.record, scene.flagged.record,
            ])
        #expect(reasons[scene.flagged.record]?.contains("flagged") == true)
        #expect(reasons[scene.confidential.record]?.contains("parent-carer") == true)
        // The log records each record left out.
        let entries = try await scene.s.actions().filter {
            $0.action == .export && $0.outcome == .denied
        }
        #expect(entries.count == 3)
        // A copy for the learner leaves out only the flagged record.
        let forSam = try await price.export(learner: "sam", for: .learner)
        #expect(
            Set(forSam.records.map(\.label.record)) == [
                scene.shared.record, scene.learnerOnly.record, scene.confidential.record,
            ])
        #expect(forSam.leftOut.map(\.record) == [scene.flagged.record])
    }

    @Test("a parent's and a learner's own copies, lists and answers never mention a flagged record")
    func familySeesNoTrace() async throws {
        let scene = try await Scene.make()
        let pat = try await scene.s.session("pat")
        let sam = try await scene.s.session("sam")
        let patCopy = try await pat.export(learner: "sam")
        #expect(patCopy.records.map(\.label.record) == [scene.shared.record])
        #expect(patCopy.leftOut.isEmpty)
        let samCopy = try await sam.export(learner: "sam")
        #expect(!samCopy.records.map(\.label.record).contains(scene.flagged.record))
        #expect(samCopy.leftOut.isEmpty)
        // A parent cannot make a copy "for the learner" to see more.
        await expectError(.permissionDenied) { try await pat.export(learner: "sam", for: .learner) }
        for who in [pat, sam] {
            let labels = try await who.labels(learner: "sam")
            #expect(!labels.map(\.record).contains(scene.flagged.record), "\(who.principal.id)")
            let all = try await who.labels(learner: nil)
            #expect(!all.map(\.record).contains(scene.flagged.record))
            // Every question about the flagged record gets the words for a record that is not there.
            let none = "there is no record \(scene.flagged.record)"
            let opened = await expectError(.notFound) { try await who.open(scene.flagged.record) }
            #expect(opened?.message == none && opened?.hint == nil)
            let explained = await expectError(.notFound) {
                try await who.explain(scene.flagged.record, action: .open)
            }
            #expect(explained?.message == none)
            let flagged = await expectError(.notFound) {
                try await who.safeguarding.flag(scene.flagged.record, reason: "again")
            }
            #expect(flagged?.message == none)
            // The queue is refused to them, in the same words whatever it holds.
            let queue = await expectError(.permissionDenied) { try await who.safeguarding.queue() }
            #expect(queue?.message == "'\(who.principal.id)' may not see the safeguarding queue")
            #expect(try await who.inbox().isEmpty)
        }
        // Staff still see it: the officer's queue, and the tutor's list.
        #expect(
            try await scene.s.session("dsl").safeguarding.queue().map(\.label.record)
                == [scene.flagged.record])
        #expect(
            try await scene.s.session("price").labels(learner: "sam").map(\.record).contains(
                scene.flagged.record))
    }

    @Test("the queue is for those who open flagged records: a tutor or a head is refused it")
    func queueForOfficersOnly() async throws {
        let scene = try await Scene.make()
        for who: PrincipalID in ["price", "head", "hale", "office"] {
            await expectError(.permissionDenied) {
                try await scene.s.session(who).safeguarding.queue()
            }
        }
    }
}
