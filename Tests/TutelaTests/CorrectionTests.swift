import Foundation
import Testing

@testable import Tutela

/// Corrections without rewriting history (#21 item 2): an author's addendum beside a record, read
/// by the same people and flagged with it; a record sealed by mistake marked void, kept, and left
/// out of every copy.
@Suite("Addenda and void records")
struct CorrectionTests {
    static func sealed(_ f: Fixture, confidential: Bool = false) async throws -> Label {
        try await f.session("price").seal(
            FindingTests.form("sam", date: "2026-10-05"), confidential: confidential)
    }

    @Test("an addendum is the author's own, linked, for the same learner, class and readers")
    func addendum() async throws {
        let f = try await Fixture.make()
        let original = try await Self.sealed(f)
        let price = try f.session("price")
        let added = try await price.corrections.addendum(
            to: original.record, text: "  Attendance was 38 lessons, not 40.\n")
        #expect(added.amends == original.record)
        #expect(added.learner == original.learner && added.recordClass == original.recordClass)
        #expect(added.copies == original.copies && added.author == "price")
        #expect(added.envelopeText.hasPrefix("Addendum to \(original.record) – "))
        #expect(try Label.parse(added.canonical) == added)

        // Opening the original lists it, for its author and for the learner it has a copy for.
        let opened = try await price.open(original.record)
        #expect(opened.addenda.map(\.record) == [added.record])
        #expect(opened.void == nil)
        let sam = try f.session("sam")
        #expect(try await sam.open(original.record).addenda.map(\.record) == [added.record])
        guard case .addendum(let text) = try await sam.open(added.record).content else {
            Issue.record("the addendum opened as something else")
            return
        }
        #expect(text.text == "Attendance was 38 lessons, not 40.")
        let listed = try await f.session("hale").finding.records(RecordQuery(learner: "sam"))
        #expect(listed.records.contains { $0.label.amends == original.record })
    }

    @Test("only the author adds; never to an addendum, a void record, or with no text")
    func addendumRefusals() async throws {
        let f = try await Fixture.make()
        let original = try await Self.sealed(f)
        let price = try f.session("price")
        let jones = try f.session("jones")
        let error = await expectError(.permissionDenied) {
            try await jones.corrections.addendum(to: original.record, text: "not mine")
        }
        #expect(error?.message.contains("author") == true)
        let log = try await f.session("hale").auditLog(record: original.record)
        #expect(log.contains { $0.entry.action == .addendum && $0.entry.outcome == .denied })
        await expectError(.usage) {
            try await price.corrections.addendum(to: original.record, text: " \n")
        }
        await expectError(.invalidInput) {
            try await price.corrections.addendum(to: original.record, text: "bell \u{07}")
        }
        let added = try await price.corrections.addendum(to: original.record, text: "more")
        await expectError(.usage) {
            try await price.corrections.addendum(to: added.record, text: "x")
        }
        try await price.corrections.void(original.record, reason: "wrong learner")
        await expectError(.usage) {
            try await price.corrections.addendum(to: original.record, text: "after the void")
        }
        await expectError(.notFound) {
            try await price.corrections.addendum(to: "R-0000-0000-0000", text: "nothing there")
        }
    }

    @Test("an addendum to a flagged record is flagged with it and hidden from the family")
    func flaggedAddenda() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        // Flagged before the addendum.
        let first = try await Self.sealed(f)
        try await price.safeguarding.flag(first.record, reason: "CPOMS 7002")
        let late = try await price.corrections.addendum(to: first.record, text: "later")
        // Sealed as a flagged record is: no slot for the learner, whose copy it may not be in.
        let lateSlots = try #require(try await f.store.record(late.record)).slots
        #expect(!lateSlots.contains { $0.recipient == .person("sam") })
        #expect(lateSlots.contains { $0.recipient == .person("price") })
        // Flagged after it.
        let second = try await Self.sealed(f)
        let early = try await price.corrections.addendum(to: second.record, text: "sooner")
        try await price.safeguarding.flag(second.record, reason: "CPOMS 7003")

