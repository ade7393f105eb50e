import Foundation
import Testing
import TutelaCrypto

@testable import Tutela

/// Issue 18, item 1: a re-sealed envelope is accepted only from someone the policy let re-seal that
/// record when they sealed it, never from a revoked person, and it still proves who wrote it.
@Suite("Re-sealed envelopes")
struct ResealTests {
    /// Plays an insider with an account and the database files: re-seals `record` with their own
    /// contents, signed by `sealer` (their key, or a leaver's still on disk) as if sealed under the
    /// directory's first `sealedAt` statements, with a slot for each of `readers`, committed by an
    /// audit entry of `committer`'s own.
    static func forgeReseal(
        _ f: Fixture, _ record: RecordID, sealer: Identity, committer: Session,
        sealedAt: Int64? = nil, authorship: Envelope.Authorship? = nil,
        readers: [PrincipalID] = ["sam"]
    ) async throws {
        let stored = try #require(await f.store.record(record))
        let original = try Envelope.parse(stored.envelopeBytes)
        let (_, directory) = try await f.vault.verifiedDirectory()
        let shred = try Session.newShredKey()
        let plaintext = try Session.encode(
            .progressReview(try Fixture.form(marker: "forged contents")))
        let (forged, key) = try Envelope.seal(
            plaintext, label: original.label, author: sealer, shredKey: shred,
            resealing: (
                original.generation + 1, sealedAt ?? directory.statementCount,
                try authorship ?? original.authorship()
            ))
        let slots = try readers.map { reader in
            try Slot.make(
                record: record, generation: forged.generation, key: key, recipient: .person(reader),
                to: try #require(directory.principals[reader]).identity.agreementKey)
        }
        try await f.store.putShredKeys([(forged.shredKeyID, shred)])
        let (old, sealed) = (stored.slots, forged.sealedBytes)
        try await f.store.transaction(
            committer.committedWrite(as: .reencrypt, subject: record.text) { tx in
                try await tx.replaceEnvelope(record: record, sealed: sealed)
                for s in old { try await tx.deleteSlot(record: s.record, recipient: s.recipient) }
                for s in slots { try await tx.insert(s) }
            })
    }

    @Test("a re-seal by someone the policy never let read the record is refused on opening")
    func resealByOutsider() async throws {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(Fixture.form(), confidential: false)
        // Jones tutors Alex, not Sam: the policy lets him read nothing of Sam's.
        let jones = try f.session("jones")
        await expectError(.permissionDenied) { try await jones.lifecycle.reencrypt(label.record) }
        try await Self.forgeReseal(f, label.record, sealer: jones.identity, committer: jones)
        // Staff are told what did not match (a learner only that the vault does not match).
        let sam = try await f.vault.unlock("hale", passphrase: Fixture.passphrase("hale"))
        let error = await expectError(.tampered) { try await sam.open(label.record) }
        #expect(error?.message.contains("did not let read it") == true, "\(error?.message ?? "")")
        let learner = try await f.vault.unlock("sam", passphrase: Fixture.passphrase("sam"))
        let told = await expectError(.tampered) { try await learner.open(label.record) }
        #expect(told?.message == "the vault's records do not match its audit log")
    }

    @Test("a re-seal signed with a leaver's key after they were revoked is refused on opening")
    func resealByLeaver() async throws {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(Fixture.form(), confidential: false)
        // Price wrote it and could re-seal it — until they left. Their key is still on disk.
        let leaver = try f.session("price").identity
        try await f.session("office").administration.revoke("price")
        let jones = try f.session("jones")
        try await jones.refresh()
        try await Self.forgeReseal(f, label.record, sealer: leaver, committer: jones)
        // Staff are told what did not match (a learner only that the vault does not match).
        let sam = try await f.vault.unlock("hale", passphrase: Fixture.passphrase("hale"))
        let error = await expectError(.tampered) { try await sam.open(label.record) }
        #expect(error?.message.contains("revoked") == true, "\(error?.message ?? "")")
    }

    @Test("a re-seal that claims a directory the vault never had is refused on opening")
    func resealFromTheFuture() async throws {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(Fixture.form(), confidential: false)
        let price = try f.session("price")
        let (_, directory) = try await f.vault.verifiedDirectory()
        try await Self.forgeReseal(
            f, label.record, sealer: price.identity, committer: price,
            sealedAt: directory.statementCount + 5)
        // Staff are told what did not match (a learner only that the vault does not match).
        let sam = try await f.vault.unlock("hale", passphrase: Fixture.passphrase("hale"))
        let error = await expectError(.tampered) { try await sam.open(label.record) }
        #expect(error?.message.contains("statements") == true, "\(error?.message ?? "")")
    }

    @Test("a re-seal must carry its author's signature over the label")
    func resealWithoutTheAuthor() async throws {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(Fixture.form(), confidential: false)
        let price = try f.session("price")
        let stored = try #require(await f.store.record(label.record))
        let proof = try Envelope.parse(stored.envelopeBytes).authorship()
        // The sealer may re-seal, but the carried proof is not the author's over this label: a
        // signature of the sealer's own, or the author's over another record.
        let other = try await price.seal(Fixture.form(marker: "another"), confidential: false)
        let otherProof = try Envelope.parse(
            try #require(await f.store.record(other.record)).envelopeBytes
        ).authorship()
        for forged in [
            Envelope.Authorship(
                nonce: proof.nonce, ciphertextHash: proof.ciphertextHash,
                commitment: proof.commitment,
                signature: try f.session("jones").identity.sign(
                    Envelope.authorDigest(
                        label: label.canonical, nonce: proof.nonce,
                        ciphertextHash: proof.ciphertextHash, commitment: proof.commitment))),
            otherProof,
        ] {
            try await Self.forgeReseal(
                f, label.record, sealer: price.identity, committer: price, authorship: forged)
            // Staff are told what did not match (a learner only that the vault does not match).
            let sam = try await f.vault.unlock("hale", passphrase: Fixture.passphrase("hale"))
            let error = await expectError(.tampered) { try await sam.open(label.record) }
            #expect(
                error?.message.contains("author's signature") == true, "\(error?.message ?? "")")
        }
    }

