import Foundation
import Testing
import TutelaCrypto

@testable import Tutela

/// Attacks by people the vault trusts a little: a member of staff with an account who can also
/// write the vault's files, and a leaver whose key is still on disk (#18). Each test performs the
/// attack and asserts that Tutela refuses it.
@Suite("Attacks by enrolled staff and leavers")
struct AttackTests {
    /// The centre with a second administrator, enrolled by the authority.
    static func withAdmin() async throws -> Fixture {
        let f = try await Fixture.make()
        try await f.session("office").administration.enrol(
            "deputy", name: "Deputy admin", roles: [.admin],
            passphrase: Fixture.passphrase("deputy"))
        return f
    }

    @Test("an administrator cannot re-key the authority, live or by a forged statement")
    func rekeyAuthority() async throws {
        let f = try await Self.withAdmin()
        let deputy = try await f.vault.unlock("deputy", passphrase: Fixture.passphrase("deputy"))
        // Live: refused before anything is signed.
        await expectError(.permissionDenied) {
            try await deputy.administration.rekey(
                "office", passphrase: Passphrase("the deputy's choice for office"))
        }
        _ = try await f.vault.unlock("office", passphrase: Fixture.passphrase("office"))
        // Forged: the deputy signs the statement with their own key and writes it in.
        let fresh = try Identity.generate(principal: "office")
        let statement = DirectoryStatement.rekey(
            principal: "office", signingKey: fresh.publicIdentity.signingKey.bytes,
            agreementKey: fresh.publicIdentity.agreementKey.bytes)
        let last = try await f.store.links(.directory).last
        let forged = try SignedChain.link(
            .directory, after: last, body: statement.encode(at: 0), signer: deputy.identity)
        try await f.store.transaction { tx in try await tx.append(forged, to: .directory) }
        await expectError(.tampered) { try await f.vault.verifiedDirectory() }
        // The authority re-keys itself.
        let g = try await Self.withAdmin()
        try await g.session("office").administration.rekey(
            "office", passphrase: Passphrase("the office's own new passphrase"))
        _ = try await g.vault.unlock(
            "office", passphrase: Passphrase("the office's own new passphrase"))
    }

    @Test("a checkpoint signed by someone the policy does not allow, or by a leaver, is refused")
    func checkpointSigners() async throws {
        let f = try await Fixture.make()
        let report = try await f.vault.verifyAudit(checkpoint: nil)
        let meta = try await f.store.meta()
        let head = try #require(report.head)
        func signed(by who: PrincipalID) async throws -> Checkpoint {
            let identity = try await f.vault.unlock(who, passphrase: Fixture.passphrase(who))
                .identity
            return try Checkpoint.make(
                vaultID: meta.vaultID, entries: Int64(report.entries), head: head, time: 1,
                signer: identity)
        }
        // A learner and a tutor hold keys but may not sign checkpoints (the shipped policy).
        for who: PrincipalID in ["sam", "price"] {
            let forged = try await signed(by: who)
            let error = await expectError(.invalidInput) {
                try await f.vault.verifyAudit(checkpoint: forged)
            }
            #expect(error?.message.contains("may not sign checkpoints") == true)
            await expectError(.permissionDenied) { try await f.session(who).checkpoint() }
        }
        // The record keeper may; once revoked, their old key signs nothing that counts.
        let hale = try await signed(by: "hale")
        _ = try await f.vault.verifyAudit(checkpoint: hale)
        try await f.session("office").administration.revoke("hale")
        await expectError(.invalidInput) { try await f.vault.verifyAudit(checkpoint: hale) }
    }

    @Test("someone revoked part-way through an import stops at the next batch")
    func revokedDuringImport() async throws {
        let f = try await Fixture.make()
        let file = try RefreshTests.formsFile(learner: "sam", count: 10)
        defer { try? FileManager.default.removeItem(at: file) }
        // The office revokes Price just before the second batch is written.
        try await RefreshTests.interleave(.revoke(principal: "price"), skipping: 1, in: f)
        let price = try await f.vault.unlock("price", passphrase: Fixture.passphrase("price"))
        await expectError(.permissionDenied) {
            try await price.importForms(file.path, confidential: false, batchSize: 2)
        }
        // The batch written before the revocation is kept; the next, already sealed in memory
        // (imports are pipelined), is refused in the transaction that would store it.
        #expect(try await f.store.labels(learner: nil).count == 2)
    }

    @Test("a request written in by someone who may not request break-glass is never approved")
    func forgedBreakGlassRequest() async throws {
        let s = try await SafeguardingFixture.make()
        let label = try await s.session("price").seal(Fixture.form(), confidential: true)
        // Jones (a tutor, not a safeguarding officer) signs a request and writes it in.
        let jones = try await s.session("jones")
        let request = BreakGlassRequest(
            id: "BG-FAKE-0000-0001", record: label.record, requester: "jones", reason: "curious",
            created: 1_795_300_000, expires: 1_795_300_000 + 86_400, approvalsNeeded: 2)
        let signed = try jones.sign(request)
        // Written in with a log entry of the signer's own committing to it, as an insider
        // with their key and the database files would.
        try await s.f.store.transaction(jones.committedWrite { tx in try await tx.put(signed) })
        for approver: PrincipalID in ["head", "dsl"] {
            let error = await expectError(.permissionDenied) {
                try await s.session(approver).breakGlass.approve(request.id)
            }
            #expect(error?.message.contains("may not request break-glass") == true)
        }
        await expectError(.permissionDenied) { try await jones.breakGlass.open(request.id) }
        #expect(try await s.f.store.objects(kind: FactKind.approval.rawValue, key: nil).isEmpty)
    }

