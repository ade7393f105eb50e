import Foundation
import Testing
import TutelaCrypto

@testable import Tutela

/// The ninth red-team pass: identity recovery, attacked by an administrator who keeps the code, by
/// approvers, by insiders who write the database, and by a person holding two approver roles.
@Suite("Red team 9")
struct RedTeam9Tests {
    typealias IR = IdentityRecoveryTests

    /// What the shares released to `requests` rebuild, opened with their codes by the
    /// administrator who printed them, with a copy of the database taken when `escrow` was
    /// Price's: nil when they rebuild nothing.
    static func rebuiltFromDatabase(
        _ s: SafeguardingFixture, requests: [(RecoveryRequest, SecretBytes)],
        escrow: IdentityEscrow
    ) async throws -> PublicIdentity? {
        let office = try await s.session("office")
        var shares: [SecretBytes] = []
        var adminHalf: SecretBytes?
        for (request, code) in requests {
            let key = try EnrolmentCode.recoveryKey(
                code: try IR.code(code), principal: request.principal,
                vaultID: office.meta.vaultID)
            adminHalf = try BoundBox.open(
                request.adminBox, kind: .recovery, binding: request.adminBinding, with: key,
                what: "half")
            for a in try await office.facts(RecoveryApproval.self, about: request.id.text) {
                shares.append(
                    try BoundBox.open(
                        a.box, kind: .recovery, binding: request.binding, with: key, what: "share"))
            }
        }
        guard let adminHalf else { return nil }
        return try rebuild(shares, adminHalf: adminHalf, escrow: escrow)
    }

    /// Opens an escrow with approvers' shares and the administrators' half, as anyone holding
    /// them could: nil when they do not open it.
    static func rebuild(
        _ shares: [SecretBytes], adminHalf: SecretBytes, escrow: IdentityEscrow
    ) throws -> PublicIdentity? {
        let pieces = try shares.map { try SecretShare(serialized: $0) }
        guard let approversHalf = try? SecretSharing.combine(pieces) else { return nil }
        let key = try IdentityRecovery.escrowKey(
            approvers: approversHalf, administrators: adminHalf, split: escrow.splitID)
        guard
            let keys = try? XChaCha20Poly1305.open(
                escrow.sealed, key: key,
                authenticating: IdentityEscrow.associatedData(
                    escrow.principal, split: escrow.splitID, identity: escrow.identity))
        else { return nil }
        return Identity(
            principal: escrow.principal, signing: try SigningPrivateKey(seed: keys.slice(0..<32)),
            agreement: try KeyAgreementPrivateKey(secret: keys.slice(32..<64))
        ).publicIdentity
    }

    /// Price's escrow as it stands (an insider's copy of the row).
    static func escrow(_ s: SafeguardingFixture) async throws -> IdentityEscrow {
        try #require(try await s.session("office").identityRecovery.escrow(of: "price"))
    }

    static func current(_ s: SafeguardingFixture) async throws -> PublicIdentity {
        try await s.session("office").directory.principals["price"]?.identity
            ?? Identity.generate(principal: "nobody").publicIdentity
    }

    @Test("a cancelled request's released shares no longer rebuild the person's keys")
    func cancelledRequestSharesStillRebuildKeys() async throws {
        let (s, label) = try await IR.scene()
        let copy = try await Self.escrow(s)
        let (request, code) = try await s.session("office").identityRecovery.request(
            "price", reason: "says they lost it")
        try await s.session("head").identityRecovery.approve(request.id)
        try await s.session("dsl").identityRecovery.approve(request.id)
        // Price did not ask: they cancel. The office kept the code and a copy of the rows.
        try await s.session("price").identityRecovery.cancel(
            request.id, renewingKeysUnder: Fixture.passphrase("price"))
        let rebuilt = try await Self.rebuiltFromDatabase(
            s, requests: [(request, code.text)], escrow: copy)
        #expect(rebuilt != nil)
        let current = try await Self.current(s)
        #expect(rebuilt != current)
        // Price's passphrase still opens their own tutorial, under their new keys.
        #expect(try await s.session("price").open(label.record).form != nil)
    }

