import Foundation
import Testing

@testable import Tutela

/// The eleventh red-team pass (#21: finding things, the verified-log memo, drafts): each attack
/// that landed, as a test.
@Suite("Red team 11")
struct RedTeam11Tests {
    @Test("a label row deleted, or swapped for a copy under a new id, is tampering in every list")
    func labelRows() async throws {
        let (f, labels) = try await FindingTests.scene()
        let flagged = labels[1]
        let dsl = try f.session("dsl")
        let saved = await f.store.base.snapshot()
        // Deleted: the officers' flagged list would be empty.
        await f.store.base.tamper { state in
            state.labels[flagged.record] = nil
            state.learners[flagged.record] = nil
        }
        await expectError(.tampered) {
            try await dsl.finding.records(RecordQuery(flaggedOnly: true))
        }
        await expectError(.tampered) { try await dsl.finding.records(RecordQuery(learner: "sam")) }
        // Swapped for its label under a new id: the count holds, the label's hash does not.
        await f.store.base.restore(saved)
        let forged = Label(
            record: "R-AAAA-BBBB-CCCC", recordClass: flagged.recordClass,
            learner: flagged.learner, author: flagged.author, created: flagged.created,
            tutorialDate: flagged.tutorialDate, policyVersion: flagged.policyVersion,
            copies: flagged.copies, wording: "Confidential tutorial",
            sealedUnder: flagged.sealedUnder)
        await f.store.base.tamper { state in
            state.labels[flagged.record] = nil
            state.learners[flagged.record] = nil
            state.labels[forged.record] = forged.canonical
            state.learners[forged.record] = flagged.learner
        }
        await expectError(.tampered) {
            try await dsl.finding.records(RecordQuery(flaggedOnly: true))
        }
        await expectError(.tampered) { try await dsl.finding.records(RecordQuery(learner: "sam")) }
        // A learner is told it does not verify, and nothing that names a record.
        let told = await expectError(.tampered) {
            try await f.session("sam").finding.records(RecordQuery())
        }
        #expect(told?.message.contains("R-") == false)
    }

    @Test("a log cut back below what this machine verified is refused, not read on trust")
    func memoCut() async throws {
        let f = try await Fixture.make()
        _ = try await f.session("price").seal(Fixture.form(), confidential: false)
        let (_, directory) = try await f.vault.verifiedDirectory()
        let links = try await f.store.links(.audit)
        let memo = VerifiedLog(
            entries: Int64(links.count), head: links[links.count - 1].hash, directory: directory)
        let prefix = try #require(try await memo.sparing(store: f.store, directory: directory))
        // Cut after the memo was found good: the walk never reaches its head.
        let cut = Array(links.dropLast(2))
        await f.store.tamper(chain: .audit) { _ in cut }
        await expectError(.tampered) {
            try await AuditLog.verify(
                store: f.store, directory: directory, checkpoint: nil, pin: nil, sparing: prefix)
        }
    }

    @Test("a template is only for someone who may write, and names only a learner they may list")
    func templates() async throws {
        let f = try await Fixture.make()
        await expectError(.permissionDenied) {
            try await f.session("sam").template(for: .tutorial, learner: "alex")
        }
        await expectError(.permissionDenied) {
            try await f.session("hale").template(for: .tutorial, learner: "sam")
        }
        // Jones may write about Sam, but does not list Sam: no programme, no tutor's name.
        let jones = try f.session("jones").template(for: .tutorial, learner: "sam")
        #expect(!jones.contains("Young Apprenticeship") && !jones.contains("Price"))
        let price = try f.session("price").template(for: .tutorial, learner: "sam")
        #expect(price.contains("Young Apprenticeship") && price.contains("\"Price\""))
    }

    @Test("a family role may not be a break-glass requester (it would see every label)")
    func familyRequester() throws {
        let shipped = try String(decoding: Fixture.shippedPolicy().text, as: UTF8.self)
        let widened = shipped.replacingOccurrences(
            of: "request: [safeguarding-officer]", with: "request: [safeguarding-officer, learner]")
        #expect(widened != shipped)
        #expect(throws: TutelaError.self) {
            try Policy.parse(Array(widened.utf8), source: "widened.yaml")
        }
    }

    @Test("a page far past the end is empty, not a crash")
    func hugePage() async throws {
        let (f, _) = try await FindingTests.scene()
        let page = try await f.session("hale").finding.records(RecordQuery(page: Int.max))
        #expect(page.records.isEmpty && page.total == 4)
    }
}
