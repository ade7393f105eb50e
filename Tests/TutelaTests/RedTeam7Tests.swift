import Foundation
import Testing
import TutelaCrypto

@testable import Tutela

/// Red team, seventh pass (2026-12-04): attacks on group keys made by a member of the group
/// (commit 99b4621, issue #19's last part): `createGroupKey`/`rotateGroupKey`/`rotateDueGroups`,
/// `apply(.groupKey)` accepting only a current holder, `GroupKey.rotationDue`, `rewrapGroup`.
/// Each test performs an attack and asserts the secure outcome: it FAILS when the attack lands.
///
/// Result on 99b4621 — landed (fail): adminGrantsThemselfTheRole (an administrator's `setRoles` on
/// themself, then a rotation or a member's sync), passphraseChangeLeavesGroupKeyCurrent (a re-key
/// queues no rotation), lowOrderMemberKeyStopsRotation and lowOrderGroupKeyStopsSeals (X25519 keys
/// of small order accepted by the directory), republishedKeyClearsRotation (a "new" version with an
/// old key clears the due mark), rewrapToUnopenableKey (rewrap never checks that its caller can open
/// the current version), lastMemberLeaves (the documented window, unbounded when no member is left).
/// Held (pass): retiredKeyCannotPublish (all three), versionSkipOrRepeat (both),
/// replayedGroupKeyLink, rotationExcludesLeavers.
@Suite("Red team 7")
struct RedTeam7Tests {
    // MARK: - Helpers

    static let officers: Role = .safeguardingOfficer

    /// 32 zero bytes: the X25519 identity point, of small order.
    static let lowOrderPoint = [UInt8](repeating: 0, count: 32)

    /// `statement` at `time`, signed by `signer`, committed under an audit entry of `committer`'s,
    /// with `extra` writes in the same transaction: what an insider with a key and write access
    /// to the store can add to the directory.
    static func forge(
        _ f: Fixture, _ statement: DirectoryStatement, signer: Identity, committer: Session,
        at time: Int64 = 1_795_300_000,
        extra: @escaping @Sendable (any VaultTransaction) async throws -> Void = { _ in }
    ) async throws {
        try await RedTeam6Tests.commitStatement(
            f, statement, at: time, signer: signer, committer: committer, action: .groupKey,
            subject: "forged", extra: extra)
    }

    /// A member box of `role`'s version `version` for `member`, holding `key`.
    static func box(
        _ key: KeyAgreementPrivateKey, role: Role, version: Int, member: Principal
    ) throws -> StoredObject {
        let group = Recipient.group(role, version: version)
        let id = MemberBoxID(group: group, member: member.id).description
        return StoredObject(
            kind: ObjectKind.groupMember, id: id, key: group.description,
            body: try BoundBox.seal(
                key.secret, kind: .groupMember, binding: id, to: member.identity.agreementKey))
    }

    /// The group key in `member`'s box for `role` v`version`, opened with `identity` (which may be
    /// a leaver's or a superseded key), or nil.
    static func groupKey(
        in boxes: [StoredObject], role: Role, version: Int, member: PrincipalID,
        identity: Identity
    ) -> KeyAgreementPrivateKey? {
        let id = MemberBoxID(group: .group(role, version: version), member: member).description
        guard let box = boxes.first(where: { $0.id == id }),
            let secret = try? BoundBox.open(
                box.body, kind: .groupMember, binding: id, with: identity.agreement, what: "box")
        else { return nil }
        return try? KeyAgreementPrivateKey(secret: secret)
    }

    /// Whether `key` opens any group slot of `record`.
    static func opensGroupSlot(
        _ f: Fixture, _ record: RecordID, with key: KeyAgreementPrivateKey
    ) async throws -> Bool {
        let stored = try #require(try await f.store.record(record))
        for slot in stored.slots {
            guard case .group = slot.recipient else { continue }
            if let opened = try? slot.open(with: key, expecting: record) {
                opened.0.wipe()
                return true
            }
        }
        return false
    }

