import Foundation
import Testing
import TutelaCrypto

@testable import Tutela

/// Red team 5, part 3: the retention check's counting path (3d84e00).
extension RedTeam5Tests {
    // MARK: - 3. The retention check

    /// A centre where Sam has left and Kim (long gone) is recorded, with one tutorial about Sam.
    static func retentionCentre() async throws -> (Fixture, Label, Session) {
        let f = try await Fixture.make()
        let office = try f.session("office")
        try await office.administration.learnerLeft(
            "sam", on: try #require(CalendarDate("2026-07-01")))
        try await office.administration.addLearner(
            "kim", name: "Kim Lee", tutor: "price", dateOfBirth: CalendarDate("1980-01-01"),
            programme: nil)
        try await office.administration.learnerLeft(
            "kim", on: try #require(CalendarDate("1998-07-01")))
        let price = try f.session("price")
        try await price.refresh()
        let label = try await price.seal(Fixture.form(learner: "sam"), confidential: false)
        _ = try await price.seal(Fixture.form(learner: "alex"), confidential: false)
        let keeper = try await f.vault.unlock("hale", passphrase: Fixture.passphrase("hale"))
        return (f, label, keeper)
    }

    /// Moves `label`'s row to Kim: the label bytes and the learner column both say Kim, so the
    /// counting path's byte comparison with the row passes.
    static func moveRowToKim(_ f: Fixture, _ label: Label) async {
        let moved = Label(
            record: label.record, recordClass: label.recordClass, learner: "kim",
            author: label.author, created: label.created, tutorialDate: label.tutorialDate,
            policyVersion: label.policyVersion, copies: label.copies,
            wording: String(label.envelopeText.split(separator: " – ").first ?? "Tutorial"),
            sealedUnder: label.sealedUnder)
        let bytes = moved.canonical
        let id = label.record
        await f.store.tamper { state in
            state.labels[id] = bytes
            state.learners[id] = "kim"
        }
    }

    @Test("a counting report over a row moved to another learner (bytes and column) is refused")
    func countingReportRowMovedToAnotherLearner() async throws {
        let (f, label, keeper) = try await Self.retentionCentre()
        let asOf = try #require(CalendarDate("2030-01-01"))
        let honest = try await keeper.retention.report(asOf: asOf, listing: [])
        #expect(honest.count(.due) == 0)
        await Self.moveRowToKim(f, label)
        await expectError(.tampered) {
            try await keeper.retention.report(asOf: asOf, listing: [])
        }
        await expectError(.tampered) {
            try await keeper.retention.report(asOf: asOf, listing: [.due]) { _ in }
        }
    }

    @Test("a counting report over a label row cut short after its date is refused")
    func countingReportTrailingGarbage() async throws {
        let (f, label, keeper) = try await Self.retentionCentre()
        let asOf = try #require(CalendarDate("2030-01-01"))
        let stored = try #require(try await f.store.record(label.record))
        // The counting path reads only as far as the created date: cut the rest.
        var r = CanonicalReader(stored.labelBytes, context: "test")
        _ = try r.u8("v")
        _ = try r.slice("record", max: 64)
        _ = try r.slice("class", max: 64)
        _ = try r.slice("learner", max: 64)
        _ = try r.slice("author", max: 64)
        _ = try r.slice("created", max: 10)
        let cut = Array(stored.labelBytes.prefix(r.position))
        await f.store.tamper(record: label.record) {
            StoredRecord(
                record: $0.record, labelBytes: cut, sealedBytes: $0.sealedBytes, slots: $0.slots)
        }
        await expectError(.tampered) {
            try await keeper.retention.report(asOf: asOf, listing: [])
        }
    }

    @Test("one record's retention status is not taken from an edited label row")
    func singleRecordStatusTrustsRow() async throws {
        let (f, label, keeper) = try await Self.retentionCentre()
        let asOf = try #require(CalendarDate("2030-01-01"))
        let honest = try await keeper.retention.status(asOf: asOf, record: label.record)
        #expect(honest.first?.standing == .notDue)
        await Self.moveRowToKim(f, label)
        // The row now says the record is about Kim, who left in 1998: "due for destruction".
        // Refused as tampering, or worked out from the record's verified label (in the in-memory
        // store the listing row is kept apart from the record's own): never from the edited row.
        do {
            let status = try await keeper.retention.status(asOf: asOf, record: label.record)
            #expect(status.map(\.standing) == [.notDue], "taken from the edited row")
            #expect(status.first?.label.learner == "sam")
        } catch let error as TutelaError {
            #expect(error.kind == .tampered, "\(error.message)")
        }
    }

    @Test("a flag written in by someone the policy never let flag the record is not counted as one")
    func retentionCountsForgedFlag() async throws {
        let (f, label, keeper) = try await Self.retentionCentre()
        // On 2036-01-01 Sam's tutorial is due for destruction; flagged, it would go to review.
        let asOf = try #require(CalendarDate("2036-01-01"))
        let honest = try await keeper.retention.report(asOf: asOf, listing: [])
        #expect(honest.count(.tutorial, .due) == 1)
        // Jones (a tutor, neither the author nor Sam's tutor) writes a flag of their own into the
        // database, with the state updated under an audit entry their own key signs.
        let jones = try f.session("jones")
        try await jones.refresh()
        let flag = try jones.sign(
            SafeguardingFlag(
                record: label.record, flaggedBy: "jones", time: 1_795_300_000,
                reason: "keep this one", decidedAt: jones.directory.statementCount))
        try await f.store.transaction(
            jones.committedWrite(as: .flag, subject: label.record.text) { tx in
                try await tx.put(flag)
            })
        // Reading the record itself treats such a flag as tampering...
        await expectError(.tampered) { try await keeper.open(label.record) }
        // ...so the retention check must not silently take it as a flag (counting or full).
        for full in [false, true] {
            do {
                let report =
                    full
                    ? try await keeper.retention.report(asOf: asOf, listing: [.due]) { _ in }
                    : try await keeper.retention.report(asOf: asOf, listing: [])
                #expect(
                    report.count(.tutorial, .due) == 1 && report.count(.tutorial, .review) == 0,
                    "full: \(full): the forged flag moved the record from due to review")
            } catch let error as TutelaError {
                #expect(error.kind == .tampered, "\(error.message)")
            }
        }
    }

    /// Commits `object` (a fact `committer` signed) with the state updated under an audit entry
    /// `committer`'s own key signs: an insider who writes rows and signs what their key can sign.
    static func insiderCommit(
        _ f: Fixture, _ committer: Session, _ object: StoredObject, subject: RecordID
    )
        async throws
    {
        try await committer.refresh()
        try await f.store.transaction(
            committer.committedWrite(as: .hold, subject: subject.text) { tx in
                try await tx.put(object)
            })
    }

    @Test("a hold written in by a tutor (no retention role) is not reported as a hold")
    func retentionCountsForgedHold() async throws {
        let (f, label, keeper) = try await Self.retentionCentre()
        let asOf = try #require(CalendarDate("2036-01-01"))
        let jones = try f.session("jones")
        let hold = try jones.sign(
            Hold(
                record: label.record, active: true, reason: "mine", time: 1_795_300_000,
                by: "jones", decidedAt: f.session("jones").directory.statementCount))
        try await Self.insiderCommit(f, jones, hold, subject: label.record)
        do {
            let report = try await keeper.retention.report(asOf: asOf, listing: [])
            #expect(
                report.count(.tutorial, .due) == 1 && report.count(.tutorial, .held) == 0,
                "a tutor's forged hold is reported as a hold")
        } catch let error as TutelaError {
            #expect(error.kind == .tampered, "\(error.message)")
        }
    }

    @Test(
        "a tombstone written in by a tutor for a record still stored is not reported as destroyed")
    func retentionCountsForgedTombstone() async throws {
        let (f, label, keeper) = try await Self.retentionCentre()
        let asOf = try #require(CalendarDate("2036-01-01"))
        let jones = try f.session("jones")
        let stored = try #require(try await f.store.record(label.record))
        let tombstone = try jones.sign(
            DestructionCertificate(
                record: label.record, labelHash: Hex.encode(try BLAKE2b.hash(stored.labelBytes)),
                ciphertextHash: Hex.encode(try BLAKE2b.hash(stored.envelopeBytes)),
                rule: "forged", time: 1_795_300_000, authoriser: "jones", proposer: "price",
                madeUnder: 1, signature: []))
        try await Self.insiderCommit(f, jones, tombstone, subject: label.record)
        do {
            let report = try await keeper.retention.report(asOf: asOf, listing: [])
            #expect(
                report.count(.tutorial, .due) == 1 && report.count(.tutorial, .destroyed) == 0,
                "a tutor's forged tombstone hides a stored, due record as destroyed")
        } catch let error as TutelaError {
            #expect(error.kind == .tampered, "\(error.message)")
        }
    }
}
