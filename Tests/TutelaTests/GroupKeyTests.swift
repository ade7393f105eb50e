import Testing
import TutelaCrypto
import TutelaTesting

@testable import Tutela

/// #19: a group's key is made by one of its own members, in their own process. An administrator
/// queues a replacement when someone leaves, and never holds a group's private key.
@Suite("Group keys made by a member")
struct GroupKeyTests {
    /// Every member box in the store, by id.
    static func boxes(_ f: Fixture) async throws -> [String] {
        try await f.store.objects(kind: ObjectKind.groupMember, key: nil).map(\.id).sorted()
    }

    /// `statement`, signed by `signer` and committed by the office as if by Tutela: what an insider
    /// with a key and write access to the store could add to the directory.
    static func forge(_ statement: DirectoryStatement, signer: Identity, in f: Fixture)
        async throws
    {
        let office = try f.session("office")
        try await office.refresh()
        let write = RedTeam5Tests.statementWrite(statement, signer: signer, committer: office)
        try await f.store.transaction { tx in try await write(tx) }
    }

    @Test("an administrator who does not hold the role cannot make its key; its first holder does")
    func firstHolderMakesIt() async throws {
        // The centre before any group has a key.
        let f = try await Fixture.make(groups: false)
        await expectError(.permissionDenied) {
            try await f.session("office").lifecycle.createGroupKey(.safeguardingOfficer)
        }
        await expectError(.permissionDenied) {
            try await f.session("price").lifecycle.createGroupKey(.safeguardingOfficer)
        }
        #expect(try await Self.boxes(f).isEmpty)
        let dsl = try f.session("dsl")
        let group = try await dsl.lifecycle.createGroupKey(.safeguardingOfficer)
        #expect(group.holder == "group:safeguarding-officer#1" && group.rotationDue == nil)
        #expect(try await Self.boxes(f) == ["group:safeguarding-officer#1/dsl"])
        // The published key is the one in the member's box, and the statement is the member's.
        #expect(try await dsl.groupKey(.safeguardingOfficer).publicKey == group.publicKey)
        let last = try #require(try await f.store.lastLink(.directory))
        #expect(last.signer == "dsl")
        await expectError(.exists) {
            try await dsl.lifecycle.createGroupKey(.safeguardingOfficer)
        }
    }

    /// Version 1 is a group's first key, forged into a centre whose groups have none yet; version
    /// 2 replaces the key the centre's officer made.
    @Test(
        "a group key statement signed by an administrator, not a holder, is tampering",
        arguments: [1, 2])
    func adminSignedGroupKeyRefused(version: Int) async throws {
        let f = try await Fixture.make(groups: version > 1)
        let key = try KeyAgreementPrivateKey()
        try await Self.forge(
            .groupKey(role: .safeguardingOfficer, version: version, publicKey: key.publicKey.bytes),
            signer: try f.session("office").identity, in: f)
        await expectError(.tampered) { _ = try await f.vault.verifiedDirectory() }
    }

    @Test(
        "control: the same forged write, signed by a current holder, is accepted",
        arguments: [1, 2])
    func holderSignedAccepted(version: Int) async throws {
        let f = try await Fixture.make(groups: version > 1)
        let key = try KeyAgreementPrivateKey()
        try await Self.forge(
            .groupKey(role: .safeguardingOfficer, version: version, publicKey: key.publicKey.bytes),
            signer: try f.session("dsl").identity, in: f)
        let (_, directory) = try await f.vault.verifiedDirectory()
        #expect(directory.groups[.safeguardingOfficer]?.publicKey == key.publicKey)
    }

    /// How a member's key stops counting for a group.
    enum Departure: String, CaseIterable, Sendable {
        case revoked, leftTheRole, rekeyed, reissued
    }

    @Test(
        "a revoked, former, re-keyed or reissued member's old key cannot publish a group key",
        arguments: Departure.allCases)
    func leaverCannotPublish(departure: Departure) async throws {
        let f = try await Fixture.make()
        let office = try f.session("office")
        try await office.administration.enrol(
            "dsl2", name: "Second Officer", roles: [.safeguardingOfficer],
            passphrase: Fixture.passphrase("dsl2"))
        let dsl2 = try await f.vault.unlock("dsl2", passphrase: Fixture.passphrase("dsl2"))
        // A member who holds the group's key: the first officer's command gives it to them.
        #expect(try await f.session("dsl").lifecycle.syncGroup(.safeguardingOfficer) == ["dsl2"])
        switch departure {
        case .revoked: try await office.administration.revoke("dsl2")
        case .leftTheRole: try await office.administration.setRoles("dsl2", [.tutor])
        case .reissued: _ = try await office.administration.reissue("dsl2")
        case .rekeyed:
            // Still a member, with new keys: only the superseded key is the attacker's.
            let again = try await f.vault.unlock("dsl2", passphrase: Fixture.passphrase("dsl2"))
            try await again.lifecycle.changePassphrase(
                to: Passphrase("a new passphrase for the second officer"))
        }
        // The old key makes a key of its holder's choosing and publishes it as the group's next.
        let key = try KeyAgreementPrivateKey()
        try await Self.forge(
            .groupKey(role: .safeguardingOfficer, version: 2, publicKey: key.publicKey.bytes),
            signer: dsl2.identity, in: f)
        await expectError(.tampered) { _ = try await f.vault.verifiedDirectory() }
    }

