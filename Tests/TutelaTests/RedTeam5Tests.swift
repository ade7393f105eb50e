import Foundation
import Testing
import TutelaCrypto

@testable import Tutela

/// Red team, fifth pass (2026-12-04): attacks on `Session.decidingAfresh` (every deciding write
/// stores its decision only under the directory it was made under, commit a672010), on the
/// revocation and role-change sweep (a44b298), and on the retention check's counting path
/// (3d84e00). Each test performs an attack and asserts the secure outcome: it FAILS when the
/// attack lands.
///
/// Result on 3d84e00 — landed (fail): revokeSweepSurvivesDirectoryMove,
/// setRolesSweepSurvivesDirectoryMove, acceptRestoreAfterRevocation, acceptRestoreAfterDemotion,
/// recoverAuthorityRacesRekey, rekeyLeavesLateSlot, revokedRequesterKeepsApprovedShares,
/// singleRecordStatusTrustsRow, retentionCountsForgedFlag, retentionCountsForgedHold,
/// retentionCountsForgedTombstone. Held (pass): revokeRotationSurvivesDirectoryMove,
/// countingReportRowMovedToAnotherLearner, countingReportTrailingGarbage.
@Suite("Red team 5")
struct RedTeam5Tests {
    /// The group-member boxes (copies of a group's key) sealed to `id`, in every group.
    static func memberCopies(_ f: Fixture, of id: PrincipalID) async throws -> [StoredObject] {
        try await f.store.objects(kind: ObjectKind.groupMember, key: nil).filter {
            MemberBoxID($0.id)?.member == id
        }
    }

    // MARK: - Helpers

    /// A write that appends `statement` to the directory, signed by `signer`, and an audit entry
    /// of `committer`'s: an administrator's change landing while another command runs.
    static func statementWrite(
        _ statement: DirectoryStatement, signer: Identity, committer: Session
    ) -> @Sendable (any VaultTransaction) async throws -> Void {
        committer.committedWrite { tx in
            let link = try SignedChain.link(
                .directory, after: try await tx.lastLink(.directory),
                body: statement.encode(at: 1_795_300_000), signer: signer)
            try await tx.append(link, to: .directory)
        }
    }

    /// Commits `first` just before the next transaction, and `second` just before the one after
    /// it: two other commands' writes landing at two points of one command.
    static func interleaveTwice(
        _ f: Fixture,
        first: @escaping @Sendable (any VaultTransaction) async throws -> Void,
        then second: @escaping @Sendable (any VaultTransaction) async throws -> Void
    ) async {
        let store = f.store
        await f.store.beforeNextTransaction { tx in
            try await first(tx)
            // Installed now, so it lands before the command's next transaction.
            await store.beforeNextTransaction(second)
        }
    }

    /// A record about `learner` sealed by `session` in memory (decided under the directory it
    /// holds now), not stored: a seal whose transaction is about to commit.
    static func pendingRecord(_ session: Session, learner: LearnerID) async throws -> (
        StoredRecord, LearnerID
    ) {
        let prepared = try await session.prepareSeal([
            (.progressReview(Fixture.form(learner: learner)), .tutorial)
        ])
        try await session.store.putShredKeys(prepared.shredKeys)
        let (record, owner, _, _) = try #require(prepared.records.first)
        return (record, owner)
    }

    // MARK: - 1. The revocation sweep meets a directory that moves again

