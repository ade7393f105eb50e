import Foundation
import Testing
import TutelaCrypto

@testable import Tutela

/// Seconds since 1970 at midnight UTC on `date`.
func midnight(_ date: String) -> Int64 {
    Int64(CalendarDate(date)?.daysSinceEpoch ?? 0) * 86400
}

@Suite("Retention and destruction")
struct RetentionTests {
    /// Sam (born 2010-03-14) leaves on 2027-07-20: a tutorial about Sam is kept until the later of
    /// 2034-07-20 and 2035-03-14.
    func fixture() async throws -> (Fixture, Label) {
        let f = try await Fixture.make()
        // Every destruction takes two people: Hale and a second record keeper.
        try await f.session("office").administration.enrol(
            "keeper2", name: "K2", roles: [.recordKeeper], passphrase: Fixture.passphrase("keeper2")
        )
        let label = try await f.session("price").seal(
            Fixture.form(marker: "to be shredded"), confidential: false)
        try await f.session("office").administration.learnerLeft(
            "sam", on: #require(CalendarDate("2027-07-20")))
        return (f, label)
    }

    /// The second keeper proposes destroying `record` on `date`, so the next keeper's call agrees.
    func propose(_ f: Fixture, _ record: RecordID, on date: String) async throws {
        guard case .proposed = try await session(f, "keeper2", on: date).retention.destroy(record)
        else {
            Issue.record("one keeper destroyed \(record) alone")
            return
        }
    }

    func session(_ f: Fixture, _ who: PrincipalID, on date: String) async throws -> Session {
        try await Vault(store: f.store, clock: Clock { midnight(date) })
            .unlock(who, passphrase: Fixture.passphrase(who))
    }

    func standing(_ f: Fixture, _ record: RecordID, asOf date: String) async throws
        -> RetentionStatus
    {
        // A fresh session: sessions keep the directory they verified, and the learner left since.
        let keeper = try await f.vault.unlock("hale", passphrase: Fixture.passphrase("hale"))
        let statuses = try await keeper.retention.check(asOf: #require(CalendarDate(date)))
        return try #require(statuses.first { $0.label.record == record })
    }

    @Test(
        "schedules come from the policy and labels: later of leaving + 7 years and date of birth + 25"
    )
    func schedule() async throws {
        let (f, label) = try await fixture()
        #expect(try await standing(f, label.record, asOf: "2030-01-01").standing == .notDue)
        let upcoming = try await standing(f, label.record, asOf: "2035-01-01")
        #expect(upcoming.standing == .upcoming && upcoming.dueOn == CalendarDate("2035-03-14"))
        #expect(upcoming.rule.contains("later of (learner-left + 7 years, dob + 25 years)"))
        #expect(try await standing(f, label.record, asOf: "2035-03-14").standing == .due)
        // Alex has neither left nor a date of birth: undetermined, and it says why.
        let alex = try await f.session("price").seal(
            Fixture.form(learner: "alex"), confidential: false)
        let u = try await standing(f, alex.record, asOf: "2090-01-01")
        #expect(u.standing == .undetermined && u.note?.contains("has not left") == true)
        await expectError(.permissionDenied) {
            try await f.session("price").retention.check(
                asOf: CalendarDate(year: 2030, month: 1, day: 1))
        }
    }

    @Test(
        "a destruction leaves the shred keys of a seal still in flight, and clears its own orphans")
    func inFlightKeys() async throws {
        let (f, label) = try await fixture()
        // A seal stores its shred keys before its records: between the two, a key has no envelope.
        let inFlight = try SecretBytes.random(count: 32)
        defer { inFlight.wipe() }
        try await f.store.putShredKeys([("R-SEAL-ING0-0001", inFlight)])
        let keeper = try await session(f, "hale", on: "2035-06-01")
        try await propose(f, label.record, on: "2035-06-01")
        guard case .destroyed = try await keeper.retention.destroy(label.record) else {
            Issue.record("not destroyed")
            return
        }
        #expect(try await f.store.shredKey("R-SEAL-ING0-0001") != nil)
        #expect(try await f.store.shredKey(label.record.text) == nil)
    }

    @Test(
        "not due, held, or under an open break-glass: destruction refused; due: destroyed with a certificate"
    )
    func destroy() async throws {
        let (f, label) = try await fixture()
        let early = try await session(f, "hale", on: "2035-03-13")
        let notDue = await expectError(.permissionDenied) {
            try await early.retention.destroy(label.record)
        }
        #expect(notDue?.message.contains("not due") == true)
        let keeper = try await session(f, "hale", on: "2035-06-01")
        await expectError(.permissionDenied) {
            try await session(f, "price", on: "2035-06-01").retention.destroy(label.record)
        }
        try await keeper.retention.setHold(label.record, active: true, reason: "inquiry 2035/7")
        #expect(try await standing(f, label.record, asOf: "2035-06-01").standing == .held)
        let held = await expectError(.permissionDenied) {
            try await keeper.retention.destroy(label.record)
        }
        #expect(held?.message.contains("held") == true)
        // What a dry run shows is the decision destroy makes, step by step.
        let heldStep = try await keeper.retention.step(
            for: standing(f, label.record, asOf: "2035-06-01"))
        #expect(heldStep == .refused(try #require(held?.message)))
        try await keeper.retention.setHold(label.record, active: false, reason: "inquiry closed")
        let due = try await standing(f, label.record, asOf: "2035-06-01")
        #expect(try await keeper.retention.step(for: due) == .propose)
        try await propose(f, label.record, on: "2035-06-01")
        #expect(try await keeper.retention.step(for: due) == .agree(proposedBy: "keeper2"))
        let proposer = try await session(f, "keeper2", on: "2035-06-01")
        #expect(try await proposer.retention.step(for: due) == .waiting)
        await expectError(.permissionDenied) {
            try await session(f, "price", on: "2035-06-01").retention.step(for: due)
        }
        guard case .destroyed(let certificate) = try await keeper.retention.destroy(label.record)
        else {
            Issue.record("not destroyed")
            return
        }
        try keeper.retention.verify(certificate)
        #expect(
            certificate.authoriser == "hale" && certificate.proposer == "keeper2"
                && certificate.record == label.record)
        let forged = DestructionCertificate(
            record: certificate.record, labelHash: certificate.labelHash,
            ciphertextHash: certificate.ciphertextHash,
            rule: "made up", time: certificate.time, authoriser: certificate.authoriser,
            proposer: nil, madeUnder: certificate.madeUnder,
            signature: certificate.signature)
        #expect(throws: TutelaError.self) { try keeper.retention.verify(forged) }
        let gone = await expectError(.notFound) {
            try await session(f, "price", on: "2035-06-01").open(label.record)
        }
        #expect(
            gone?.message.contains("destroyed on") == true && gone?.message.contains("hale") == true
        )
        #expect(try await f.store.shredKey(label.record.text) == nil)
        #expect(try await f.store.shares(record: label.record).isEmpty)
        #expect(try await standing(f, label.record, asOf: "2035-06-02").standing == .destroyed)
        _ = try await f.vault.verifyAudit(checkpoint: nil)
        await expectError(.notFound) { try await keeper.retention.destroy(label.record) }
    }