    /// Whether `session`'s person can open a group slot of `record` with any group copy of theirs
    /// in the store, any version.
    static func memberOpens(_ f: Fixture, _ session: Session, _ record: RecordID) async throws
        -> Bool
    {
        let boxes = try await f.store.objects(kind: ObjectKind.groupMember, key: nil)
        for box in boxes where MemberBoxID(box.id)?.member == session.principal.id {
            guard let parsed = MemberBoxID(box.id),
                case .group(let role, let version) = parsed.group,
                let key = groupKey(
                    in: boxes, role: role, version: version, member: session.principal.id,
                    identity: session.identity)
            else { continue }
            if try await opensGroupSlot(f, record, with: key) { return true }
        }
        return false
    }

    static func enrol(_ f: Fixture, _ id: PrincipalID, _ roles: [Role]) async throws -> Session {
        try await f.session("office").administration.enrol(
            id, name: id.text.capitalized, roles: roles, passphrase: Fixture.passphrase(id))
        return try await f.vault.unlock(id, passphrase: Fixture.passphrase(id))
    }

    static func unlock(_ f: Fixture, _ id: PrincipalID) async throws -> Session {
        try await f.vault.unlock(id, passphrase: Fixture.passphrase(id))
    }

    /// A confidential tutorial by Price about Sam, flagged by Price: it gets a slot for the
    /// officers' group key current now.
    static func flaggedRecord(_ f: Fixture, marker: String) async throws -> RecordID {
        let price = try await unlock(f, "price")
        let label = try await price.seal(Fixture.form(marker: marker), confidential: true)
        try await price.safeguarding.flag(label.record, reason: "CPOMS ref 7")
        return label.record
    }

    // MARK: - 1. An administrator without the role holds the group key

