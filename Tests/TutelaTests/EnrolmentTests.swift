import Foundation
import Synchronization
import Testing
import TutelaCrypto

@testable import Tutela

/// Enrolment by the person: an administrator signs an invitation naming a one-time code's public
/// key; the person activates it with the code, making their own keys under a passphrase no one
/// else has known. The administrator's process never holds a private key of theirs.
@Suite("Enrolment by the person")
struct EnrolmentTests {
    static let passphrase = "a passphrase only Kim knows"

    static func invite(_ f: Fixture, lifetimeDays: Int = 7) async throws -> EnrolmentCode {
        try await f.session("office").administration.invite(
            "kim", name: "Kim Lee", roles: [.safeguardingOfficer], lifetimeDays: lifetimeDays)
    }

    @Test(
        "an invitation makes no secret for the person: no keys, no sealed identity, no passphrase")
    func inviteHoldsNoSecret() async throws {
        let f = try await Fixture.make()
        let code = try await Self.invite(f)
        let office = try f.session("office")
        #expect(try await f.store.sealedIdentity("kim") == nil)
        #expect(office.directory.principals["kim"] == nil)
        let invitation = try #require(office.directory.invitations["kim"])
        #expect(invitation.roles == [.safeguardingOfficer] && !invitation.reissue)
        // The code is 32 characters in groups of four, and only its public key is stored.
        let text = String(decoding: code.text.unprotectedCopy(), as: UTF8.self)
        #expect(text.count == 39 && text.split(separator: "-").count == 8)
        let stored = try await f.store.links(.directory).map(\.body)
        #expect(!stored.contains { $0.contains(Array(text.utf8)) })
        let error = await expectError(.permissionDenied) {
            try await f.vault.unlock("kim", passphrase: Passphrase(Self.passphrase))
        }
        #expect(error?.hint?.contains("principal activate") == true)
    }

    @Test("the person activates with the code, once; their keys are theirs")
    func activate() async throws {
        let f = try await Fixture.make()
        let code = try await Self.invite(f)
        let identity = try await f.vault.activate(
            "kim", code: code.text, passphrase: Passphrase(Self.passphrase))
        let kim = try await f.vault.unlock("kim", passphrase: Passphrase(Self.passphrase))
        #expect(kim.principal.identity == identity && kim.principal.has(.safeguardingOfficer))
        #expect(kim.principal.enrolledBy == "office")
        #expect(kim.directory.invitations["kim"] == nil)
        // The statement publishing the keys is signed by them, not by an administrator.
        let last = try #require(try await f.store.links(.directory).last)
        #expect(last.signer == "kim")
        await expectError(.exists) {
            try await f.vault.activate(
                "kim", code: code.text, passphrase: Passphrase("someone else's choice"))
        }
        _ = try await f.vault.verifyAudit(checkpoint: nil)
    }

    @Test("a wrong, malformed or someone else's code activates nothing")
    func wrongCode() async throws {
        let f = try await Fixture.make()
        _ = try await Self.invite(f)
        let other = try await f.session("office").administration.invite(
            "lee", name: "Lee", roles: [.tutor])
        let before = try await f.store.links(.audit).count
        let guess = try SecretBytes(copying: Array("ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-6789".utf8))
        await expectError(.permissionDenied) {
            try await f.vault.activate("kim", code: guess, passphrase: Passphrase(Self.passphrase))
        }
        await expectError(.permissionDenied) {
            try await f.vault.activate(
                "kim", code: other.text, passphrase: Passphrase(Self.passphrase))
        }
        await expectError(.usage) {
            try await f.vault.activate(
                "kim", code: SecretBytes(copying: Array("not a code".utf8)),
                passphrase: Passphrase(Self.passphrase))
        }
        #expect(try await f.store.links(.audit).count == before)
        #expect(try await f.store.sealedIdentity("kim") == nil)
    }

    @Test("a code is typed in any case, with or without dashes, I and O read as 1 and 0")
    func forgivingTyping() async throws {
        let f = try await Fixture.make()
        let code = try await Self.invite(f)
        let text = String(decoding: code.text.unprotectedCopy(), as: UTF8.self)
        let typed = text.lowercased().replacingOccurrences(of: "-", with: " ")
            .replacingOccurrences(of: "1", with: "l").replacingOccurrences(of: "0", with: "o")
        try await f.vault.activate(
            "kim", code: SecretBytes(copying: Array(typed.utf8)),
            passphrase: Passphrase(Self.passphrase))
    }