    @Test(
        "a revocation whose sweep meets another statement still removes the leaver's late slot"
    )
    func revokeSweepSurvivesDirectoryMove() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let office = try f.session("office")
        // Price's seal, decided before Jones left (with a slot for Jones, Alex's tutor), commits
        // between the revocation's listing of Jones's slots and its statement...
        let (record, learner) = try await Self.pendingRecord(price, learner: "alex")
        #expect(record.slots.contains { $0.recipient == .person("jones") })
        // ...and another administrator's statement (a new learner) lands between the revocation's
        // statement and its sweep.
        await Self.interleaveTwice(
            f, first: price.committedWrite { tx in try await tx.insert(record) },
            then: Self.statementWrite(
                .addLearner(
                    .init(
                        id: "kim", name: "Kim Lee", tutor: "price", dateOfBirth: nil,
                        programme: nil)), signer: office.identity, committer: office))
        var failure: (any Error)?
        do { try await office.administration.revoke("jones") } catch { failure = error }
        let (_, directory) = try await f.vault.verifiedDirectory()
        #expect(directory.principals["jones"]?.revoked == true)
        // The leaver keeps no key slot, whatever the command reported.
        let left = try await f.store.slots(recipient: .person("jones"), limit: 100)
        #expect(
            left.isEmpty,
            "Jones still holds \(left.count) slot(s); revoke threw \(String(describing: failure))")
        // And the revocation, which landed, is not reported as a failure.
        #expect(failure == nil, "revoke threw after its statement: \(String(describing: failure))")
    }

    @Test(
        "a role change whose sweep meets another statement still removes the late group copy and rotates"
    )
    func setRolesSweepSurvivesDirectoryMove() async throws {
        let f = try await Fixture.make()
        let office = try f.session("office")
        let dsl = try f.session("dsl")
        // A second officer, enrolled after the group key was made: no copy until a member syncs.
        try await office.administration.enrol(
            "dsl2", name: "Second Officer", roles: [.safeguardingOfficer],
            passphrase: Fixture.passphrase("dsl2"))
        try await dsl.refresh()
        let group = try #require(dsl.directory.groups[.safeguardingOfficer])
        let dsl2 = try #require(dsl.directory.principals["dsl2"])
        let key = try await dsl.groupKey(.safeguardingOfficer)
        let id = MemberBoxID(group: group.holder, member: "dsl2").description
        let box = StoredObject(
            kind: ObjectKind.groupMember, id: id, key: group.holder.description,
            body: try BoundBox.seal(
                key.secret, kind: .groupMember, binding: id, to: dsl2.identity.agreementKey))
        // DSL's `group sync`, decided while dsl2 was still an officer, commits between the role
        // change's listing of dsl2's copies and its statement; another statement lands before the
        // sweep.
        await Self.interleaveTwice(
            f, first: dsl.committedWrite(as: .groupSync) { tx in try await tx.put(box) },
            then: Self.statementWrite(
                .addLearner(
                    .init(
                        id: "kim", name: "Kim Lee", tutor: "price", dateOfBirth: nil,
                        programme: nil)), signer: office.identity, committer: office))
        let rotated = try await office.administration.setRoles("dsl2", [.tutor])
        let copies = try await Self.memberCopies(f, of: "dsl2")
        #expect(copies.isEmpty, "dsl2, no longer an officer, keeps \(copies.map(\.id))")
        // The group dsl2 left gets a new key version.
        #expect(rotated == [.safeguardingOfficer])
        let (_, directory) = try await f.vault.verifiedDirectory()
        #expect(directory.groups[.safeguardingOfficer]?.rotationDue != nil)
    }

    @Test(
        "a revocation with no late slot, meeting another statement before rotation, still rotates")
    func revokeRotationSurvivesDirectoryMove() async throws {
        let f = try await Fixture.make()
        let office = try f.session("office")
        try await office.administration.setRoles("jones", [.tutor, .safeguardingOfficer])
        // A statement lands between the revocation's statement and the group's new key.
        try await RefreshTests.interleave(
            .addLearner(
                .init(id: "kim", name: "Kim Lee", tutor: "price", dateOfBirth: nil, programme: nil)),
            skipping: 1, in: f)
        let rotated = try await office.administration.revoke("jones")
        #expect(rotated == [.safeguardingOfficer])
        #expect(try await Self.memberCopies(f, of: "jones").isEmpty)
        #expect(try await f.store.slots(recipient: .person("jones"), limit: 100).isEmpty)
    }

    // MARK: - 1b. Writes that decide outside the directory check

    @Test("an administrator revoked while accepting a restore records nothing")
    func acceptRestoreAfterRevocation() async throws {
        let f = try await Fixture.make()
        let office = try f.session("office")
        try await office.administration.enrol(
            "adm", name: "Admin", roles: [.admin], passphrase: Fixture.passphrase("adm"))
        let adm = try await f.vault.unlock("adm", passphrase: Fixture.passphrase("adm"))
        let before = try await f.store.links(.audit).count
        // The office revokes the administrator while their accept-restore runs.
        try await RefreshTests.interleave(.revoke(principal: "adm"), in: f)
        await expectError(.permissionDenied) { try await adm.acceptRestore() }
        // Nothing signed by the leaver after their revocation.
        let links = try await f.store.links(.audit)
        let byAdm = links.dropFirst(before).filter { $0.signer == "adm" }
        #expect(byAdm.isEmpty, "the revoked administrator wrote \(byAdm.count) audit entries")
        // The log still verifies.
        var verifies = true
        do { _ = try await f.vault.verifyAudit(checkpoint: nil) } catch {
            verifies = false
            Issue.record("the audit log no longer verifies: \(error)")
        }
        #expect(verifies)
        // And the vault is still usable: the office records a learner.
        do {
            let fresh = try await f.vault.unlock("office", passphrase: Fixture.passphrase("office"))
            try await fresh.administration.addLearner(
                "kim", name: "Kim Lee", tutor: "price", dateOfBirth: nil, programme: nil)
        } catch {
            Issue.record("after the race the office can no longer write: \(error)")
        }
    }

    @Test("an administrator demoted while accepting a restore records nothing")
    func acceptRestoreAfterDemotion() async throws {
        let f = try await Fixture.make()
        let office = try f.session("office")
        try await office.administration.enrol(
            "adm", name: "Admin", roles: [.admin], passphrase: Fixture.passphrase("adm"))
        let adm = try await f.vault.unlock("adm", passphrase: Fixture.passphrase("adm"))
        try await RefreshTests.interleave(.setRoles(principal: "adm", roles: [.tutor]), in: f)
        await expectError(.permissionDenied) { try await adm.acceptRestore() }
        let accepted = try await f.store.links(.audit).filter {
            (try? AuditEntry.parse($0.body, context: "test"))?.action == .acceptRestore
        }
        #expect(accepted.isEmpty)
    }

    @Test(
        "a recovery from trustee shares that races the authority's own re-key stores no stale keys")
    func recoverAuthorityRacesRekey() async throws {
        let f = try await Fixture.make()
        let office = try f.session("office")
        let shares = try await office.administration.splitAuthority(shares: 3, threshold: 2)
        // The authority re-keys itself (a new passphrase and keys) while the trustees recover.
        let fresh = try Identity.generate(principal: "office")
        let newPassphrase = try Passphrase("a brand new office passphrase 2026")
        let sealed = try SealedIdentity.seal(
            fresh, passphrase: newPassphrase, cost: office.directory.kdfProfile.cost)
        let pub = fresh.publicIdentity
        let statement = DirectoryStatement.rekey(
            principal: "office", signingKey: pub.signingKey.bytes,
            agreementKey: pub.agreementKey.bytes)
        let signer = office.identity
        // Its entry is committed under the directory that retires the old key: the new key signs.
        let renewed = Session(
            vault: f.vault, meta: office.meta, directory: office.directory,
            principal: office.principal, identity: fresh)
        await f.store.beforeNextTransaction(
            renewed.committedWrite(as: .rekey, subject: "office") { tx in
                let link = try SignedChain.link(
                    .directory, after: try await tx.lastLink(.directory),
                    body: statement.encode(at: 1_795_300_000), signer: signer)
                try await tx.append(link, to: .directory)
                try await tx.replace(sealed)
            })
        var recovered = false
        do {
            _ = try await f.vault.recoverAuthority(
                from: Array(shares.prefix(2)),
                passphrase: try Passphrase("the trustees' recovery passphrase"))
            recovered = true
        } catch {}
        #expect(!recovered, "the recovery stored keys the directory no longer names")
        // The authority's re-key stands: it unlocks with its new passphrase.
        do { _ = try await f.vault.unlock("office", passphrase: newPassphrase) } catch {
            Issue.record(
                "the authority's own re-key was overwritten by the stale recovery: \(error)")
        }
        if recovered {
            do {
                _ = try await f.vault.unlock(
                    "office", passphrase: try Passphrase("the trustees' recovery passphrase"))
                Issue.record("the recovered (stale) keys unlock as the authority")
            } catch {
                Issue.record("and the recovered passphrase does not unlock either: \(error)")
            }
        }
    }

    // MARK: - 2. Re-key: the other command that removes someone's slots

    @Test("a record stored while someone was being re-keyed keeps no slot under their old key")
    func rekeyLeavesLateSlot() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let office = try f.session("office")
        let oldKey = price.identity.publicIdentity.agreementKey
        let (record, learner) = try await Self.pendingRecord(price, learner: "sam")
        #expect(record.slots.contains { $0.recipient == .person("price") })
        await f.store.beforeNextTransaction(
            price.committedWrite { tx in try await tx.insert(record) })
        try await office.administration.rekey(
            "price", passphrase: try Passphrase("price's new passphrase 2026"))
        let renewed = try await f.vault.unlock(
            "price", passphrase: try Passphrase("price's new passphrase 2026"))
        #expect(renewed.identity.publicIdentity.agreementKey != oldKey)
        // Whatever slot Price has must be one their new key opens.
        let slots = try await f.store.slots(recipient: .person("price"), limit: 100)
        #expect(slots.isEmpty, "\(slots.count) slot(s) sealed to Price's discarded key survive")
    }

    @Test("a requester revoked after approvals keeps no shares that rebuild the record's key")
    func revokedRequesterKeepsApprovedShares() async throws {
        let s = try await SafeguardingFixture.make()
        let label = try await s.session("price").seal(
            Fixture.form(marker: "urgent"), confidential: true)
        let dsl = try await s.session("dsl")
        let request = try await dsl.breakGlass.request(label.record, reason: "child missing")
        try await s.session("head").breakGlass.approve(request.id)
        try await s.session("dsl2").breakGlass.approve(request.id)
        // The officer leaves before opening the record.
        try await s.session("office").administration.revoke("dsl")
        #expect(try await s.f.store.slots(recipient: .person("dsl"), limit: 100).isEmpty)
        // What the leaver (their own key, a copy of the database) can still rebuild.
        let (_, directory) = try await s.f.vault.verifiedDirectory()
        var shares: [SecretShare] = []
        for object in try await s.f.store.objects(
            kind: FactKind.approval.rawValue, key: request.id.text)
        {
            let approval = try FactCodec.read(object, as: Approval.self, directory: directory).fact
            guard
                let bytes = try? BoundBox.open(
                    approval.box, kind: .approval, binding: "\(request.id)/dsl",
                    with: dsl.identity.agreement, what: "share")
            else { continue }
            shares.append(try SecretShare(serialized: bytes))
        }
        var rebuilt = false
        if shares.count >= 2, let key = try? SecretSharing.combine(shares) {
            // Checked with anyone's session: only the key and the envelope matter.
            let checker = try await s.session("head")
            let (_, envelope) = try await checker.load(label.record)
            rebuilt = (try? await checker.confirmDataKey(key, of: envelope)) != nil
        }
        #expect(!rebuilt, "the revoked requester's approvals still rebuild the record's data key")
        // The removal is one `audit verify` accepts: a revocation may remove those approvals.
        _ = try await s.f.vault.verifyAudit(checkpoint: nil)
    }
}