    @Test("a request an administrator cancels after a quorum: the person's next command renews")
    func adminCancelledQuorumRenewsKeys() async throws {
        let (s, _) = try await IR.scene()
        let copy = try await Self.escrow(s)
        let (request, code) = try await s.session("office").identityRecovery.request(
            "price", reason: "lost passphrase")
        try await s.session("head").identityRecovery.approve(request.id)
        try await s.session("dsl").identityRecovery.approve(request.id)
        try await s.session("office").identityRecovery.cancel(request.id)
        #expect(
            try await s.session("price").identityRecovery.renewIfReleased(
                passphrase: Fixture.passphrase("price")))
        let rebuilt = try await Self.rebuiltFromDatabase(
            s, requests: [(request, code.text)], escrow: copy)
        let current = try await Self.current(s)
        #expect(rebuilt != nil && rebuilt != current)
        // Once renewed, nothing more to do.
        #expect(
            try await s.session("price").identityRecovery.renewIfReleased(
                passphrase: Fixture.passphrase("price")) == false)
    }

    @Test("one approval on each of two requests never adds up to a quorum for their codes' holder")
    func approvalsSpreadOverTwoRequests() async throws {
        let (s, _) = try await IR.scene()
        let copy = try await Self.escrow(s)
        let office = try await s.session("office")
        let (first, firstCode) = try await office.identityRecovery.request("price", reason: "one")
        try await s.session("head").identityRecovery.approve(first.id)
        try await s.session("office").identityRecovery.cancel(first.id)
        let (second, secondCode) = try await s.session("office").identityRecovery.request(
            "price", reason: "two")
        await expectError(.permissionDenied) {
            try await s.session("dsl").identityRecovery.approve(second.id)
        }
        let spread = try await Self.rebuiltFromDatabase(
            s, requests: [(first, firstCode.text), (second, secondCode.text)], escrow: copy)
        let current = try await Self.current(s)
        #expect(spread != current)
        // The honest way still works: the head of centre approves the new request first.
        try await s.session("head").identityRecovery.approve(second.id)
        try await s.session("dsl").identityRecovery.approve(second.id)
        _ = try await s.f.vault.recoverIdentity(
            "price", code: try IR.code(secondCode.text), passphrase: Passphrase(IR.newPassphrase))
    }

    @Test("a cancellation written in by a tutor is tampering, not a cancellation")
    func tutorForgesCancel() async throws {
        let (s, _) = try await IR.scene()
        let (request, _) = try await s.session("office").identityRecovery.request(
            "price", reason: "lost passphrase")
        let jones = try await s.session("jones")
        let forged = try jones.sign(
            RecoveryUse(request: request.id, time: request.created, signer: "jones"))
        try await s.f.store.transaction(
            jones.committedWrite(as: .recoveryCancel, subject: "price") { tx in
                try await tx.put(forged)
            })
        await expectError(.tampered) {
            try await s.session("head").identityRecovery.approve(request.id)
        }
    }

    @Test("an administrator's request for their own keys, written in, is never approved")
    func adminForgesRequestForThemself() async throws {
        let (s, _) = try await IR.scene()
        try await s.session("office").administration.enrol(
            "admin2", name: "Second admin", roles: [.admin],
            passphrase: Fixture.passphrase("admin2"))
        let admin = try await s.session("admin2")
        #expect(try await admin.identityRecovery.catchUpEscrow())
        let admin2 = try await s.session("admin2")
        await expectError(.permissionDenied) {
            try await admin2.identityRecovery.request("admin2", reason: "x")
        }
        let now = admin2.vault.clock.now()
        let code = try EnrolmentCode.generate(for: "admin2", expires: now + 3600)
        let key = try EnrolmentCode.recoveryKey(
            code: code.text, principal: "admin2", vaultID: admin2.meta.vaultID)
        let forged = RecoveryRequest(
            id: "IR-SELF-SELF-SELF", principal: "admin2", requester: "admin2", reason: "mine",
            created: now, expires: now + 3600, approvalsNeeded: 2, codeKey: key.publicKey,
            splitID: try #require(try await admin2.identityRecovery.escrow(of: "admin2")).splitID,
            adminBox: [])
        let signed = try admin2.sign(forged)
        try await s.f.store.transaction(
            admin2.committedWrite(as: .recoveryRequest, subject: "admin2") { tx in
                try await tx.put(signed)
            })
        for who: PrincipalID in ["head", "dsl"] {
            await expectError(.permissionDenied) {
                try await s.session(who).identityRecovery.approve(forged.id)
            }
        }
    }

    @Test("one person holding both approver roles cannot rebuild anyone's keys alone, unasked")
    func dualRoleHolderRebuildsAlone() async throws {
        let (s, _) = try await IR.scene()
        try await s.session("office").administration.setRoles(
            "head", [.headOfCentre, .safeguardingOfficer], confirmed: true)
        _ = try await s.session("dsl").lifecycle.catchUpGroups()
        let head = try await s.session("head")
        let escrow = try #require(try await head.identityRecovery.escrow(of: "price"))
        var shares: [SecretBytes] = []
        for box in escrow.boxes {
            guard let key = try? await head.groupKey(box.role, version: box.version) else {
                continue
            }
            shares.append(
                try BoundBox.open(
                    box.box, kind: .escrow,
                    binding: IdentityEscrow.binding(
                        "price", split: escrow.splitID,
                        .group(box.role, version: box.version)),
                    with: key, what: "share"))
        }
        // They hold the whole approvers' half, straight from the database...
        #expect(shares.count >= escrow.threshold)
        // ...but the administrators' half is sealed only to administrators, and without it the
        // escrow does not open: no guess of it does.
        #expect(!escrow.admins.contains { $0.id == "head" })
        for guess in [try SecretBytes.random(count: 32), try SecretBytes(zeroedCount: 32)] {
            #expect(try Self.rebuild(shares, adminHalf: guess, escrow: escrow) == nil)
        }
    }
}
