import Foundation
import Testing
import TutelaCrypto

@testable import Tutela

/// Red team, eighth pass (2026-12-04): attacks on copies for families, concealment of flagged
/// records from learners and parents, re-grants, group catch-up and caseload reassignment
/// (commit 8948870, issue #20 part 1). Each test performs an attack and asserts the secure
/// outcome; all six landed on 8948870 and are closed.
///
/// Landed on 8948870: familyDisclosureOfFlaggedRecordIsNoRecord (the disclosure path never
/// conceals), familyRegrantOrSlotChangesOfFlaggedRecordIsNoRecord (a hidden record answers `[]`
/// where a missing one answers "there is no record"), familyHoldOrDestroyOfFlaggedRecordIsNoRecord
/// (retention paths refuse with 77, never conceal), familyIsNotToldOfADestructionByDestroy (the
/// destroy path describes a destroyed record to a learner), familyIsNotToldOfABreakGlassRequest
/// (a refused destruction names an open break-glass request to the learner),
/// regrantRacingAFlagGivesNoParentASlot (a re-grant decided before a flag writes a parent's slot
/// onto the flagged record).
@Suite("Red team 8: copies, grants and caseloads")
struct RedTeam8Tests {
    // MARK: - Helpers

    /// The safeguarding centre with Pat, a parent linked to Sam, and Sam's records, one of them
    /// shared with the family and flagged.
    typealias Scene = CopyTipOffTests.Scene

    /// The words a learner or parent must get for a record they may not know of.
    static func none(_ record: RecordID) -> String { "there is no record \(record)" }

    /// A record id with nothing behind it, for comparison.
    static let nowhere: RecordID = "R-ZZZZ-ZZZZ-9999"

    // MARK: - (a) A learner or parent with an account

    @Test(
        "a learner or parent asking to disclose a flagged record is told there is no record, as for an id with nothing behind it"
    )
    func familyDisclosureOfFlaggedRecordIsNoRecord() async throws {
        let scene = try await Scene.make()
        for who: PrincipalID in ["sam", "pat"] {
            let session = try await scene.s.session(who)
            // An id with nothing behind it: 66, "there is no record".
            let missing = await expectError(.notFound) {
                try await session.safeguarding.disclose(Self.nowhere, reason: "curious")
            }
            #expect(missing?.message == Self.none(Self.nowhere))
            // Their own flagged record must get the same words. Today: 77, "may not open … as a
            // disclosure: no rule … lets 'sam' disclose this record" — which an unflagged record
            // answers differently ("the record is not flagged …"), so the flag shows.
            let flagged = await expectError(.notFound) {
                try await session.safeguarding.disclose(scene.flagged.record, reason: "curious")
            }
            #expect(flagged?.message == Self.none(scene.flagged.record), "\(who)")
            let unflagged = await expectError(.permissionDenied) {
                try await session.safeguarding.disclose(scene.shared.record, reason: "curious")
            }
            // One they may see gets the refusal every safeguarding step by a family gets, flagged
            // or not (Policy/Family.swift).
            #expect(unflagged?.message.contains("taken by others") == true)
        }
    }

    @Test(
        "a learner asking what a re-grant would do to a flagged record, or re-granting it, is told there is no record"
    )
    func familyRegrantOrSlotChangesOfFlaggedRecordIsNoRecord() async throws {
        let scene = try await Scene.make()
        for who: PrincipalID in ["sam", "pat"] {
            let session = try await scene.s.session(who)
            await expectError(.notFound) {
                try await session.lifecycle.slotChanges(record: Self.nowhere)
            }
            // Today: `[]` for the flagged record (a record is there, hidden), where an id with
            // nothing behind it throws "there is no record". `policy regrant --pending --record`.
            let pending = await expectError(.notFound) {
                try await session.lifecycle.slotChanges(record: scene.flagged.record)
            }
            #expect(pending?.message == Self.none(scene.flagged.record), "\(who)")
            let regrant = await expectError(.notFound) {
                try await session.lifecycle.regrant(record: scene.flagged.record)
            }
            #expect(regrant?.message == Self.none(scene.flagged.record), "\(who)")
        }
    }

    @Test(
        "a learner asking to hold or destroy a flagged record is told there is no record, as for a missing id"
    )
    func familyHoldOrDestroyOfFlaggedRecordIsNoRecord() async throws {
        let scene = try await Scene.make()
        for who: PrincipalID in ["sam", "pat"] {
            let session = try await scene.s.session(who)
            let missingHold = await expectError(.notFound) {
                try await session.retention.setHold(Self.nowhere, active: true, reason: "x")
            }
            #expect(missingHold?.message == Self.none(Self.nowhere))
            await expectError(.notFound) { try await session.retention.destroy(Self.nowhere) }
            // Today both refuse with 77 ("'sam' may not hold …", "… cannot be destroyed: …"):
            // the record Sam can no longer open or list is there.
            let hold = await expectError(.notFound) {
                try await session.retention.setHold(
                    scene.flagged.record, active: true, reason: "x")
            }
            #expect(hold?.message == Self.none(scene.flagged.record), "\(who)")
            let destroy = await expectError(.notFound) {
                try await session.retention.destroy(scene.flagged.record)
            }
            #expect(destroy?.message == Self.none(scene.flagged.record), "\(who)")
            // The log says what was asked for, refused: a hold and a destruction, not an opening.
            let refused = try await scene.s.actions().suffix(2).map(\.action)
            #expect(refused == [.hold, .destroy], "\(who)")
        }
    }

