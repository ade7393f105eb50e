import Foundation
import Testing

@testable import Tutela

/// Access that survives time: routine changes never lose a record's required reader (issue 20).
@Suite("Access that survives time")
struct AccessOverTimeTests {
    @Test("re-granting after a parent is linked keeps the officers' slot on a flagged record")
    func regrantKeepsSafeguardingSlot() async throws {
        let scene = try await CopyTipOffTests.Scene.make()
        let s = scene.s
        let office = try s.f.session("office")
        try await office.administration.enrol(
            "kit", name: "Kit Taylor", roles: [.parentCarer], passphrase: Fixture.passphrase("kit"))
        try await office.administration.setContacts(
            "sam", LearnerContacts(parents: ["pat", "kit"]))
        let price = try await s.session("price")
        _ = try await price.lifecycle.regrant(record: nil)
        let group = try #require(price.directory.groups[.safeguardingOfficer])
        let stored = try #require(try await s.f.store.record(scene.flagged.record))
        #expect(stored.slots.contains { $0.recipient == group.holder })
        let opened = try await s.session("dsl").safeguarding.disclose(
            scene.flagged.record, reason: "CPOMS 5501")
        #expect(opened.label.record == scene.flagged.record)
        // The new parent reads the shared record, and still never the flagged one.
        let kit = try await s.session("kit")
        #expect(try await kit.open(scene.shared.record).label.record == scene.shared.record)
        await expectError(.notFound) { try await kit.open(scene.flagged.record) }
    }

    @Test("a learner moves to another tutor: granted at the next command of someone who can open")
    func reassignment() async throws {
        let s = try await SafeguardingFixture.make()
        let office = try s.f.session("office")
        let note = try await s.session("price").seal(
            .informalNote(
                try InformalNote.parse(
                    Array(#"{"learner": "sam", "date": "2026-11-20", "summary": "chat"}"#.utf8),
                    source: "note")), as: .informalNote)
        #expect(office.administration.caseload(of: "price") == ["sam"])
        try await office.administration.reassign(["sam"], to: "jones")
        let after = try await s.session("office")
        #expect(after.administration.caseload(of: "jones").contains("sam"))
        // Waiting, and visible, until someone who can open it runs a command.
        let jones = try await s.session("jones")
        await expectError(.permissionDenied) { try await jones.open(note.record) }
        let waiting = try await s.session("price").lifecycle.slotChanges(record: note.record)
        #expect(waiting.first?.missing == ["jones"])
        let granted = try await s.session("price").lifecycle.grantPending()
        #expect(granted.map(\.record).contains(note.record))
        #expect(try await s.session("jones").open(note.record).label.record == note.record)
        // The audit log has the move, signed.
        #expect(
            try await s.actions().contains { $0.action == .learnerTutor && $0.subject == "sam" })
        // Moving a learner to the tutor they have already moves no one, and writes nothing.
        #expect(try await after.administration.reassign(["sam"], to: "jones").isEmpty)
        await expectError(.usage) { try await office.administration.reassign(["sam"], to: "hale") }
    }

    @Test("revoking a tutor who alone reads records is shown first and needs confirming")
    func revokeNeedsConfirmation() async throws {
        let s = try await SafeguardingFixture.make()
        let office = try s.f.session("office")
        // Alex has no login: Jones's confidential tutorial about Alex is read by Jones alone.
        let only = try await s.session("jones").seal(
            Fixture.form(learner: "alex", marker: "private"), confidential: true)
        let refused = await expectError(.usage) { try await office.administration.revoke("jones") }
        #expect(refused?.message.contains(only.record.text) == true)
        #expect(refused?.hint?.contains("--confirm") == true)
        #expect(refused?.needsConfirmation == true)
        // Nothing changed: Jones still acts.
        #expect(try await s.session("jones").open(only.record).label.record == only.record)
        // Re-keying Jones is shown the same way.
        await expectError(.usage) { try await office.administration.reissue("jones") }
        try await office.administration.revoke("jones", confirmed: true)
        #expect(try await s.session("office").directory.principals["jones"]?.revoked == true)
    }

    @Test("after a re-key, the tutor's records come back at the learner's next command")
    func rekeyedTutorGrantedAgain() async throws {
        let s = try await SafeguardingFixture.make()
        let office = try s.f.session("office")
        let mine = try await s.session("price").seal(
            Fixture.form(marker: "private"), confidential: true)
        // Sam still reads it, so nothing is lost and no confirmation is asked.
        let code = try await office.administration.reissue("price")
        _ = try await s.f.vault.activate(
            "price", code: code.text, passphrase: Fixture.passphrase("price"))
        let price = try await s.session("price")
        await expectError(.permissionDenied) { try await price.open(mine.record) }
        #expect(try await s.session("sam").lifecycle.grantPending().map(\.record) == [mine.record])
        #expect(try await s.session("price").open(mine.record).label.record == mine.record)
    }

    @Test(
        "a record sealed before its policy asked for break-glass gets its shares at a re-grant, once the groups exist"
    )
    func sharesMadeLater() async throws {
        // The centre before its groups exist, under a policy whose tutorials have no break-glass
        // yet: they are sealed without shares.
        let f = try await Fixture.make(groups: false)
        let office = try f.session("office")
        // The shipped policy without the tutorial class's five break-glass lines.
        var lines = String(decoding: try Fixture.shippedPolicy().text, as: UTF8.self).split(
            separator: "\n", omittingEmptySubsequences: false)
        let at = try #require(lines.firstIndex { $0.contains("opening an unflagged record") })
        #expect(lines[at + 4].contains("lifetime-hours"))
        lines.removeSubrange(at..<at + 5)
        _ = try await office.administration.applyPolicy(
            Array(lines.joined(separator: "\n").utf8), source: "no-break-glass.yaml")
        let price = try await f.vault.unlock("price", passphrase: Fixture.passphrase("price"))
        let early = try await price.seal(Fixture.form(), confidential: false)
        #expect(try await f.store.shares(record: early.record).isEmpty)
        // The shipped policy again: tutorials ask for shares, and none can be made yet.
        _ = try await office.administration.applyPolicy(
            Fixture.shippedPolicy().text, source: "school.yaml")
        await expectError(.permissionDenied) {
            try await price.seal(Fixture.form(marker: "refused"), confidential: false)
        }
        try await office.administration.enrol(
            "head", name: "Head", roles: [.headOfCentre], passphrase: Fixture.passphrase("head"))
        // The first command of each group's member makes its key: no hidden step.
        let head = try await f.vault.unlock("head", passphrase: Fixture.passphrase("head"))
        #expect(try await head.lifecycle.catchUpGroups().created.map(\.role) == [.headOfCentre])
        let dsl = try await f.vault.unlock("dsl", passphrase: Fixture.passphrase("dsl"))
        #expect(
            try await dsl.lifecycle.catchUpGroups().created.map(\.role) == [.safeguardingOfficer])
        let changes = try await f.vault.unlock("price", passphrase: Fixture.passphrase("price"))
            .lifecycle.grantPending()
        #expect(changes.map(\.record) == [early.record])
        #expect(changes.first?.missingShares == true)
        #expect(try await f.store.shares(record: early.record).count == 2)
    }
}
