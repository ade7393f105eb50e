import Foundation
import Testing
import TutelaCrypto

@testable import Tutela

/// Red team, tenth pass: attacks on re-grants and the grants every command makes, on strict
/// sealing (no record without the break-glass shares its policy asks for), and on the check that
/// no directory change leaves a record with no reader unconfirmed. Each test performs an attack
/// and asserts the secure outcome.
///
/// Landed on 22581b4 and closed: sealToDueKeyOnlyALeaverHolds (a group whose last member left is
/// given a new member: until that member's first command, flags and break-glass shares are sealed
/// to the old key, which only the leaver holds), reencryptDropsBreakGlassShares (a re-encryption
/// while an approver group's key is due with no member deletes the record's shares and makes
/// none), revokingLastStaffReaderOfFlaggedRecord (with no officer left, the no-reader check
/// counted a learner or parent the flag withholds the record from as its reader),
/// plantedGroupSlotHidesLostReaders (a group
/// slot written onto an unflagged record passes for officers who will re-grant it).
@Suite("Red team 10")
struct RedTeam10Tests {
    static let officers: Role = .safeguardingOfficer

    static func unlock(_ f: Fixture, _ id: PrincipalID) async throws -> Session {
        try await f.vault.unlock(id, passphrase: Fixture.passphrase(id))
    }

    /// An informal support note about Sam: a class whose policy asks for no break-glass.
    static func note(_ marker: String) throws -> RecordContent {
        .informalNote(
            try InformalNote.parse(
                Array(#"{"learner": "sam", "date": "2026-11-21", "summary": "\#(marker)"}"#.utf8),
                source: "note.json"))
    }

    // MARK: - (b) A leaver with an old group key on disk

    @Test(
        "a group's last member leaves and someone else is given the role: until their first command nothing is sealed to the key only the leaver holds"
    )
    func sealToDueKeyOnlyALeaverHolds() async throws {
        let f = try await Fixture.make()
        // The leaver's copy of the officers' key, kept on disk.
        let v1 = try await f.session("dsl").groupKey(Self.officers)
        let office = try f.session("office")
        try await office.administration.revoke("dsl")
        // Jones is made an officer; Jones has no copy of v1 (no one left could give it) and has
        // not run a command yet, so the key is still due: the leaver is its only holder.
        try await office.administration.setRoles("jones", [.tutor, Self.officers])
        let price = try await Self.unlock(f, "price")
        let note = try await price.seal(try Self.note("a worry"), as: .informalNote)
        do {
            try await price.safeguarding.flag(note.record, reason: "CPOMS ref 10")
            #expect(
                try await RedTeam7Tests.opensGroupSlot(f, note.record, with: v1) == false,
                "the revoked DSL's key opens a record flagged after they left")
        } catch let error as TutelaError {
            #expect(error.kind == .notFound, "\(error.message)")
        }
        // A tutorial's officers' share would be sealed to the same key: refused, or not there.
        let old = Recipient.group(Self.officers, version: 1)
        do {
            _ = try await price.seal(Fixture.form(marker: "shares"), confidential: false)
        } catch let error as TutelaError {
            #expect(error.kind == .permissionDenied, "\(error.message)")
            #expect(error.message.contains("safeguarding-officer"), "\(error.message)")
        }
        #expect(try await f.store.shares(holder: old, after: nil, limit: 10).isEmpty)
        // Jones's first command makes the new key, and sealing and flagging resume on it.
        let jones = try await Self.unlock(f, "jones")
        #expect(try await jones.lifecycle.catchUpGroups().rotated.map(\.version) == [2])
        let price2 = try await Self.unlock(f, "price")
        let later = try await price2.seal(try Self.note("later"), as: .informalNote)
        try await price2.safeguarding.flag(later.record, reason: "CPOMS ref 11")
        #expect(try await RedTeam7Tests.opensGroupSlot(f, later.record, with: v1) == false)
        let tutorial = try await price2.seal(Fixture.form(marker: "later"), confidential: false)
        #expect(try await f.store.shares(record: tutorial.record).count == 2)
    }

    // MARK: - Strict sealing