    @Test("destruction never acts on a label row that is not the one its author signed")
    func destroyOnEditedLabelRow() async throws {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(Fixture.form(), confidential: false)
        // The row now says the record is about Alex (whose dates would make it due sooner).
        var w = CanonicalWriter()
        w.u8(1)
        w.string(label.record.text)
        w.string(label.recordClass.rawValue)
        w.string("alex")
        w.string(label.author.text)
        w.string(label.created.description)
        w.string(label.tutorialDate.description)
        w.string(label.policyVersion)
        w.strings(label.copies.map(\.rawValue))
        w.string(label.envelopeText)
        let edited = w.bytes
        await f.store.tamper(record: label.record) {
            StoredRecord(
                record: $0.record, labelBytes: edited, sealedBytes: $0.sealedBytes,
                slots: $0.slots)
        }
        await expectError(.tampered) {
            try await f.session("hale").retention.destroy(label.record)
        }
        #expect(try await f.store.record(label.record) != nil)
    }

    @Test("a box of one kind is never taken for another: slots, member boxes, shares, approvals")
    func typedBoxes() async throws {
        let key = try KeyAgreementPrivateKey()
        let secret = try SecretBytes.random(count: 32)
        let record: RecordID = "R-AAAA-BBBB-CCCC"
        let member = try BoundBox.seal(
            secret, kind: .groupMember, binding: "group:safeguarding-officer#1/dsl",
            to: key.publicKey)
        // The member box, filed as a slot (even of a record named like its binding), opens to
        // nothing.
        for id: RecordID in [record, "group-safeguarding-officer-1"] {
            let forged = Slot(record: id, recipient: "dsl", box: member)
            await expectError(.tampered) { try forged.open(with: key, expecting: id) }
        }
        let share = try BoundBox.seal(
            secret, kind: .share, binding: "\(record)/group:head-of-centre#1", to: key.publicKey)
        let approval = try BoundBox.seal(
            secret, kind: .approval, binding: "BG-1/dsl", to: key.publicKey)
        await expectError(.tampered) {
            try BoundBox.open(
                share, kind: .approval, binding: "\(record)/group:head-of-centre#1", with: key,
                what: "a share as an approval")
        }
        await expectError(.tampered) {
            try BoundBox.open(
                approval, kind: .share, binding: "BG-1/dsl", with: key,
                what: "an approval as a share")
        }
        await expectError(.tampered) {
            try BoundBox.open(
                approval, kind: .approval, binding: "BG-1/price", with: key,
                what: "an approval for another requester")
        }
        // A slot opens only for its own record, recipient and envelope generation.
        let slot = try Slot.make(
            record: record, generation: 2, key: secret, recipient: "dsl", to: key.publicKey)
        #expect(
            try slot.open(with: key, expecting: record, generation: 2).unprotectedCopy()
                == secret.unprotectedCopy())
        await expectError(.tampered) { try slot.open(with: key, expecting: record, generation: 1) }
        let moved = Slot(record: record, recipient: "price", box: slot.box)
        await expectError(.tampered) { try moved.open(with: key, expecting: record, generation: 2) }
    }

    @Test("a slot holding anything but the record's data key is never re-sealed to anyone")
    func regrantConfirmsTheKey() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let label = try await price.seal(Fixture.form(), confidential: false)
        // Price's slot is swapped for a well-formed one carrying some other secret, and Sam's is
        // removed, so a re-grant by Price would seal "the key" to Sam.
        let other = try Slot.make(
            record: label.record, generation: 1, key: try SecretBytes.random(count: 32),
            recipient: "price", to: price.identity.publicIdentity.agreementKey)
        await f.store.tamper(record: label.record) {
            StoredRecord(
                record: $0.record, labelBytes: $0.labelBytes, sealedBytes: $0.sealedBytes,
                slots: $0.slots.filter { $0.recipient != "sam" && $0.recipient != "price" }
                    + [other])
        }
        await expectError(.tampered) {
            try await f.vault.unlock("price", passphrase: Fixture.passphrase("price"))
                .lifecycle.regrant(record: label.record)
        }
        let slots = try #require(await f.store.record(label.record)).slots.map(\.recipient)
        #expect(!slots.contains("sam"))
    }

    @Test("an older vault with the newest audit row copied in does not pass this machine's pin")
    func copiedHeadRow() async throws {
        let f = try await Fixture.make()
        let pins = MemoryPins()
        let vault = Vault(store: f.store, clock: f.vault.clock, pins: pins)
        let price = try await vault.unlock("price", passphrase: Fixture.passphrase("price"))
        let old = try await f.store.links(.audit)
        for _ in 0..<3 { _ = try await price.seal(Fixture.form(), confidential: false) }
        try await price.settle()
        let full = try await f.store.links(.audit)
        let newest = try #require(full.last)
        // The old copy restored, with the one row this machine's pin names copied in at its place.
        await f.store.tamper(chain: .audit) { _ in old + [newest] }
        await expectError(.tampered) {
            try await vault.unlock("price", passphrase: Fixture.passphrase("price"))
        }
        // A pinned row whose stored hash was made to match, over other contents, fails too.
        await f.store.tamper(chain: .audit) { _ in
            var links = full
            let last = links.removeLast()
            links.append(
                ChainLink(
                    sequence: last.sequence, previousHash: last.previousHash,
                    signer: last.signer, body: last.body + [0], signature: last.signature,
                    hash: last.hash))
            return links
        }
        await expectError(.tampered) {
            try await vault.unlock("price", passphrase: Fixture.passphrase("price"))
        }
    }
}
