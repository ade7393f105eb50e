import Foundation
import Testing
import TutelaCrypto

@testable import Tutela

/// A lost passphrase does not lose a person's records: a quorum the policy names (the heads of
/// centre and the safeguarding officers, two of them) releases the person's keys to a one-time code,
/// and the person ends with new keys under a passphrase only they know.
@Suite("Identity recovery by a quorum")
struct IdentityRecoveryTests {
    static let newPassphrase = "a passphrase only price knows"

    /// The centre with group keys, Price's keys split among the approvers, and Price's own
    /// confidential tutorial, which no one else can open.
    static func scene() async throws -> (SafeguardingFixture, Label) {
        let s = try await SafeguardingFixture.make()
        let price = try await s.session("price")
        let label = try await price.seal(
            Fixture.form(marker: "only price reads this"), confidential: true)
        #expect(try await price.identityRecovery.catchUpEscrow())
        // Nothing changed: no second escrow.
        #expect(try await s.session("price").identityRecovery.catchUpEscrow() == false)
        return (s, label)
    }

    static func code(_ text: SecretBytes) throws -> SecretBytes {
        try SecretBytes(copying: text.withUnsafeBytes { Array($0) })
    }

    @Test("two approvers in different roles release the keys; the person ends with new keys")
    func recovers() async throws {
        let (s, label) = try await Self.scene()
        let before = try await s.session("price").principal.identity
        let (request, code) = try await s.session("office").identityRecovery.request(
            "price", reason: "lost passphrase, asked in person")
        // Price is told, at their next command, that a recovery was asked for.
        let inbox = try await s.session("price").inbox()
        #expect(
            inbox.contains { $0.entry.action == .recoveryRequest && $0.entry.actor == "office" })
        #expect(try await s.session("head").identityRecovery.requests().map(\.id) == [request.id])
        let first = try await s.session("head").identityRecovery.approve(request.id)
        #expect(first.approvals == 1 && first.needed == 2)
        // One approval is not enough.
        await expectError(.permissionDenied) {
            try await s.f.vault.recoverIdentity(
                "price", code: try Self.code(code.text), passphrase: Passphrase(Self.newPassphrase))
        }
        #expect(try await s.session("dsl").identityRecovery.approve(request.id).approvals == 2)
        let after = try await s.f.vault.recoverIdentity(
            "price", code: try Self.code(code.text), passphrase: Passphrase(Self.newPassphrase))
        #expect(after != before)
        // The old passphrase opens nothing; the new one opens Price's own confidential tutorial.
        await expectError(.permissionDenied) {
            try await s.f.vault.unlock("price", passphrase: Fixture.passphrase("price"))
        }
        let renewed = try await s.f.vault.unlock(
            "price", passphrase: Passphrase(Self.newPassphrase))
        #expect(renewed.principal.identity == after)
        #expect(try await renewed.open(label.record).form?.comments == "only price reads this")
        // The new keys are split again; the request is spent.
        #expect(try await renewed.identityRecovery.escrow(of: "price")?.identity == after)
        await expectError(.permissionDenied) {
            try await s.f.vault.recoverIdentity(
                "price", code: try Self.code(code.text), passphrase: Passphrase("another one here"))
        }
        let actions = try await s.actions()
        #expect(actions.contains { $0.action == .identityRecover && $0.actor == "price" })
        #expect(
            try await s.session("head").inbox().contains { $0.entry.action == .identityRecover })
        _ = try await s.f.vault.verifyAudit(checkpoint: nil)
    }

    @Test("only an administrator asks, only approvers in distinct roles approve, never the person")
    func whoMayAct() async throws {
        let (s, _) = try await Self.scene()
        await expectError(.permissionDenied) {
            try await s.session("jones").identityRecovery.request("price", reason: "x")
        }
        await expectError(.permissionDenied) {
            try await s.session("office").identityRecovery.request("office", reason: "x")
        }
        // Jones never ran a command since the groups existed: no shares to release.
        await expectError(.notFound) {
            try await s.session("office").identityRecovery.request("jones", reason: "x")
        }
        let (request, _) = try await s.session("office").identityRecovery.request(
            "price", reason: "lost passphrase")
        for who: PrincipalID in ["price", "jones", "hale", "office"] {
            await expectError(.permissionDenied) {
                try await s.session(who).identityRecovery.approve(request.id)
            }
        }
        try await s.session("dsl").identityRecovery.approve(request.id)
        await expectError(.permissionDenied) {
            try await s.session("dsl").identityRecovery.approve(request.id)
        }
        // A second officer is the same role: the quorum needs a head of centre.
        await expectError(.permissionDenied) {
            try await s.session("dsl2").identityRecovery.approve(request.id)
        }
        // The refusals are on the log.
        let refused = try await s.actions().filter {
            $0.action == .recoveryApprove && $0.outcome == .denied
        }
        #expect(refused.count == 6)
    }

    @Test("the person closes a recovery they did not ask for; its code is then worth nothing")
    func personCancels() async throws {
        let (s, _) = try await Self.scene()
        let (request, code) = try await s.session("office").identityRecovery.request(
            "price", reason: "says they lost it")
        try await s.session("dsl").identityRecovery.approve(request.id)
        let price = try await s.session("price")
        #expect(try await price.identityRecovery.requests().map(\.id) == [request.id])
        await expectError(.permissionDenied) {
            try await s.session("jones").identityRecovery.cancel(request.id)
        }
        try await price.identityRecovery.cancel(request.id)
        #expect(try await price.identityRecovery.requests().isEmpty)
        await expectError(.permissionDenied) {
            try await s.session("head").identityRecovery.approve(request.id)
        }
        await expectError(.permissionDenied) {
            try await s.f.vault.recoverIdentity(
                "price", code: try Self.code(code.text), passphrase: Passphrase(Self.newPassphrase))
        }
        // Everyone concerned is told.
        for who: PrincipalID in ["office", "dsl", "head"] {
            #expect(
                try await s.session(who).inbox().contains { $0.entry.action == .recoveryCancel })
        }
        // Price's passphrase still works.
        _ = try await s.f.vault.unlock("price", passphrase: Fixture.passphrase("price"))
    }

    @Test(
        "a person who can still unlock closes a request for them, and gets new keys if shares went")
    func unlockingCloses() async throws {
        let (s, label) = try await Self.scene()
        let (request, code) = try await s.session("office").identityRecovery.request(
            "price", reason: "someone on the phone said they were Price")
        try await s.session("head").identityRecovery.approve(request.id)
        let before = try await s.session("price").principal.identity
        // Price's next command, as the CLI runs it first.
        let price = try await s.session("price")
        #expect(try await price.identityRecovery.cancelOwnRequests() == [request.id])
        #expect(
            try await price.identityRecovery.renewIfReleased(
                passphrase: Fixture.passphrase("price")))
        let renewed = try await s.session("price")
        #expect(renewed.principal.identity != before)
        #expect(try await renewed.open(label.record).form?.comments == "only price reads this")
        await expectError(.permissionDenied) {
            try await s.session("dsl").identityRecovery.approve(request.id)
        }
        await expectError(.permissionDenied) {
            try await s.f.vault.recoverIdentity(
                "price", code: try Self.code(code.text), passphrase: Passphrase(Self.newPassphrase))
        }
        #expect(try await renewed.identityRecovery.cancelOwnRequests().isEmpty)
    }

    @Test("a wrong code, an expired request, and a policy without recovery are refused")
    func refusals() async throws {
        let (s, _) = try await Self.scene()
        let (request, code) = try await s.session("office").identityRecovery.request(
            "price", reason: "lost passphrase")
        try await s.session("dsl").identityRecovery.approve(request.id)
        try await s.session("head").identityRecovery.approve(request.id)
        let wrong = try EnrolmentCode.generate(for: "price", expires: request.expires)
        await expectError(.notFound) {
            try await s.f.vault.recoverIdentity(
                "price", code: wrong.text, passphrase: Passphrase(Self.newPassphrase))
        }
        // Once the request has lapsed, the code is worth nothing.
        let late = Vault(store: s.f.store, clock: Clock { request.expires + 1 })
        await expectError(.permissionDenied) {
            try await late.recoverIdentity(
                "price", code: try Self.code(code.text), passphrase: Passphrase(Self.newPassphrase))
        }
        let office = try await late.unlock("office", passphrase: Fixture.passphrase("office"))
        let text = try String(decoding: Fixture.shippedPolicy().text, as: UTF8.self)
        let without = try #require(text.components(separatedBy: "\nidentity-recovery:").first)
        _ = try await office.administration.applyPolicy(Array(without.utf8), source: "no.yaml")
        await expectError(.permissionDenied) {
            try await late.unlock("office", passphrase: Fixture.passphrase("office"))
                .identityRecovery.request("price", reason: "x")
        }
    }

    @Test("released shares, requests and escrows edited or forged in the database are refused")
    func tampering() async throws {
        let (s, _) = try await Self.scene()
        let (request, code) = try await s.session("office").identityRecovery.request(
            "price", reason: "lost passphrase")
        try await s.session("dsl").identityRecovery.approve(request.id)
        try await s.session("head").identityRecovery.approve(request.id)
        // A record keeper with write access files a request of their own: it is signed by
        // someone who is not an administrator, and no approver releases anything to it.
        let hale = try await s.session("hale")
        let forged = RecoveryRequest(
            id: "IR-FAKE-FAKE-FAKE", principal: "price", requester: "hale", reason: "x",
            created: request.created, expires: request.expires, approvalsNeeded: 2,
            codeKey: request.codeKey, splitID: request.splitID, adminBox: request.adminBox)
        let signed = try hale.sign(forged)
        try await s.f.store.transaction(
            hale.committedWrite(as: .recoveryRequest, subject: "price") { tx in
                try await tx.put(signed)
            })
        await expectError(.permissionDenied) {
            try await s.session("dsl2").identityRecovery.approve(forged.id)
        }
        // An escrow of Price's keys signed by someone else (whose shares would rebuild keys of
        // theirs, not Price's) is refused as tampering wherever it is read.
        let genuine = try #require(
            try await s.session("dsl").identityRecovery.escrow(of: "price"))
        let escrow = IdentityEscrow(
            principal: "price", identity: hale.principal.identity, splitID: "00", threshold: 2,
            sealed: genuine.sealed, boxes: genuine.boxes, adminBoxes: genuine.adminBoxes)
        let fake = try hale.sign(escrow)
        try await s.f.store.transaction(
            hale.committedWrite(as: .identityEscrow, subject: "price") { tx in
                try await tx.put(fake)
            })
        await expectError(.tampered) {
            try await s.session("dsl").identityRecovery.escrow(of: "price")
        }
        // An approval's box edited: the store no longer matches the signed state.
        await s.f.store.tamper(
            object: FactKind.recoveryApproval.rawValue, id: "\(request.id)/dsl"
        ) { body in
            var b = body
            b[b.count - 70] ^= 1
            return b
        }
        await expectError(.tampered) {
            try await s.f.vault.recoverIdentity(
                "price", code: try Self.code(code.text), passphrase: Passphrase(Self.newPassphrase))
        }
    }

    @Test("a new administrator gets their half of the escrow at the person's next command")
    func newAdministrator() async throws {
        let (s, _) = try await Self.scene()
        try await s.session("office").administration.enrol(
            "admin2", name: "Second administrator", roles: [.admin],
            passphrase: Fixture.passphrase("admin2"))
        let admin2 = try await s.session("admin2")
        await expectError(.notFound) {
            try await admin2.identityRecovery.request("price", reason: "lost passphrase")
        }
        #expect(try await s.session("price").identityRecovery.catchUpEscrow())
        let escrow = try #require(try await admin2.identityRecovery.escrow(of: "price"))
        #expect(escrow.admins.map(\.id) == ["admin2", "office"])
        _ = try await s.session("admin2").identityRecovery.request("price", reason: "lost it")
    }

    @Test(
        "a request by an administrator demoted since is dead, and does not stop the person's command"
    )
    func demotedAdministratorsRequest() async throws {
        let (s, _) = try await Self.scene()
        try await s.session("office").administration.enrol(
            "admin2", name: "Second administrator", roles: [.admin],
            passphrase: Fixture.passphrase("admin2"))
        #expect(try await s.session("price").identityRecovery.catchUpEscrow())
        let (request, _) = try await s.session("admin2").identityRecovery.request(
            "price", reason: "lost passphrase")
        try await s.session("office").administration.setRoles("admin2", [.tutor], confirmed: true)
        await expectError(.permissionDenied) {
            try await s.session("head").identityRecovery.approve(request.id)
        }
        #expect(try await s.session("price").identityRecovery.cancelOwnRequests().isEmpty)
    }

    @Test("a new group key makes the person's next command split their keys again")
    func escrowFollowsGroups() async throws {
        let (s, _) = try await Self.scene()
        let old = try #require(try await s.session("price").identityRecovery.escrow(of: "price"))
        try await s.session("office").administration.revoke("dsl2", confirmed: true)
        _ = try await s.session("dsl").lifecycle.catchUpGroups()
        let price = try await s.session("price")
        #expect(try await price.identityRecovery.catchUpEscrow())
        let new = try #require(try await price.identityRecovery.escrow(of: "price"))
        #expect(new.holders != old.holders && new.splitID != old.splitID)
        // After a passphrase change the escrow follows the new keys at once.
        try await price.lifecycle.changePassphrase(to: Passphrase(Self.newPassphrase))
        let renewed = try await s.f.vault.unlock(
            "price", passphrase: Passphrase(Self.newPassphrase))
        #expect(
            try await renewed.identityRecovery.escrow(of: "price")?.identity
                == renewed.principal.identity)
    }
}
