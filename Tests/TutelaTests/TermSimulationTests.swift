import Foundation
import Testing

@testable import Tutela

/// A school term, lived: staff join and leave, a passphrase is lost, a parent is linked, the policy
/// changes, caseloads move, a group key rotates. After every step, and after everyone has run a
/// command, every record still has every reader the policy requires, and nothing a learner or
/// parent is shown mentions a flagged record (issue 20).
@Suite("A term in the life of a school")
struct TermSimulationTests {
    /// The term's people and their current passphrases.
    final class Term: @unchecked Sendable {
        let s: SafeguardingFixture
        var passphrases: [PrincipalID: Passphrase] = [:]
        var active: [PrincipalID] = [
            "office", "price", "jones", "hale", "dsl", "dsl2", "head", "sam",
        ]
        var flagged: Set<RecordID> = []
        var checks = 0

        init(_ s: SafeguardingFixture) { self.s = s }

        func session(_ who: PrincipalID) async throws -> Session {
            try await s.f.vault.unlock(who, passphrase: passphrases[who] ?? Fixture.passphrase(who))
        }

        /// Everyone still here runs a command: the catch-up every CLI command does first.
        func everyoneRunsACommand() async throws {
            for who in active {
                let session = try await session(who)
                _ = try await session.lifecycle.catchUpGroups()
                let granted = try await session.lifecycle.grantPending()
                if session.principal.isFamily {
                    #expect(
                        flagged.isDisjoint(with: granted.map(\.record)), "\(who) told of a grant")
                }
            }
        }

        /// Every reader the policy requires can read every record; officers can disclose flagged
        /// ones; learners and parents see no trace of a flagged record anywhere.
        func check(_ step: String) async throws {
            try await everyoneRunsACommand()
            let office = try await session("office")
            let policy = try #require(office.directory.policy)
            for row in try await s.f.store.labels(learner: nil) {
                let label = try Label.parse(row.labelBytes)
                let state = RecordState(flagged: flagged.contains(label.record))
                for reader in policy.recipients(
                    for: label, state: state, directory: office.directory)
                {
                    let opened = try? await session(reader).open(label.record)
                    #expect(opened != nil, "\(step): \(reader) cannot open \(label.record)")
                }
                if state.flagged {
                    for officer in office.directory.holders(of: .safeguardingOfficer) {
                        let opened = try? await session(officer.id).safeguarding.disclose(
                            label.record, reason: "term check")
                        #expect(
                            opened != nil, "\(step): \(officer.id) cannot disclose \(label.record)")
                    }
                }
                checks += 1
            }
            for who in active {
                let session = try await session(who)
                guard session.principal.isFamily else { continue }
                let seen =
                    try await session.labels(learner: nil).map(\.record)
                    + session.export(learner: "sam").records.map(\.label.record)
                    + session.lifecycle.slotChanges(record: nil).map(\.record)
                    + session.retention.certificates().map(\.certificate.record)
                #expect(flagged.isDisjoint(with: seen), "\(step): \(who) saw a flagged record")
                #expect(
                    try await session.inbox().allSatisfy { notice in
                        !flagged.contains { $0.text == notice.entry.subject }
                    }, "\(step): \(who)'s inbox")
                await expectError(.permissionDenied) { try await session.safeguarding.queue() }
                for record in flagged {
                    let e = await expectError(.notFound) { try await session.open(record) }
                    #expect(e?.message == "there is no record \(record)" && e?.hint == nil)
                }
            }
        }
    }

    @Test(
        "a term: every record keeps every reader the policy requires; families see no trace of a flag"
    )
    func term() async throws {
        let t = Term(try await SafeguardingFixture.make())
        let office = { try await t.session("office").administration }
        // Week 1: a new tutor joins; tutorials and notes are written; the groups exist.
        try await office().enrol(
            "lee", name: "Lee", roles: [.tutor], passphrase: Fixture.passphrase("lee"))
        t.active.append("lee")
        let price = try await t.session("price")
        let shared = try await price.seal(
            try CopyTipOffTests.Scene.family("shared with home"), confidential: false)
        let confidential = try await price.seal(
            Fixture.form(marker: "in confidence"), confidential: true)
        let concern = try await price.seal(Fixture.form(marker: "worrying"), confidential: true)
        let aboutAlex = try await t.session("jones").seal(
            Fixture.form(learner: "alex", marker: "alex"), confidential: false)
        try await t.check("week 1")
        // Week 2: a concern is flagged.
        try await price.safeguarding.flag(concern.record, reason: "CPOMS 6001")
        t.flagged.insert(concern.record)
        try await t.check("flag")
        // Week 3: a parent is linked.
        try await office().enrol(
            "pat", name: "Pat", roles: [.parentCarer], passphrase: Fixture.passphrase("pat"))
        try await office().setContacts("sam", LearnerContacts(parents: ["pat"]))
        t.active.append("pat")
        try await t.check("parent linked")
        #expect(try await t.session("pat").open(shared.record).label.record == shared.record)
        // Week 4: the policy changes: learners now read the informal notes about them too.
        var text = String(decoding: try Fixture.shippedPolicy().text, as: UTF8.self)
        let ilr =
            "      - copies: [ilr]                    # the data officer, when the note is marked for the ILR\n"
        #expect(text.contains(ilr))
        text = text.replacingOccurrences(of: ilr, with: ilr + "      - learner\n")
        _ = try await office().applyPolicy(Array(text.utf8), source: "school-v2.yaml")
        let note = try await t.session("price").seal(
            .informalNote(
                try InformalNote.parse(
                    Array(#"{"learner": "sam", "date": "2026-11-20", "summary": "chat"}"#.utf8),
                    source: "note")), as: .informalNote)
        try await t.check("policy v2")
        #expect(try await t.session("sam").open(note.record).label.record == note.record)
        // Week 5: Jones leaves; Alex moves to Lee first, then Jones is revoked.
        try await office().reassign(
            try await t.session("office").administration.caseload(of: "jones"), to: "lee")
        try await t.check("caseload moved")
        try await office().revoke("jones")
        t.active.removeAll { $0 == "jones" }
        try await t.check("tutor revoked")
        #expect(try await t.session("lee").open(aboutAlex.record).label.record == aboutAlex.record)
        // Week 6: a deputy DSL leaves; the group's key is replaced at a member's next command.
        try await office().revoke("dsl2")
        t.active.removeAll { $0 == "dsl2" }
        try await t.check("deputy DSL revoked")
        // Week 7: Price loses their passphrase and is given new keys.
        let code = try await office().reissue("price")
        let fresh = try Passphrase("price's new passphrase for the term")
        try await t.s.f.vault.activate("price", code: code.text, passphrase: fresh)
        t.passphrases["price"] = fresh
        try await t.check("price re-keyed")
        #expect(
            try await t.session("price").open(confidential.record).label.record
                == confidential.record)
        // Week 8: the heads' group key is rotated by a head.
        try await t.session("head").lifecycle.rotateGroupKey(.headOfCentre)
        try await t.check("heads' key rotated")
        #expect(t.checks >= 8 * 4)
        _ = try await t.s.f.vault.verifyAudit(checkpoint: nil)
    }
}