        let queue = try await f.session("dsl").safeguarding.queue().map(\.label.record)
        #expect(Set([late.record, early.record]).isSubset(of: Set(queue)))
        let sam = try f.session("sam")
        for record in [late.record, early.record] {
            await expectError(.notFound) { try await sam.open(record) }
        }
        let seen = try await sam.finding.records(RecordQuery()).records.map(\.label.record)
        #expect(!seen.contains(late.record) && !seen.contains(early.record))
        // The officers open the addenda through a recorded disclosure, as the records.
        let disclosed = try await f.session("dsl").safeguarding.disclose(
            early.record, reason: "strategy meeting")
        #expect(disclosed.label.amends == second.record)
    }

    @Test("a void record is kept, shown as void, and left out of every copy")
    func void() async throws {
        let f = try await Fixture.make()
        let original = try await Self.sealed(f)
        let other = try await Self.sealed(f)
        let price = try f.session("price")
        let statement = try await price.corrections.void(
            original.record, reason: "sealed under the wrong learner")
        #expect(statement.voidedBy == "price")
        let again = await expectError(.exists) {
            try await price.corrections.void(original.record, reason: "twice")
        }
        #expect(again?.message.contains("wrong learner") == true)
        #expect(
            try await price.open(original.record).void?.reason == "sealed under the wrong learner")
        let listed = try await f.session("hale").finding.records(RecordQuery(learner: "sam"))
        #expect(listed.records.first { $0.label.record == original.record }?.void == true)
        #expect(listed.records.first { $0.label.record == other.record }?.void == false)
        let copy = try await f.session("sam").export(learner: "sam")
        #expect(copy.records.map(\.label.record) == [other.record])
        // It may be about another learner: Sam is not shown it at all, as if it did not exist.
        let sam = try f.session("sam")
        await expectError(.notFound) { try await sam.open(original.record) }
        let samsList = try await sam.finding.records(RecordQuery()).records.map(\.label.record)
        #expect(samsList == [other.record])

        // Someone else's record: not a tutor's to void, but a head of centre's.
        await expectError(.permissionDenied) {
            try await f.session("jones").corrections.void(other.record, reason: "not mine")
        }
        try await f.session("head").corrections.void(other.record, reason: "a duplicate")
        let inbox = try await price.inbox()
        #expect(
            inbox.contains { $0.entry.action == .void && $0.entry.subject == other.record.text })
        await expectError(.usage) { try await price.corrections.void(other.record, reason: "  ") }
    }

    @Test("a deleted link, a forged or deleted void, a label amending itself: all tampering")
    func tampering() async throws {
        func scene() async throws -> (Fixture, Label) {
            let f = try await Fixture.make()
            let original = try await Self.sealed(f)
            _ = try await f.session("price").corrections.addendum(to: original.record, text: "more")
            return (f, original)
        }
        do {
            let (f, original) = try await scene()
            await f.store.base.tamper { state in
                state.objects[FactKind.addendumLink.rawValue] = [:]
            }
            await expectError(.tampered) { try await f.session("price").open(original.record) }
        }
        do {
            // A void signed by a tutor who is not the author, written straight into the store.
            let (f, original) = try await scene()
            let jones = try f.session("jones")
            let forged = try jones.sign(
                VoidStatement(
                    record: original.record, voidedBy: "jones", time: 1, reason: "forged",
                    decidedAt: jones.directory.statementCount))
            #expect(throws: TutelaError.self) {
                try FactCodec.read(forged, as: VoidStatement.self, directory: jones.directory).fact
                    .check(label: original, directory: jones.directory)
            }
            await f.store.base.tamper { state in
                state.objects[FactKind.void.rawValue, default: [:]][forged.id] = forged
            }
            await expectError(.tampered) { try await f.session("price").open(original.record) }
        }
        do {
            // The same forged void committed through the state by its insider, under an entry of
            // their own: the learner is told the vault does not match, never shown "no record" —
            // for the record itself, and for its addendum (whose original it names).
            let (f, original) = try await scene()
            let addendum = try await f.session("price").corrections.addendum(
                to: original.record, text: "and more")
            let jones = try f.session("jones")
            let forged = try jones.sign(
                VoidStatement(
                    record: original.record, voidedBy: "jones", time: 1, reason: "forged",
                    decidedAt: jones.directory.statementCount))
            try await f.store.transaction(
                jones.committedWrite(as: .void, subject: original.record.text) { tx in
                    try await tx.put(forged)
                })
            let sam = try f.session("sam")
            for id in [original.record, addendum.record] {
                let error = await expectError(.tampered) { try await sam.open(id) }
                #expect(error?.message == "the vault's records do not match its audit log")
            }
        }
        do {
            // A genuine void deleted: the state no longer matches.
            let (f, original) = try await scene()
            try await f.session("price").corrections.void(original.record, reason: "mistake")
            await f.store.base.tamper { state in state.objects[FactKind.void.rawValue] = [:] }
            await expectError(.tampered) {
                try await f.session("hale").finding.records(RecordQuery())
            }
        }
        let midnightDate = try #require(CalendarDate("2026-10-05"))
        let selfAmending = Label(
            record: "R-1", recordClass: .tutorial, learner: "sam", author: "price",
            created: midnightDate, tutorialDate: midnightDate, policyVersion: "1",
            copies: [], wording: "Addendum", sealedUnder: 1, amends: "R-1")
        #expect(throws: TutelaError.self) { try Label.parse(selfAmending.canonical) }
    }

    @Test("a link to an addendum about another learner is tampering, never a record shown")
    func mismatchedAddendum() async throws {
        let f = try await Fixture.make()
        let original = try await Self.sealed(f)
        // Price, who also writes the database, seals a record about Alex that says it amends
        // Sam's, and links it under Sam's record, committed under an entry of his own.
        let price = try f.session("price")
        let prepared = try await price.prepareSeal(
            [(.progressReview(Fixture.form(learner: "alex")), .tutorial)], amending: original)
        let (record, learner, _, _) = try #require(prepared.records.first)
        #expect(learner == "alex")
        let link = try price.sign(
            AddendumLink(record: original.record, addendum: record.record, author: "price"))
        try await f.store.transaction(
            price.committedWrite(as: .addendum, subject: record.record.text) { tx in
                try await tx.insert(record)
                try await tx.put(link)
            })
        let error = await expectError(.tampered) { try await price.open(original.record) }
        #expect(error?.message.contains("does not match it") == true, "\(error?.message ?? "")")
    }

    @Test("a leaving date is corrected by a signed statement, never before birth or enrolment")
    func leavingDate() async throws {
        let f = try await Fixture.make()
        let office = try f.session("office")
        func date(_ text: String) throws -> CalendarDate { try #require(CalendarDate(text)) }
        await expectError(.invalidInput) {
            try await office.administration.addLearner(
                "kim", name: "Kim Lee", tutor: "price", dateOfBirth: try date("2009-05-01"),
                programme: "Diploma", enrolled: try date("2009-04-01"))
        }
        try await office.administration.addLearner(
            "kim", name: "Kim Lee", tutor: "price", dateOfBirth: try date("2009-05-01"),
            programme: "Diploma", enrolled: try date("2025-09-03"))
        #expect(office.directory.learners["kim"]?.enrolled == (try date("2025-09-03")))
        let early = await expectError(.invalidInput) {
            try await office.administration.learnerLeft("kim", on: try date("2025-07-01"))
        }
        #expect(early?.message.contains("enrolled") == true)
        await expectError(.usage) {
            try await office.administration.correctLeaving(
                "kim", to: try date("2026-06-30"), reason: "not left yet")
        }
        try await office.administration.learnerLeft("kim", on: try date("2026-07-20"))
        try await office.administration.correctLeaving(
            "kim", to: try date("2026-06-30"), reason: "left at half term, not the end of term")
        // Every session that reads the directory afresh agrees.
        let hale = try await f.vault.unlock("hale", passphrase: Fixture.passphrase("hale"))
        #expect(hale.directory.learners["kim"]?.leftOn == (try date("2026-06-30")))
        await expectError(.invalidInput) {
            try await office.administration.correctLeaving(
                "kim", to: try date("2008-01-01"), reason: "typo")
        }
        await expectError(.usage) {
            try await office.administration.correctLeaving(
                "kim", to: try date("2026-06-30"), reason: "same again")
        }
        await expectError(.usage) {
            try await office.administration.correctLeaving("kim", to: nil, reason: "   ")
        }
        await expectError(.permissionDenied) {
            try await f.session("price").administration.correctLeaving(
                "kim", to: nil, reason: "not an administrator")
        }
        try await office.administration.correctLeaving("kim", to: nil, reason: "came back")
        #expect(office.directory.learners["kim"]?.leftOn == nil)
        let log = try await hale.auditLog(record: nil)
        #expect(
            log.filter { $0.entry.action == .learnerLeaveCorrect }.map(\.entry.reason) == [
                "leaving date 2026-06-30: left at half term, not the end of term",
                "leaving date withdrawn: came back",
            ])
    }

    @Test("a record flagged while its addendum is sealed: nothing stored, and again it is flagged")
    func flaggedMeanwhile() async throws {
        let f = try await Fixture.make()
        let original = try await Self.sealed(f)
        let price = try f.session("price")
        let flag = try price.sign(
            SafeguardingFlag(
                record: original.record, flaggedBy: "price", time: 1_795_300_000,
                reason: "CPOMS 7004", decidedAt: price.directory.statementCount))
        await f.store.beforeNextTransaction(
            price.committedWrite(as: .flag, subject: original.record.text) { tx in
                try await tx.put(flag)
            })
        await expectError(.tryAgain) {
            try await price.corrections.addendum(to: original.record, text: "decided unflagged")
        }
        let added = try await price.corrections.addendum(to: original.record, text: "again")
        let sam = try f.session("sam")
        await expectError(.notFound) { try await sam.open(added.record) }
        #expect(try await price.recordState(of: added).flagged)
    }

    @Test(
        "officers see a void and the addenda when they disclose; a copy leaves out an addendum to a void record"
    )
    func everyOpening() async throws {
        let f = try await Fixture.make()
        let original = try await Self.sealed(f)
        let price = try f.session("price")
        let added = try await price.corrections.addendum(to: original.record, text: "more")
        try await price.safeguarding.flag(original.record, reason: "CPOMS 7005")
        try await price.corrections.void(original.record, reason: "wrong learner")
        let disclosed = try await f.session("dsl").safeguarding.disclose(
            original.record, reason: "strategy meeting")
        #expect(disclosed.void?.reason == "wrong learner")
        #expect(disclosed.addenda.map(\.record) == [added.record])

        let g = try await Fixture.make()
        let first = try await Self.sealed(g)
        let gPrice = try g.session("price")
        let more = try await gPrice.corrections.addendum(to: first.record, text: "more")
        try await gPrice.corrections.void(first.record, reason: "a duplicate")
        let copy = try await g.session("sam").export(learner: "sam")
        #expect(!copy.records.contains { [first.record, more.record].contains($0.label.record) })
        let staffCopy = try await gPrice.export(learner: "sam", for: .learner)
        #expect(
            staffCopy.leftOut.contains { $0.record == more.record && $0.reason.contains("void") })
    }
}