    @Test("an expired code is refused, and so is an activation dated past it in the chain")
    func expired() async throws {
        let now = Mutex<Int64>(1_795_300_000)
        let f = try await Fixture.make(clock: Clock { now.withLock { $0 } })
        let code = try await Self.invite(f, lifetimeDays: 1)
        now.withLock { $0 += 2 * 86_400 }
        let error = await expectError(.permissionDenied) {
            try await f.vault.activate(
                "kim", code: code.text, passphrase: Passphrase(Self.passphrase))
        }
        #expect(error?.message.contains("expired") == true)
        // Written in directly, with a valid proof, the late activation breaks the directory.
        let office = try f.session("office")
        let key = try EnrolmentCode.key(
            code: code.text, principal: "kim", vaultID: office.meta.vaultID)
        let fresh = try Identity.generate(principal: "kim")
        let proof = try key.sign(
            Invitation.activationMessage(
                vaultID: office.meta.vaultID, principal: "kim", identity: fresh.publicIdentity))
        let statement = DirectoryStatement.activate(
            principal: "kim", signingKey: fresh.publicIdentity.signingKey.bytes,
            agreementKey: fresh.publicIdentity.agreementKey.bytes, proof: proof)
        try await f.store.transaction { tx in
            let link = try SignedChain.link(
                .directory, after: try await tx.lastLink(.directory),
                body: statement.encode(at: now.withLock { $0 }), signer: fresh)
            try await tx.append(link, to: .directory)
        }
        await expectError(.tampered) { try await f.vault.verifyAudit(checkpoint: nil) }
    }

    @Test("an activation written in without the code's proof is tampering")
    func forgedActivation() async throws {
        let f = try await Fixture.make()
        _ = try await Self.invite(f)
        let fresh = try Identity.generate(principal: "kim")
        let bogus = try fresh.sign(Array("not the code".utf8))
        let statement = DirectoryStatement.activate(
            principal: "kim", signingKey: fresh.publicIdentity.signingKey.bytes,
            agreementKey: fresh.publicIdentity.agreementKey.bytes, proof: bogus)
        try await f.store.transaction { tx in
            let link = try SignedChain.link(
                .directory, after: try await tx.lastLink(.directory),
                body: statement.encode(at: 1_795_300_000), signer: fresh)
            try await tx.append(link, to: .directory)
        }
        await expectError(.tampered) {
            try await f.vault.unlock("price", passphrase: Fixture.passphrase("price"))
        }
    }

    @Test("an administrator cannot publish keys for someone else: enrolments are by invitation")
    func noAdministratorKeys() async throws {
        let f = try await Fixture.make()
        let office = try f.session("office")
        let made = try Identity.generate(principal: "kim")
        let pub = made.publicIdentity
        await expectError(.usage) {
            try await office.appendStatement(
                .enrol(
                    .init(
                        id: "kim", name: "Kim", roles: [.tutor],
                        signingKey: pub.signingKey.bytes, agreementKey: pub.agreementKey.bytes)),
                audit: .enrol, subject: "kim")
        }
        await expectError(.permissionDenied) {
            try await office.appendStatement(
                .rekey(
                    principal: "price", signingKey: pub.signingKey.bytes,
                    agreementKey: pub.agreementKey.bytes),
                audit: .rekey, subject: "price")
        }
    }

    @Test("a reissue retires the old key at once; the person activates new keys with the code")
    func reissue() async throws {
        let f = try await Fixture.make()
        let office = try f.session("office")
        let code = try await office.administration.reissue("dsl")
        // The group the person held is due for a new key: their old one may be in other hands.
        #expect(office.directory.groups[.safeguardingOfficer]?.rotationDue != nil)
        let dsl = try #require(office.directory.principals["dsl"])
        #expect(dsl.awaitingKeys && !dsl.has(.safeguardingOfficer))
        #expect(dsl.signingKeys(madeUnder: office.directory.statementCount).isEmpty)
        let error = await expectError(.permissionDenied) {
            try await f.vault.unlock("dsl", passphrase: Fixture.passphrase("dsl"))
        }
        #expect(error?.hint?.contains("principal activate") == true)
        // The old session, still open, writes nothing more.
        await expectError(.permissionDenied) { try await f.session("dsl").refresh() }
        try await f.vault.activate("dsl", code: code.text, passphrase: Passphrase(Self.passphrase))
        let renewed = try await f.vault.unlock("dsl", passphrase: Passphrase(Self.passphrase))
        #expect(renewed.principal.has(.safeguardingOfficer))
        #expect(renewed.principal.keyPeriods.count == 2)
        #expect(try await renewed.lifecycle.rotateDueGroups().map(\.version) == [2])
        _ = try await f.vault.verifyAudit(checkpoint: nil)
    }

    @Test("an invitation revoked before it is activated leaves a code that works for nothing")
    func withdrawn() async throws {
        let f = try await Fixture.make()
        let code = try await Self.invite(f)
        _ = try await f.session("office").administration.revoke("kim")
        await expectError(.notFound) {
            try await f.vault.activate(
                "kim", code: code.text, passphrase: Passphrase(Self.passphrase))
        }
    }

    @Test(
        "a copy of the vault taken at enrolment, with the code, opens nothing of the person's")
    func snapshotAtEnrolment() async throws {
        let f = try await Fixture.make()
        let code = try await Self.invite(f)
        let atEnrolment = await f.store.base.snapshot()
        try await f.vault.activate("kim", code: code.text, passphrase: Passphrase(Self.passphrase))
        // Whoever made the code and copied the vault then holds no key of Kim's: there was none.
        let copy = MemoryVaultStore()
        await copy.restore(atEnrolment)
        #expect(try await copy.sealedIdentity("kim") == nil)
        #expect(try await f.store.sealedIdentity("kim") != nil)
        // And the code, used, makes no second set of keys for them.
        await expectError(.exists) {
            try await f.vault.activate(
                "kim", code: code.text, passphrase: Passphrase("mallory's own"))
        }
    }
}