    @Test(
        "a hold placed while a due record is being destroyed stops it: nothing destroyed, and then it is held"
    )
    func holdDuringDestruction() async throws {
        let (f, label) = try await fixture()
        let keeper = try await session(f, "hale", on: "2035-06-01")
        try await keeper.retention.setHold(label.record, active: true, reason: "inquiry 2035/9")
        let hold = try #require(
            await f.store.objects(kind: FactKind.hold.rawValue, key: label.record.text).first)
        try await keeper.retention.setHold(label.record, active: false, reason: "not yet")
        try await propose(f, label.record, on: "2035-06-01")
        // Another keeper's hold lands after this destruction decided (destroy reads its facts in
        // one transaction, decides, and shreds in the next).
        await f.store.beforeNextTransaction(
            skipping: 1, keeper.committedWrite(as: .hold) { tx in try await tx.put(hold) })
        let stopped = await expectError(.tryAgain) {
            try await keeper.retention.destroy(label.record)
        }
        #expect(stopped?.message.contains("changed while it was being destroyed") == true)
        #expect(try await f.store.record(label.record) != nil)
        #expect(try await f.store.shredKey(label.record.text) != nil)
        #expect(
            try await f.store.objects(kind: FactKind.tombstone.rawValue, key: label.record.text)
                .isEmpty)
        // Run again, it decides afresh: held.
        let held = await expectError(.permissionDenied) {
            try await keeper.retention.destroy(label.record)
        }
        #expect(held?.message.contains("held") == true)
        #expect(try await f.vault.verifyAudit(checkpoint: nil).entries > 0)
    }

    @Test(
        "flagged records follow the safeguarding schedule: date of birth + 25, then review, never automatic destruction"
    )
    func flagged() async throws {
        let s = try await SafeguardingFixture.make()
        try await s.f.session("office").administration.learnerLeft(
            "sam", on: #require(CalendarDate("2027-07-20")))
        let label = try await s.session("price").seal(Fixture.form(), confidential: true)
        try await s.session("price").safeguarding.flag(label.record, reason: "ref")
        // An open break-glass request blocks destruction of a record that is otherwise due. (First:
        // time on the log only moves forward.)
        let other = try await s.session("price").seal(Fixture.form(), confidential: true)
        _ = try await s.session("dsl", at: midnight("2035-06-01")).breakGlass.request(
            other.record, reason: "x")
        let blocked = await expectError(.permissionDenied) {
            try await session(s.f, "hale", on: "2035-06-01").retention.destroy(other.record)
        }
        #expect(blocked?.message.contains("break-glass") == true)
        let status = try await standing(s.f, label.record, asOf: "2035-06-01")
        #expect(status.standing == .review && status.flagged)
        let keeper = try await session(s.f, "hale", on: "2035-06-01")
        await expectError(.permissionDenied) { try await keeper.retention.destroy(label.record) }
        try await keeper.retention.reviewRetention(
            label.record, keepUntil: CalendarDate("2040-01-01"), reason: "open case")
        #expect(try await standing(s.f, label.record, asOf: "2035-06-01").standing == .notDue)
        await expectError(.permissionDenied) {
            try await keeper.retention.reviewRetention(
                label.record, keepUntil: nil, reason: "not due for review now")
        }
        #expect(try await standing(s.f, label.record, asOf: "2040-01-01").standing == .review)
        try await session(s.f, "hale", on: "2040-01-01").retention.reviewRetention(
            label.record, keepUntil: nil, reason: "closed")
        #expect(try await standing(s.f, label.record, asOf: "2040-01-01").standing == .due)
        guard
            case .proposed = try await session(s.f, "hale", on: "2040-01-01").retention.destroy(
                label.record),
            case .destroyed = try await session(s.f, "head", on: "2040-01-01").retention.destroy(
                label.record)
        else {
            Issue.record("a reviewed, due record was not destroyed")
            return
        }
    }

    @Test(
        "the report counts every record by class and standing and keeps only the standings listed, soonest due first"
    )
    func report() async throws {
        let (f, sam) = try await fixture()
        // Two tutorials about Sam: due 2035-03-14. One about Alex (who has neither left nor a date
        // of birth): undetermined.
        let note = try await f.session("price").seal(
            Fixture.form(marker: "a chat"), confidential: false)
        let alex = try await f.session("price").seal(
            Fixture.form(learner: "alex"), confidential: false)
        let keeper = try await f.vault.unlock("hale", passphrase: Fixture.passphrase("hale"))
        let asOf = try #require(CalendarDate("2036-01-01"))
        let statuses = try await keeper.retention.check(asOf: asOf)
        var streamed: [RetentionStatus] = []
        let report = try await keeper.retention.report(asOf: asOf, listing: [.due]) {
            streamed.append($0)
        }
        #expect(streamed == statuses)
        #expect(report.total == 3)
        #expect(report.count(.due) == 2 && report.count(.undetermined) == 1)
        #expect(report.count(.tutorial, .due) == 2)
        #expect(report.count(.informalNote, .due) == 0 && report.classes == [.tutorial])
        let due = report.records(.due)
        #expect(Set(due.map(\.label.record)) == [sam.record, note.record])
        #expect(due.map(\.dueOn) == due.map(\.dueOn).sorted { ($0 ?? asOf) < ($1 ?? asOf) })
        // Not listed: counted, never kept.
        #expect(report.records(.undetermined).isEmpty)
        #expect(!report.records(.due).contains { $0.label.record == alex.record })
        // Only a record keeper may run it, and the refusal is the check's own.
        await expectError(.permissionDenied) {
            try await f.session("price").retention.report(asOf: asOf, listing: [.due])
        }
    }

    @Test(
        "a report that only counts agrees with one that reads every label, and refuses any altered label byte"
    )
    func countingReport() async throws {
        let (f, sam) = try await fixture()
        let price = try f.session("price")
        let flagged = try await price.seal(Fixture.form(marker: "a worry"), confidential: false)
        try await price.safeguarding.flag(flagged.record, reason: "CPOMS 17")
        let held = try await price.seal(Fixture.form(marker: "held"), confidential: false)
        _ = try await price.seal(Fixture.form(learner: "alex"), confidential: true)
        let keeper = try await f.vault.unlock("hale", passphrase: Fixture.passphrase("hale"))
        try await keeper.retention.setHold(held.record, active: true, reason: "inquiry 3")
        for asOf in ["2030-01-01", "2034-12-20", "2036-01-01", "2080-01-01"] {
            let date = try #require(CalendarDate(asOf))
            // With `each`, every label is read; without, the standings not listed are counted.
            let full = try await keeper.retention.report(asOf: date, listing: [.due]) { _ in }
            let counted = try await keeper.retention.report(asOf: date, listing: [.due])
            #expect(counted.total == full.total && full.total == 4)
            for c in RecordClass.allCases {
                for s in RetentionStatus.Standing.allCases {
                    #expect(counted.count(c, s) == full.count(c, s), "\(asOf) \(c) \(s)")
                }
            }
            #expect(counted.records(.due) == full.records(.due))
        }
        // Every byte of a label row flipped in turn: the counting report refuses every one.
        let stored = try #require(try await f.store.record(sam.record))
        var refused = 0
        for i in stored.labelBytes.indices {
            var flipped = stored.labelBytes
            flipped[i] ^= 0x01
            let label = flipped
            await f.store.tamper(record: sam.record) { r in
                StoredRecord(
                    record: r.record, labelBytes: label, sealedBytes: r.sealedBytes,
                    slots: r.slots)
            }
            let error = await expectError(.tampered) {
                try await keeper.retention.report(
                    asOf: #require(CalendarDate("2036-01-01")), listing: [.due])
            }
            if error != nil { refused += 1 }
        }
        #expect(refused == stored.labelBytes.count)
    }

    @Test("a hold stands after its keeper leaves; a release written in by a tutor is refused")
    func holdJudgedByItsDirectory() async throws {
        let (f, label) = try await fixture()
        let asOf = try #require(CalendarDate("2036-01-01"))
        try await f.session("hale").retention.setHold(
            label.record, active: true, reason: "inquiry 5")
        try await f.session("office").administration.revoke("hale")
        let keeper = try await f.vault.unlock("keeper2", passphrase: Fixture.passphrase("keeper2"))
        #expect(
            try await keeper.retention.status(asOf: asOf, record: label.record).map(\.standing)
                == [.held])
        // Jones (a tutor) writes in a release, committed by an audit entry of their own.
        let jones = try f.session("jones")
        let release = try jones.sign(
            Hold(
                record: label.record, active: false, reason: "over", time: 1_795_300_100,
                by: "jones", decidedAt: jones.directory.statementCount))
        try await RedTeam5Tests.insiderCommit(f, jones, release, subject: label.record)
        await expectError(.tampered) {
            try await keeper.retention.status(asOf: asOf, record: label.record)
        }
        await expectError(.tampered) { try await keeper.retention.destroy(label.record) }
        #expect(try await f.store.record(label.record) != nil)
    }

    @Test("every destruction takes two people: one keeper proposes, a second keeper agrees")
    func secondKeeper() async throws {
        let (f, label) = try await fixture()
        let first = try await session(f, "hale", on: "2035-06-01")
        guard case .proposed = try await first.retention.destroy(label.record) else {
            Issue.record("destroyed by one keeper")
            return
        }
        await expectError(.permissionDenied) {
            try await session(f, "hale", on: "2035-06-01").retention.destroy(label.record)
        }
        // Hale's clock was set forward; Keeper 2's is right (2030): nothing is destroyed, and the
        // log says the clocks disagree.
        await expectError(.tryAgain) {
            try await session(f, "keeper2", on: "2030-01-01").retention.destroy(label.record)
        }
        #expect(try await f.store.record(label.record) != nil)
        guard
            case .destroyed(let c) = try await session(f, "keeper2", on: "2035-06-01").retention
                .destroy(
                    label.record)
        else {
            Issue.record("not destroyed by the second keeper")
            return
        }
        #expect(c.proposer == "hale" && c.authoriser == "keeper2")
    }

    @Test("date arithmetic: 29 February plus years")
    func leapYears() throws {
        #expect(
            try #require(CalendarDate("2008-02-29")).adding(years: 25) == CalendarDate("2033-02-28")
        )
        #expect(
            try #require(CalendarDate("2008-02-29")).adding(years: 4) == CalendarDate("2012-02-29"))
        let rule = RetentionRule.earlierOf([
            .after(.created, years: 3), .after(.learnerLeft, years: 1),
        ])
        let facts = RetentionFacts(
            created: try #require(CalendarDate("2026-01-01")), learnerLeft: nil, dateOfBirth: nil)
        #expect(rule.end(facts) == CalendarDate("2029-01-01"))
    }

    @Test(
        "a proposal made before a corrected leaving date moved the record's period on no longer counts"
    )
    func staleProposal() async throws {
        let (f, label) = try await fixture()
        try await propose(f, label.record, on: "2035-06-01")
        // The leaving date was wrong: Sam left in 2030, so the record is not due until 2037.
        try await session(f, "office", on: "2035-06-02").administration.correctLeaving(
            "sam", to: #require(CalendarDate("2030-01-01")), reason: "left in 2030, not 2027")
        #expect(try await standing(f, label.record, asOf: "2035-06-02").standing != .due)
        // Due again in 2037: the first keeper's call is a new proposal, not agreement with the old.
        guard
            case .proposed = try await session(f, "hale", on: "2037-02-01").retention.destroy(
                label.record)
        else {
            Issue.record("destroyed on a proposal made about a record that was not due")
            return
        }
        guard
            case .destroyed = try await session(f, "keeper2", on: "2037-02-01").retention.destroy(
                label.record)
        else {
            Issue.record("the second person's agreement did not destroy it")
            return
        }
    }
}