    @Test("an honest re-seal still opens after its sealer leaves and the policy narrows")
    func honestResealOutlivesItsSealer() async throws {
        let s = try await SafeguardingFixture.make()
        let label = try await s.session("price").seal(
            Fixture.form(marker: "kept safe"), confidential: true)
        try await s.session("price").safeguarding.flag(label.record, reason: "ref")
        try await s.session("dsl").lifecycle.reencrypt(label.record)
        // The officer who re-sealed it leaves: what they sealed while they could stays readable,
        // and opening still says who re-sealed it.
        try await s.f.session("office").administration.revoke("dsl")
        let opened = try await s.session("price").open(label.record)
        #expect(opened.resealedBy == "dsl" && opened.form?.comments == "kept safe")
        let stored = try #require(await s.f.store.record(label.record))
        let envelope = try Envelope.parse(stored.envelopeBytes)
        #expect(envelope.label.author == "price" && envelope.generation == 2)
        // The author's proof is the one their original envelope carried.
        #expect(try envelope.authorship().signature.count == 64)
        _ = try await s.f.vault.verifyAudit(checkpoint: nil)
    }

    @Test("a re-seal of a re-seal keeps the author's original proof")
    func secondGeneration() async throws {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(Fixture.form(), confidential: false)
        let first = try Envelope.parse(
            try #require(await f.store.record(label.record)).envelopeBytes)
        try await f.session("price").lifecycle.reencrypt(label.record)
        try await f.session("price").lifecycle.reencrypt(label.record)
        let third = try Envelope.parse(
            try #require(await f.store.record(label.record)).envelopeBytes)
        #expect(third.generation == 3 && third.sealer == "price")
        #expect(try third.authorship() == first.authorship())
        let sam = try await f.vault.unlock("sam", passphrase: Fixture.passphrase("sam"))
        #expect(try await sam.open(label.record).resealedBy == "price")
    }

    @Test("a leaver's re-seal dated to before they left is found by audit verify")
    func backdatedReseal() async throws {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(Fixture.form(), confidential: false)
        let (_, before) = try await f.vault.verifiedDirectory()
        let leaver = try f.session("price").identity
        try await f.session("office").administration.revoke("price")
        // Jones commits a re-seal signed with Price's key, dated to a directory before Price left.
        let jones = try f.session("jones")
        try await jones.refresh()
        try await Self.forgeReseal(
            f, label.record, sealer: leaver, committer: jones, sealedAt: before.statementCount)
        // Opening judges the sealer by the directory they name, which lets them, but the contents
        // are not the ones the author committed to; and the log holds no re-seal Price signed,
        // which `audit verify` says.
        let sam = try await f.vault.unlock("sam", passphrase: Fixture.passphrase("sam"))
        await expectError(.tampered) { try await sam.open(label.record) }
        let error = await expectError(.tampered) { try await f.vault.verifyAudit(checkpoint: nil) }
        #expect(
            error?.message.contains("no re-seal entry signed by 'price'") == true,
            "\(error?.message ?? "")")
    }

    @Test("a re-seal the sealer may make, committed without naming it, is found by audit verify")
    func unnamedReseal() async throws {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(Fixture.form(), confidential: false)
        let price = try f.session("price")
        // Price may re-seal their own record; they swap its contents by writing rows, with an entry
        // that does not name the envelope.
        try await Self.forgeReseal(
            f, label.record, sealer: price.identity, committer: price, readers: ["sam", "price"])
        let error = await expectError(.tampered) { try await f.vault.verifyAudit(checkpoint: nil) }
        #expect(error?.message.contains("re-sealed envelope") == true, "\(error?.message ?? "")")
        // And the contents are not the ones the author committed to.
        let sam = try await f.vault.unlock("sam", passphrase: Fixture.passphrase("sam"))
        await expectError(.tampered) { try await sam.open(label.record) }
    }
}