    @Test("an administrator cannot give themself a group's role and then make or take its key")
    func adminGrantsThemselfTheRole() async throws {
        let s = try await SafeguardingFixture.make()
        let f = s.f
        // A record flagged before: its slot is for version 1.
        let before = try await Self.flaggedRecord(f, marker: "before the admin joined")
        // An administrator enrolled by the authority, holding no safeguarding role.
        let clerk = try await Self.enrol(f, "clerk", [.admin])
        #expect(clerk.directory.administrator("clerk") != nil)
        #expect(clerk.principal.has(Self.officers) == false)
        // The attack: the administrator adds the role to themself, then makes the next key.
        var grant: (any Error)?
        do { try await clerk.administration.setRoles("clerk", [.admin, Self.officers]) } catch {
            grant = error
        }
        _ = try? await clerk.lifecycle.rotateGroupKey(Self.officers)
        // The remaining officer moves older records to the new key, as the CLI tells them to.
        let dsl = try await Self.unlock(f, "dsl")
        _ = try? await dsl.lifecycle.rewrapGroup(Self.officers)
        let key = try? await clerk.groupKey(Self.officers)
        #expect(
            key == nil,
            "admin 'clerk' granted themself \(Self.officers.rawValue) (setRoles threw: \(String(describing: grant))) and holds the current group key"
        )
        if let key {
            #expect(
                try await Self.opensGroupSlot(f, before, with: key) == false,
                "and opens a record flagged before they joined, after a member's rewrap")
        }
    }

    // MARK: - 2. A re-key (passphrase change) leaves the old identity with the current group key

    @Test("an old identity, after a passphrase change, opens no group slot sealed since the change")
    func passphraseChangeLeavesGroupKeyCurrent() async throws {
        let s = try await SafeguardingFixture.make()
        let f = s.f
        let dsl2 = try await Self.unlock(f, "dsl2")
        let old = dsl2.identity
        // A copy of the files from before the change (a backup): the old identity row and box.
        let copy = try await f.store.objects(kind: ObjectKind.groupMember, key: nil)
        try await dsl2.lifecycle.changePassphrase(to: Passphrase("dsl2's brand new passphrase"))
        let after = try await Self.flaggedRecord(f, marker: "flagged after the change")
        let (_, directory) = try await f.vault.verifiedDirectory()
        let current = try #require(directory.groups[Self.officers])
        // The change made the group a new key at once, with the new key: the copy holds no box
        // for it, and the old version's key, which the old box does give, opens nothing since.
        #expect(current.version == 2 && current.rotationDue == nil)
        #expect(
            Self.groupKey(
                in: copy, role: Self.officers, version: current.version, member: "dsl2",
                identity: old) == nil)
        let key = try #require(
            Self.groupKey(
                in: copy, role: Self.officers, version: 1, member: "dsl2", identity: old),
            "the old box should open with the old key")
        #expect(
            try await Self.opensGroupSlot(f, after, with: key) == false,
            "the superseded identity opens a record flagged after the passphrase change (group v\(current.version), rotation due: \(String(describing: current.rotationDue)))"
        )
    }

    // MARK: - 3. A member's published keys deny service to every other member

    @Test("a member's re-key to a small-order agreement key does not stop every officer's commands")
    func lowOrderMemberKeyStopsRotation() async throws {
        let s = try await SafeguardingFixture.make()
        let f = s.f
        let office = try f.session("office")
        let eve = try await Self.enrol(f, "eve", [Self.officers])
        _ = try await Self.unlock(f, "dsl").lifecycle.syncGroup(Self.officers)
        // Eve, an officer who can write the database, re-keys herself (signed by her current
        // key, as a passphrase change is) to an agreement key of small order.
        let fresh = try Identity.generate(principal: "eve")
        try await Self.forge(
            f,
            .rekey(
                principal: "eve", signingKey: fresh.publicIdentity.signingKey.bytes,
                agreementKey: Self.lowOrderPoint),
            signer: eve.identity, committer: office)
        do {
            _ = try await f.vault.verifiedDirectory()
        } catch let error as TutelaError {
            // Refused as tampering: held (the directory refuses a key no one can seal to).
            #expect(error.kind == .tampered, "\(error.message)")
            return
        }
        // Someone leaves the group: its key is due, and the next officer's command makes it.
        try await office.refresh()
        try await office.administration.revoke("dsl2")
        let dsl = try await Self.unlock(f, "dsl")
        do {
            _ = try await dsl.lifecycle.rotateDueGroups()
        } catch {
            Issue.record(
                "every command of every officer now fails before it starts (the CLI runs rotateDueGroups first): \(error)"
            )
        }
    }

    @Test("a group key of small order, published by a member, does not stop every tutor's seal")
    func lowOrderGroupKeyStopsSeals() async throws {
        let s = try await SafeguardingFixture.make()
        let f = s.f
        let dsl = try await Self.unlock(f, "dsl")
        try await Self.forge(
            f, .groupKey(role: Self.officers, version: 2, publicKey: Self.lowOrderPoint),
            signer: dsl.identity, committer: dsl)
        do {
            _ = try await f.vault.verifiedDirectory()
        } catch let error as TutelaError {
            #expect(error.kind == .tampered, "\(error.message)")
            return
        }
        let price = try await Self.unlock(f, "price")
        do {
            _ = try await price.seal(Fixture.form(), confidential: false)
        } catch {
            // Signed and committed by dsl's own key: nothing reads it as tampering.
            let audited = (try? await f.vault.verifyAudit(checkpoint: nil)) != nil
            Issue.record(
                "a tutor's seal fails once a member published a small-order key (audit verify passes: \(audited)): \(error)"
            )
        }
    }

    // MARK: - 4. A due rotation cleared without a new key

    @Test("a member cannot clear a due rotation by publishing the leaver's key again")
    func republishedKeyClearsRotation() async throws {
        let s = try await SafeguardingFixture.make()
        let f = s.f
        let dsl = try await Self.unlock(f, "dsl")
        let v1 = try await dsl.groupKey(Self.officers)
        // dsl2 leaves, keeping version 1 (their copy of the files and their key).
        try await f.session("office").administration.revoke("dsl2")
        try await dsl.refresh()
        #expect(dsl.directory.groups[Self.officers]?.rotationDue != nil)
        // dsl "rotates" by publishing version 1's key again as version 2, with a box that matches.
        let me = try #require(dsl.directory.principals["dsl"])
        let box = try Self.box(v1, role: Self.officers, version: 2, member: me)
        try await Self.forge(
            f, .groupKey(role: Self.officers, version: 2, publicKey: v1.publicKey.bytes),
            signer: dsl.identity, committer: dsl, extra: { tx in try await tx.put(box) })
        let directory: Directory
        do {
            (_, directory) = try await f.vault.verifiedDirectory()
        } catch let error as TutelaError {
            #expect(error.kind == .tampered, "\(error.message)")
            return
        }
        let group = try #require(directory.groups[Self.officers])
        #expect(
            group.rotationDue != nil || group.publicKey != v1.publicKey,
            "the rotation is cleared while the leaver's key is still the group's (v\(group.version))"
        )
    }

    // MARK: - 5. Rewrap onto a key the re-wrapper cannot open

    @Test("a rewrap does not move everything to a key no honest member holds, deleting the old")
    func rewrapToUnopenableKey() async throws {
        let s = try await SafeguardingFixture.make()
        let f = s.f
        let record = try await Self.flaggedRecord(f, marker: "flagged under v1")
        let dsl2 = try await Self.unlock(f, "dsl2")
        // dsl2 (an officer who writes the database) publishes version 2 with a box only for
        // themself: other members' copies are missing, which reads as "not synced yet".
        let k = try KeyAgreementPrivateKey()
        let me = try #require(dsl2.directory.principals["dsl2"])
        let box = try Self.box(k, role: Self.officers, version: 2, member: me)
        try await Self.forge(
            f, .groupKey(role: Self.officers, version: 2, publicKey: k.publicKey.bytes),
            signer: dsl2.identity, committer: dsl2, extra: { tx in try await tx.put(box) })
        // The honest officer re-wraps, as the CLI tells every member to after a rotation.
        let dsl = try await Self.unlock(f, "dsl")
        #expect(try await Self.memberOpens(f, dsl, record))
        var failure: (any Error)?
        do { _ = try await dsl.lifecycle.rewrapGroup(Self.officers) } catch { failure = error }
        #expect(
            try await Self.memberOpens(f, dsl, record),
            "after dsl's rewrap (threw: \(String(describing: failure))) no honest officer can open the record: its slot was moved to a key only dsl2 holds and v1's copies deleted"
        )
    }

    // MARK: - 6. Statements the directory must refuse (held expected)

    enum Retired: String, CaseIterable, Sendable {
        case reissuePending, reissueActivated, passphraseChanged
    }

    @Test(
        "a group key signed with a retired key (reissue, passphrase change), even backdated, is tampering",
        arguments: Retired.allCases)
    func retiredKeyCannotPublish(_ how: Retired) async throws {
        let s = try await SafeguardingFixture.make()
        let f = s.f
        let office = try f.session("office")
        let old = try await Self.unlock(f, "dsl2")
        switch how {
        case .reissuePending:
            _ = try await office.administration.reissue("dsl2")
        case .reissueActivated:
            try await office.administration.rekey("dsl2", passphrase: Passphrase("dsl2 anew 2026"))
        case .passphraseChanged:
            try await old.lifecycle.changePassphrase(to: Passphrase("dsl2 anew 2026"))
        }
        try await office.refresh()
        let version = try #require(office.directory.groups[Self.officers]?.version) + 1
        let key = try KeyAgreementPrivateKey()
        try await Self.forge(
            f, .groupKey(role: Self.officers, version: version, publicKey: key.publicKey.bytes),
            signer: old.identity, committer: office, at: 1_000)
        await expectError(.tampered) { _ = try await f.vault.verifiedDirectory() }
    }

    @Test("a holder's group key that skips or repeats a version is tampering", arguments: [1, 3])
    func versionSkipOrRepeat(_ version: Int) async throws {
        let s = try await SafeguardingFixture.make()
        let f = s.f
        let dsl = try await Self.unlock(f, "dsl")
        let key = try KeyAgreementPrivateKey()
        try await Self.forge(
            f, .groupKey(role: Self.officers, version: version, publicKey: key.publicKey.bytes),
            signer: dsl.identity, committer: dsl)
        await expectError(.tampered) { _ = try await f.vault.verifiedDirectory() }
    }

    @Test("an earlier group key link replayed after a revocation is tampering")
    func replayedGroupKeyLink() async throws {
        let s = try await SafeguardingFixture.make()
        let f = s.f
        let links = try await f.store.links(.directory)
        let published = try #require(
            links.first { link in
                guard let (statement, _) = try? DirectoryStatement.decode(link.body, context: "t"),
                    case .groupKey(Self.officers, 1, _) = statement
                else { return false }
                return true
            })
        try await f.session("office").administration.revoke("dsl2")
        await f.store.base.tamper(chain: .directory) { $0 + [published] }
        await expectError(.tampered) { _ = try await f.vault.verifiedDirectory() }
    }

    // MARK: - 7. The rotation itself (held expected)

    @Test(
        "the rotation after a leaver seals only to current holders: not a leaver, a pending reissue or an invitee"
    )
    func rotationExcludesLeavers() async throws {
        let s = try await SafeguardingFixture.make()
        let f = s.f
        let office = try f.session("office")
        let leaver = try await Self.unlock(f, "dsl2")
        let eve = try await Self.enrol(f, "eve", [Self.officers])
        _ = try await Self.unlock(f, "dsl").lifecycle.syncGroup(Self.officers)
        _ = try await office.administration.invite("finn", name: "Finn", roles: [Self.officers])
        try await office.administration.revoke("dsl2")
        _ = try await office.administration.reissue("eve")
        let dsl = try await Self.unlock(f, "dsl")
        let made = try await dsl.lifecycle.rotateDueGroups()
        #expect(made.map(\.version) == [2])
        let boxes = try await f.store.objects(
            kind: ObjectKind.groupMember,
            key: Recipient.group(Self.officers, version: 2).description)
        #expect(boxes.map(\.id) == ["group:safeguarding-officer#2/dsl"])
        // A record flagged afterwards opens with neither the leaver's key nor version 1.
        let v1 = try #require(
            Self.groupKey(
                in: try await f.store.objects(kind: ObjectKind.groupMember, key: nil),
                role: Self.officers, version: 1, member: "dsl", identity: dsl.identity))
        let record = try await Self.flaggedRecord(f, marker: "after the rotation")
        #expect(try await Self.opensGroupSlot(f, record, with: v1) == false)
        #expect(try await Self.memberOpens(f, leaver, record) == false)
        #expect(try await Self.memberOpens(f, eve, record) == false)
    }

    // MARK: - 8. The window when no member is left to rotate

    @Test("a leaver who was the group's last member opens no record flagged after they left")
    func lastMemberLeaves() async throws {
        let f = try await Fixture.make()
        let v1 = try await f.session("dsl").groupKey(Self.officers)
        try await f.session("office").administration.revoke("dsl")
        // No officer is left to run a command: while the rotation stays due, nothing new is sealed
        // to the key the leaver may have, and sealing and flagging say why. A tutorial, whose
        // break-glass shares would be sealed to it, is not sealed at all.
        let price = try await Self.unlock(f, "price")
        let refused = await expectError(.permissionDenied) {
            try await Self.flaggedRecord(f, marker: "sealed after the DSL left")
        }
        #expect(refused?.message.contains("safeguarding-officer group key is due") == true)
        // An informal note asks for no shares and is sealed; its flag would seal it to the key.
        let note = try await price.seal(
            .informalNote(
                InformalNote.parse(
                    Array(#"{"learner": "sam", "date": "2026-11-21", "summary": "a worry"}"#.utf8),
                    source: "note")), as: .informalNote)
        do {
            try await price.safeguarding.flag(note.record, reason: "CPOMS ref 7")
            #expect(
                try await Self.opensGroupSlot(f, note.record, with: v1) == false,
                "the revoked DSL's key opens a record flagged after the revocation")
            Issue.record("a record was flagged while its group's key was due with no member")
        } catch let error as TutelaError {
            #expect(error.kind == .notFound, "\(error.message)")
            #expect(error.hint?.contains("gives someone the safeguarding-officer role") == true)
        }
        let old = Recipient.group(Self.officers, version: 1)
        #expect(try await f.store.slots(recipient: old, limit: 10).isEmpty)
        // Someone is given the role: their first command makes the new key, and sealing resumes.
        try await f.session("office").administration.setRoles("jones", [.tutor, Self.officers])
        let jones = try await f.vault.unlock("jones", passphrase: Fixture.passphrase("jones"))
        #expect(try await jones.lifecycle.rotateDueGroups().map(\.version) == [2])
        let later = try await Self.flaggedRecord(f, marker: "flagged once a new DSL is in post")
        #expect(try await Self.opensGroupSlot(f, later, with: v1) == false)
        // Nor was any break-glass share sealed to the leaver's key, before or after.
        #expect(try await f.store.shares(holder: old, after: nil, limit: 10).isEmpty)
    }
}