    @Test("a learner asking to destroy a destroyed record is not told when, or by whom, it was")
    func familyIsNotToldOfADestructionByDestroy() async throws {
        let f = try await Fixture.make()
        let office = try f.session("office")
        try await office.administration.enrol(
            "keeper2", name: "K2", roles: [.recordKeeper],
            passphrase: Fixture.passphrase("keeper2"))
        let label = try await f.session("price").seal(
            Fixture.form(marker: "to be shredded"), confidential: false)
        try await office.administration.learnerLeft(
            "sam", on: #require(CalendarDate("2027-07-20")))
        func on(_ who: PrincipalID) async throws -> Session {
            try await Vault(store: f.store, clock: Clock { midnight("2035-06-01") })
                .unlock(who, passphrase: Fixture.passphrase(who))
        }
        guard case .proposed = try await on("keeper2").retention.destroy(label.record),
            case .destroyed = try await on("hale").retention.destroy(label.record)
        else {
            Issue.record("not destroyed")
            return
        }
        let sam = try await on("sam")
        // Open holds: a destroyed record is "no record" to a learner.
        let opened = await expectError(.notFound) { try await sam.open(label.record) }
        #expect(opened?.message == Self.none(label.record))
        // Destroy does not: "R was already destroyed 2035-06-01T… by hale".
        let destroyed = await expectError(.notFound) {
            try await sam.retention.destroy(label.record)
        }
        #expect(destroyed?.message == Self.none(label.record))
        #expect(destroyed?.message.contains("hale") == false)
    }

    @Test("a learner refused a destruction is not told that a break-glass request is open")
    func familyIsNotToldOfABreakGlassRequest() async throws {
        let scene = try await Scene.make()
        // An officer asks for emergency access to Sam's shared record: nothing Sam may learn.
        _ = try await scene.s.session("dsl").breakGlass.request(
            scene.shared.record, reason: "missing child, police on site")
        for who: PrincipalID in ["sam", "pat"] {
            let session = try await scene.s.session(who)
            // Today: "… cannot be destroyed: a break-glass request is open on the record".
            let refused = await expectError(.permissionDenied) {
                try await session.retention.destroy(scene.shared.record)
            }
            #expect(refused?.message.contains("break-glass") == false, "\(who)")
        }
    }

    // MARK: - (b) Grants written around a flag

    @Test(
        "a re-grant decided just before the record is flagged gives no parent a slot on the flagged record"
    )
    func regrantRacingAFlagGivesNoParentASlot() async throws {
        let s = try await SafeguardingFixture.make()
        let office = try s.f.session("office")
        try await office.administration.enrol(
            "pat", name: "Pat Taylor", roles: [.parentCarer], passphrase: Fixture.passphrase("pat"))
        // A record shared with the family, sealed before Pat is linked: Pat's grant is waiting.
        let record = try await s.session("price").seal(
            try CopyTipOffTests.Scene.family("shared with home"), confidential: false
        ).record
        try await office.administration.setContacts("sam", LearnerContacts(parents: ["pat"]))
        // Price flags it (another process, signed as Price would), landing between the re-grant's
        // decision — read outside its transaction — and the transaction that writes the slots.
        let flagger = try await s.session("price")
        let flag = try flagger.safeguarding.sign(
            SafeguardingFlag(
                record: record, flaggedBy: "price", time: s.f.vault.clock.now(),
                reason: "CPOMS 8802", decidedAt: flagger.directory.statementCount))
        // With the officers' group slot a flag writes, from the data key Price holds.
        let stored0 = try #require(try await s.f.store.record(record))
        let mine = try #require(stored0.slots.first { $0.recipient == .person("price") })
        let key = try mine.open(with: flagger.identity, expecting: record, generation: 1)
        defer { key.wipe() }
        let group = try #require(try flagger.directory.groupToSealTo(.safeguardingOfficer))
        let groupSlot = try Slot.make(
            record: record, generation: 1, key: key, recipient: group.holder,
            to: group.publicKey)
        let granter = try await s.session("price")
        #expect(
            try await granter.lifecycle.slotChanges(record: record).first?.missing == ["pat"])
        await s.f.store.beforeNextTransaction(
            flagger.committedWrite(as: .flag, subject: record.text) { tx in
                try await tx.put(flag)
                try await tx.insert(groupSlot)
            })
        _ = try await granter.lifecycle.grantPending()
        // The flag is there, verified.
        let dsl = try await s.session("dsl")
        #expect(try await dsl.safeguarding.queue().map(\.label.record) == [record])
        // A flagged record carries no slot for a parent: today Pat's slot was written after the
        // flag, and no later command removes it (grantPending acts only on grants to add).
        let stored = try #require(try await s.f.store.record(record))
        #expect(!stored.slots.contains { $0.recipient == .person("pat") })
        _ = try await s.session("price").lifecycle.grantPending()
        let after = try #require(try await s.f.store.record(record))
        #expect(!after.slots.contains { $0.recipient == .person("pat") })
    }
}