    @Test(
        "a re-encryption while an approver group's key is due with no member is refused, and the record keeps its shares"
    )
    func reencryptDropsBreakGlassShares() async throws {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(
            Fixture.form(marker: "re-sealed"), confidential: false)
        #expect(try await f.store.shares(record: label.record).count == 2)
        // The only head of centre leaves: the heads' key is due, and no one is left to replace it.
        try await f.session("office").administration.revoke("head")
        let price = try await Self.unlock(f, "price")
        do {
            try await price.lifecycle.reencrypt(label.record)
        } catch let error as TutelaError {
            #expect(error.kind == .permissionDenied, "\(error.message)")
        }
        // Today: re-sealed under a fresh key, its old shares deleted and none made.
        #expect(
            try await f.store.shares(record: label.record).count == 2,
            "the record was re-sealed without its break-glass shares")
        // It still opens for its author.
        _ = try await price.open(label.record)
    }

    // MARK: - The no-reader confirmation

    @Test(
        "with no officer left, revoking the last member of staff who reads a flagged record asks for confirmation, whatever its learner and parent hold"
    )
    func revokingLastStaffReaderOfFlaggedRecord() async throws {
        let scene = try await RedTeam8Tests.Scene.make()
        let office = try await scene.s.session("office")
        // While an officer holds the role, the officers read the flagged record (a disclosure):
        // revoking its author is not leaving it readerless.
        // With no officer left, Price — its author and Sam's tutor — is the only member of staff
        // it names; Sam and Pat, whom the flag withholds it from, are no readers of it, slot or
        // no slot.
        for officer: PrincipalID in ["dsl", "dsl2"] {
            try await office.administration.revoke(officer, confirmed: true)
        }
        let refused = await expectError(.usage) {
            try await scene.s.session("office").administration.revoke("price")
        }
        #expect(refused?.needsConfirmation == true)
        #expect(
            refused?.message.contains(scene.flagged.record.text) == true,
            "\(refused?.message ?? "")")
        try await scene.s.session("office").administration.revoke("price", confirmed: true)
    }

    @Test(
        "a group slot written onto an unflagged record does not stand in for officers who will re-grant it"
    )
    func plantedGroupSlotHidesLostReaders() async throws {
        let f = try await Fixture.make()
        let office = try f.session("office")
        try await office.administration.enrol(
            "tutor3", name: "Third Tutor", roles: [.tutor], passphrase: Fixture.passphrase("tutor3")
        )
        // A note about Alex (tutor Jones) by Price, who then leaves: Jones alone can read it.
        let note = try await f.session("price").seal(
            .informalNote(
                try InformalNote.parse(
                    Array(#"{"learner": "alex", "date": "2026-11-21", "summary": "x"}"#.utf8),
                    source: "note.json")), as: .informalNote)
        try await office.refresh()
        try await office.administration.revoke("price")
        // Moving Alex to a new tutor leaves it with no reader until Jones re-grants it, which
        // Jones, no longer named, cannot: asked first.
        let plain = await expectError(.usage) {
            try await office.administration.reassign(["alex"], to: "tutor3")
        }
        #expect(plain?.needsConfirmation == true)
        // Someone with write access plants an officers' group slot on the unflagged record.
        let planted = Slot(
            record: note.record, recipient: .group(Self.officers, version: 1),
            box: [UInt8](repeating: 7, count: 120))
        await f.store.base.tamper(record: note.record) { stored in
            StoredRecord(
                record: stored.record, labelBytes: stored.labelBytes,
                sealedBytes: stored.sealedBytes, slots: stored.slots + [planted])
        }
        let planting = await expectError(.usage) {
            try await office.administration.reassign(["alex"], to: "tutor3")
        }
        #expect(planting?.needsConfirmation == true, "a planted group slot hid the lost reader")
    }
}

/// Red team, state-proof pass (2026-12-05): a long-lived session's memo of audit entries it had
/// already checked.
@Suite("Red team: memoised entries")
struct MemoisedEntryTests {
    @Test(
        "a log cut back under a session that caught up with the directory shows a learner nothing a flag withholds"
    )
    func rolledBackAfterRefresh() async throws {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(Fixture.form(), confidential: true)
        // Sam (a learner, a long-lived session) lists labels: the newest entry is checked once
        // and remembered.
        let sam = try await f.vault.unlock("sam", passphrase: Fixture.passphrase("sam"))
        #expect(try await sam.labels(learner: nil).map(\.record) == [label.record])
        let atSamsRead = await f.store.base.snapshot()
        // The record is flagged; then a directory statement (a new learner) with its entry.
        try await f.session("price").safeguarding.flag(label.record, reason: "CPOMS 77")
        try await f.session("office").administration.addLearner(
            "kit", name: "Kit Lane", tutor: "price", dateOfBirth: nil, programme: nil)
        try await sam.refresh()
        // Someone with the database files puts back everything but the directory as it was at
        // Sam's read: the flag, its entry and the state rows that count it are gone.
        let directory = await f.store.base.tamperRead { $0.chains[.directory] ?? [] }
        await f.store.base.restore(atSamsRead)
        await f.store.base.tamper(chain: .directory) { _ in directory }
        // The entry Sam remembers rests on fewer statements than Sam's directory now holds: it is
        // judged again, in full, and refused — not taken on the memo's word.
        await expectError(.tampered) { try await sam.labels(learner: nil) }
    }
}