/// What the review of #19 found, each as a test.
@Suite("Enrolment by the person: review")
struct EnrolmentReviewTests {
    @Test("an invitation made by someone no longer an administrator activates nothing")
    func inviterRevoked() async throws {
        let f = try await Fixture.make()
        let office = try f.session("office")
        try await office.administration.enrol(
            "adm", name: "Admin", roles: [.admin], passphrase: Fixture.passphrase("adm"))
        let adm = try await f.vault.unlock("adm", passphrase: Fixture.passphrase("adm"))
        let code = try await adm.administration.invite("kim", name: "Kim", roles: [.tutor])
        _ = try await office.administration.revoke("adm")
        let error = await expectError(.permissionDenied) {
            try await f.vault.activate(
                "kim", code: code.text, passphrase: Passphrase("kim's own, long"))
        }
        #expect(error?.message.contains("no longer an administrator") == true)
        #expect(try await f.store.sealedIdentity("kim") == nil)
    }

    @Test("an invitation withdrawn and made again activates, and the log still verifies")
    func withdrawAndInviteAgain() async throws {
        let f = try await Fixture.make()
        let office = try f.session("office")
        _ = try await office.administration.invite("kim", name: "Kim", roles: [.tutor])
        await expectError(.exists) {
            try await office.administration.invite("kim", name: "Kim", roles: [.tutor])
        }
        _ = try await office.administration.revoke("kim")
        let code = try await office.administration.invite("kim", name: "Kim", roles: [.tutor])
        try await f.vault.activate(
            "kim", code: code.text, passphrase: Passphrase("kim's own, long"))
        _ = try await f.vault.verifyAudit(checkpoint: nil)
    }

    @Test("an activation that meets another directory statement decides afresh and succeeds")
    func activationRacesStatement() async throws {
        let f = try await Fixture.make()
        let code = try await f.session("office").administration.invite(
            "kim", name: "Kim", roles: [.tutor])
        try await RefreshTests.interleave(
            .addLearner(
                .init(id: "lee", name: "Lee", tutor: "price", dateOfBirth: nil, programme: nil)),
            in: f)
        try await f.vault.activate(
            "kim", code: code.text, passphrase: Passphrase("kim's own, long"))
        let kim = try await f.vault.unlock("kim", passphrase: Passphrase("kim's own, long"))
        #expect(kim.directory.learners["lee"] != nil && kim.principal.has(.tutor))
        _ = try await f.vault.verifyAudit(checkpoint: nil)
    }

    @Test("a checkpoint signed with a retired key by someone who may sign checkpoints is refused")
    func retiredCheckpointSigner() async throws {
        let f = try await Fixture.make()
        let hale = try f.session("hale")
        let good = try await hale.checkpoint()
        _ = try await f.vault.verifyAudit(checkpoint: good)
        _ = try await f.session("office").administration.reissue("hale")
        let last = try #require(try await f.store.links(.audit).last)
        let forged = try Checkpoint.make(
            vaultID: hale.meta.vaultID, entries: last.sequence + 1, head: last.hash,
            time: 1_795_300_100, signer: hale.identity)
        await expectError(.invalidInput) { try await f.vault.verifyAudit(checkpoint: forged) }
    }

    @Test("a flag decided under one directory position and signed under another is tampering")
    func decidedAtMustBeMadeUnder() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let position = price.directory.statementCount
        let flag = SafeguardingFlag(
            record: "R-1", flaggedBy: "price", time: 1, reason: "why", decidedAt: position - 1)
        let object = try FactCodec.make(flag, signer: price.identity, madeUnder: position)
        await expectError(.tampered) { try FactTests.read(object, price.directory) }
    }

    @Test("the authority's passphrase change keeps its keys, so its trustees' shares still work")
    func authorityPassphraseKeepsShares() async throws {
        let f = try await Fixture.make()
        let office = try f.session("office")
        let shares = try await office.administration.splitAuthority(shares: 2, threshold: 2)
        try await office.lifecycle.changePassphrase(to: Passphrase("a new office passphrase"))
        _ = try await f.vault.recoverAuthority(
            from: shares, passphrase: Passphrase("recovered office passphrase"))
        // A re-key replaces them on purpose; the old split is then named as such.
        let renewed = try await f.vault.unlock(
            "office", passphrase: Passphrase("recovered office passphrase"))
        let again = try await renewed.administration.splitAuthority(shares: 2, threshold: 2)
        try await renewed.administration.rekeyAuthority(
            passphrase: Passphrase("rekeyed office, long"))
        let error = await expectError(.invalidInput) {
            try await f.vault.recoverAuthority(
                from: again, passphrase: Passphrase("never used, long"))
        }
        #expect(error?.message.contains("before the authority's keys were replaced") == true)
    }
}