    @Test("a leaver's departure queues the rotation; the next member's command makes the key")
    func queuedRotation() async throws {
        let f = try await Fixture.make()
        let office = try f.session("office")
        let dsl = try f.session("dsl")
        try await office.administration.enrol(
            "dsl2", name: "Second Officer", roles: [.safeguardingOfficer],
            passphrase: Fixture.passphrase("dsl2"))
        #expect(try await dsl.lifecycle.syncGroup(.safeguardingOfficer) == ["dsl2"])
        let before = try await Self.boxes(f)
        // The administrator's revocation makes no key: it removes the leaver's copy and queues.
        #expect(try await office.administration.revoke("dsl2") == [.safeguardingOfficer])
        #expect(try await Self.boxes(f) == before.filter { !$0.hasSuffix("/dsl2") })
        let queued = try #require(office.directory.groups[.safeguardingOfficer])
        #expect(queued.version == 1 && queued.rotationDue != nil)
        // Visible to anyone until done, as verified from the signed directory.
        let (_, verified) = try await f.vault.verifiedDirectory()
        #expect(verified.groups[.safeguardingOfficer]?.rotationDue != nil)
        // Someone who is not a member runs a command: nothing changes.
        #expect(try await f.session("price").lifecycle.rotateDueGroups().isEmpty)
        // The remaining officer's next command makes version 2, sealed only to members.
        let made = try await dsl.lifecycle.rotateDueGroups()
        #expect(made.map(\.holder) == ["group:safeguarding-officer#2"])
        #expect(made.first?.rotationDue == nil)
        // The heads' group, which no one left, keeps its one key.
        #expect(
            try await Self.boxes(f) == [
                "group:head-of-centre#1/head", "group:safeguarding-officer#1/dsl",
                "group:safeguarding-officer#2/dsl",
            ])
        #expect(try await dsl.groupKey(.safeguardingOfficer).publicKey == made.first?.publicKey)
        // Done once: the next command has nothing to do.
        #expect(try await dsl.lifecycle.rotateDueGroups().isEmpty)
    }

    @Test("two members catching up at once make one new key, not two")
    func oneRotationForTwoMembers() async throws {
        let f = try await Fixture.make()
        let office = try f.session("office")
        for id: PrincipalID in ["dsl2", "dsl3"] {
            try await office.administration.enrol(
                id, name: id.text, roles: [.safeguardingOfficer], passphrase: Fixture.passphrase(id)
            )
        }
        let dsl = try f.session("dsl")
        _ = try await dsl.lifecycle.syncGroup(.safeguardingOfficer)
        try await office.administration.revoke("dsl3")
        // Both sessions verified the directory while the rotation was due.
        let dsl2 = try await f.vault.unlock("dsl2", passphrase: Fixture.passphrase("dsl2"))
        try await dsl.refresh()
        #expect(try await dsl.lifecycle.rotateDueGroups().count == 1)
        #expect(try await dsl2.lifecycle.rotateDueGroups().isEmpty)
        let (_, directory) = try await f.vault.verifiedDirectory()
        #expect(directory.groups[.safeguardingOfficer]?.version == 2)
        #expect(
            try await dsl2.groupKey(.safeguardingOfficer).publicKey
                == directory.groups[.safeguardingOfficer]?.publicKey)
    }

    @Test("a reissue queues the rotation; the person, once activated, can make it themselves")
    func reissuedMemberRotates() async throws {
        let f = try await Fixture.make()
        let office = try f.session("office")
        let code = try await office.administration.reissue("dsl")
        #expect(office.directory.groups[.safeguardingOfficer]?.rotationDue != nil)
        try await f.vault.activate("dsl", code: code.text, passphrase: Fixture.passphrase("dsl"))
        let dsl = try await f.vault.unlock("dsl", passphrase: Fixture.passphrase("dsl"))
        // Their new keys make the new group key: the old one may be in whoever has the old key.
        #expect(try await dsl.lifecycle.rotateDueGroups().map(\.version) == [2])
        #expect(
            try await dsl.groupKey(.safeguardingOfficer).publicKey
                == dsl.directory.groups[.safeguardingOfficer]?.publicKey)
    }

    @Test("after a rotation, before the re-wrap, members open with the version they hold")
    func olderVersionUntilRewrap() async throws {
        let s = try await SafeguardingFixture.make()
        let price = try await s.session("price")
        let flagged = try await price.seal(Fixture.form(marker: "flagged"), confidential: true)
        try await price.safeguarding.flag(flagged.record, reason: "CPOMS 1")
        let plain = try await price.seal(Fixture.form(marker: "unflagged"), confidential: false)
        let dsl = try await s.session("dsl")
        #expect(try await dsl.lifecycle.rotateGroupKey(.safeguardingOfficer).version == 2)
        // The flagged record's officers' slot and both records' shares are still for version 1.
        let dsl2 = try await s.session("dsl2")
        #expect(
            try await dsl2.safeguarding.disclose(flagged.record, reason: "review").label == flagged)
        let request = try await dsl.breakGlass.request(plain.record, reason: "missing child")
        _ = try await s.session("head").breakGlass.approve(request.id)
        _ = try await dsl2.breakGlass.approve(request.id)
        #expect(try await dsl.breakGlass.open(request.id).label == plain)
        // Someone who joined after the rotation holds only version 2: a re-wrap lets them in.
        try await s.session("office").administration.enrol(
            "dsl3", name: "Third Officer", roles: [.safeguardingOfficer],
            passphrase: Fixture.passphrase("dsl3"))
        _ = try await dsl.lifecycle.syncGroup(.safeguardingOfficer)
        let dsl3 = try await s.session("dsl3")
        let reviewsBefore = try await s.session("head").safeguarding.reviews().count
        let error = await expectError(.permissionDenied) {
            try await dsl3.safeguarding.disclose(flagged.record, reason: "review")
        }
        #expect(error?.hint?.contains("group rewrap") == true)
        // Refused before anything is released: audited as denied, no review item for the heads.
        let entries = try await s.f.store.links(.audit).map {
            try AuditEntry.parse($0.body, context: "test")
        }
        let theirs = entries.filter { $0.actor == "dsl3" && $0.action == .disclose }
        #expect(theirs.map(\.outcome) == [.denied])
        #expect(try await s.session("head").safeguarding.reviews().count == reviewsBefore)
        _ = try await dsl.lifecycle.rewrapGroup(.safeguardingOfficer)
        #expect(
            try await dsl3.safeguarding.disclose(flagged.record, reason: "review").label == flagged)
    }

    @Test("a re-wrap while the key is due makes the new key first; a non-canonical key is refused")
    func rewrapWhileDue() async throws {
        let s = try await SafeguardingFixture.make()
        let price = try await s.session("price")
        let flagged = try await price.seal(Fixture.form(marker: "flagged"), confidential: true)
        try await price.safeguarding.flag(flagged.record, reason: "CPOMS 2")
        try await s.session("office").administration.revoke("dsl2")
        // dsl re-wraps without any other command first (a library caller, say): the slots move to
        // a version made now, never to the one the leaver held.
        let dsl = try await s.session("dsl")
        let summary = try await dsl.lifecycle.rewrapGroup(.safeguardingOfficer)
        #expect(summary.group == "group:safeguarding-officer#2" && summary.slots == 1)
        let (_, directory) = try await s.f.vault.verifiedDirectory()
        #expect(directory.groups[.safeguardingOfficer]?.rotationDue == nil)
        // The old key with its top bit set names the same point: never a "new" group key.
        let v2 = try #require(directory.groups[.safeguardingOfficer]?.publicKey.bytes)
        var flipped = v2
        flipped[31] |= 0x80
        var copy = directory
        await expectError(.invalidInput) {
            try copy.apply(
                .groupKey(role: .safeguardingOfficer, version: 3, publicKey: flipped),
                signer: "dsl", isGenesis: false, time: 1_795_300_000)
        }
    }

    @Test("a self-signed role change forged into the chain is tampering")
    func forgedSelfRoleChange() async throws {
        let f = try await Fixture.make()
        try await f.session("office").administration.enrol(
            "clerk", name: "Clerk", roles: [.admin], passphrase: Fixture.passphrase("clerk"))
        let clerk = try await f.vault.unlock("clerk", passphrase: Fixture.passphrase("clerk"))
        try await Self.forge(
            .setRoles(principal: "clerk", roles: [.admin, .safeguardingOfficer]),
            signer: clerk.identity, in: f)
        await expectError(.tampered) { _ = try await f.vault.verifiedDirectory() }
    }
}
