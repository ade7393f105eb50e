import Foundation
import Testing
import TutelaCrypto

@testable import Tutela

/// Red team, fourth pass (2026-12-03): attacks on re-sealed envelopes (format v4, commit 79fa9b5):
/// the author's carried signature, the sealer judged by `Directory.asOf(sealedAt)`, and
/// `audit verify` tying each re-seal to a `reencrypt` entry its sealer signed. Each test asserts the
/// secure behaviour: it fails when the attack lands.
@Suite("Red team 4")
struct RedTeam4Tests {
    // MARK: - Helpers

    /// Commits `write` with a `reencrypt` entry of `committer`'s own, with `reason` (an insider who
    /// writes rows and signs what their own key can sign).
    static func commit(
        _ f: Fixture, as committer: Session, subject: RecordID, reason: String,
        _ write: @escaping @Sendable (any VaultTransaction) async throws -> Void
    ) async throws {
        let entry = committer.auditEntry(.reencrypt, subject: subject.text, reason: reason)
        let (identity, directory) = (committer.identity, committer.directory)
        try await f.store.transaction { tx in
            try await StateTransaction.within(tx, directory: directory, cache: nil) { state in
                try await write(state)
                try await Session.appendAudit(entry, tx: state, signer: identity)
            }
        }
    }

    /// Re-seals `record` with contents `marker`, signed by `sealer` under the directory's first
    /// `sealedAt` statements, with slots for `readers`; committed by `committer`'s own entry, which
    /// names the new envelope by hash exactly as `Lifecycle.reencrypt` would when `named`.
    static func forge(
        _ f: Fixture, _ record: RecordID, sealer: Identity, committer: Session,
        sealedAt: Int64? = nil, readers: [PrincipalID], marker: String = "forged contents",
        named: Bool = true
    ) async throws {
        let stored = try #require(await f.store.record(record))
        let original = try Envelope.parse(stored.envelopeBytes)
        let (_, directory) = try await f.vault.verifiedDirectory()
        let shred = try Session.newShredKey()
        let plaintext = try Session.encode(
            .progressReview(try Fixture.form(learner: original.label.learner, marker: marker)))
        let (forged, key) = try Envelope.seal(
            plaintext, label: original.label, author: sealer, shredKey: shred,
            resealing: (
                original.generation + 1, sealedAt ?? directory.statementCount,
                try original.authorship()
            ))
        let slots = try readers.map { reader in
            try Slot.make(
                record: record, generation: forged.generation, key: key, recipient: .person(reader),
                to: try #require(directory.principals[reader]).identity.agreementKey)
        }
        try await f.store.putShredKeys([(forged.shredKeyID, shred)])
        let (old, sealed) = (stored.slots, forged.sealedBytes)
        let reason =
            named
            ? ResealCheck.reason(
                generation: forged.generation, slots: slots.count,
                sealed: try StateMap.hash(sealed))
            : "fresh keys"
        try await commit(f, as: committer, subject: record, reason: reason) { tx in
            try await tx.replaceEnvelope(record: record, sealed: sealed)
            for s in old { try await tx.deleteSlot(record: s.record, recipient: s.recipient) }
            for s in slots { try await tx.insert(s) }
        }
    }

    /// Puts back an earlier version of a record — its sealed envelope, its slots and its shred key
    /// (kept from a backup of the key store) — committed by `committer`'s own plain entry.
    static func restore(
        _ f: Fixture, _ saved: StoredRecord, shredKey: (String, SecretBytes), committer: Session
    ) async throws {
        let current = try #require(await f.store.record(saved.record))
        try await f.store.putShredKeys([shredKey])
        let (record, sealed, oldSlots, newSlots) = (
            saved.record, saved.sealedBytes, saved.slots, current.slots
        )
        try await commit(f, as: committer, subject: record, reason: "a write of rows") { tx in
            try await tx.replaceEnvelope(record: record, sealed: sealed)
            for s in newSlots { try await tx.deleteSlot(record: s.record, recipient: s.recipient) }
            for s in oldSlots { try await tx.insert(s) }
        }
    }

    // MARK: - Honest re-seals refused

    @Test("a session that appended directory statements can still read an honest re-seal's label")
    func adminSessionJudgesHonestReseal() async throws {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(Fixture.form(), confidential: false)
        try await f.session("price").lifecycle.reencrypt(label.record)
        // The office's session enrolled everyone: every statement it appended is in its directory,
        // but not in the statements `asOf` replays.
        let office = try f.session("office")
        let decision = try await office.explain(label.record, action: .viewLabel)
        #expect(decision.allowed)
    }

    @Test("an honest re-seal by an administrator who is also a tutor opens for everyone")
    func honestResealByAdminTutor() async throws {
        let f = try await Fixture.make()
        _ = try await f.session("office").administration.enrol(
            "vice", name: "Vice Principal", roles: [.admin, .tutor],
            passphrase: Fixture.passphrase("vice"))
        let vice = try await f.vault.unlock("vice", passphrase: Fixture.passphrase("vice"))
        // The vice principal adds a learner they tutor: the statement is in their session's
        // directory, but not among the statements it counts.
        try await vice.administration.addLearner(
            "kim", name: "Kim Lee", tutor: "vice", dateOfBirth: nil, programme: nil)
        let price = try f.session("price")
        try await price.refresh()
        let label = try await price.seal(
            Fixture.form(learner: "kim", marker: "kim's review"), confidential: false)
        // The vice principal, Kim's tutor, re-seals honestly through `reencrypt`.
        try await vice.lifecycle.reencrypt(label.record)
        let opened = try await price.open(label.record)
        #expect(opened.form?.comments == "kim's review")
        _ = try await f.vault.verifyAudit(checkpoint: nil)
    }

    // MARK: - Forged re-seals accepted

    @Test(
        "a re-seal backdated to before its sealer lost access, of a record written after, is refused"
    )
    func backdatedByDemotedInsider() async throws {
        let f = try await Fixture.make()
        let (_, before) = try await f.vault.verifiedDirectory()
        // Jones tutors Alex — until he becomes a head of centre (label-only for tutorials).
        try await f.session("office").administration.setRoles("jones", [.headOfCentre])
        let jones = try f.session("jones")
        try await jones.refresh()
        let price = try f.session("price")
        try await price.refresh()
        // Written after Jones lost access: he never could read it.
        let label = try await price.seal(
            Fixture.form(learner: "alex", marker: "the real review"), confidential: false)
        await expectError(.permissionDenied) { try await jones.open(label.record) }
        // Jones re-seals it with contents of his own, dated to a directory in which he tutored
        // Alex (and the record did not exist), and names his envelope in an entry of his own.
        try await Self.forge(
            f, label.record, sealer: jones.identity, committer: jones,
            sealedAt: before.statementCount, readers: ["price"])
        let refused = await expectError(.tampered) { try await price.open(label.record) }
        #expect(refused != nil, "the forged contents opened as Price's record")
        await expectError(.tampered) { try await f.vault.verifyAudit(checkpoint: nil) }
    }

    @Test("contents swapped by writing rows are found by audit verify, even with a named entry")
    func rowWrittenResealWithNamedEntry() async throws {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(
            Fixture.form(marker: "what Sam said"), confidential: false)
        // Price may re-seal; SECURITY.md says doing it by writing rows rather than `reencrypt` is
        // found by `audit verify`. Price writes the rows and signs an entry naming the envelope.
        let price = try f.session("price")
        try await Self.forge(
            f, label.record, sealer: price.identity, committer: price, readers: ["sam", "price"])
        // The contents are not the ones the author committed to: opening refuses them. (`audit
        // verify` holds no keys, so cannot see contents; the entry is Price's own.)
        // Staff are told what did not match (a learner only that the vault does not match).
        let sam = try await f.vault.unlock("price", passphrase: Fixture.passphrase("price"))
        let error = await expectError(.tampered) { try await sam.open(label.record) }
        #expect(error?.message.contains("not the ones its author sealed") == true)
    }

    // MARK: - Rollback and replay

    @Test("the original envelope put back after a re-encryption is refused")
    func rollbackToOriginal() async throws {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(
            Fixture.form(marker: "original"), confidential: false)
        let saved = try #require(await f.store.record(label.record))
        let shredID = Envelope.shredKeyID(label.record, generation: 1)
        let oldShred = try #require(await f.store.shredKey(shredID))
        // Price's key is suspected exposed; the record is re-encrypted under fresh keys.
        try await f.session("price").lifecycle.reencrypt(label.record)
        // An insider with the files puts the original envelope, slots and shred key back.
        let jones = try f.session("jones")
        try await Self.restore(f, saved, shredKey: (shredID, oldShred), committer: jones)
        let sam = try await f.vault.unlock("sam", passphrase: Fixture.passphrase("sam"))
        let opened = try? await sam.open(label.record)
        let audit = await expectError(.tampered) { try await f.vault.verifyAudit(checkpoint: nil) }
        #expect(
            opened == nil || audit != nil,
            "the re-encryption was undone: generation 1 opens and audit verify passes")
    }

    @Test("an older re-seal replayed over a newer one is found by audit verify")
    func generationReplay() async throws {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(Fixture.form(), confidential: false)
        try await f.session("price").lifecycle.reencrypt(label.record)
        let second = try #require(await f.store.record(label.record))
        let shredID = Envelope.shredKeyID(label.record, generation: 2)
        let shred = try #require(await f.store.shredKey(shredID))
        try await f.session("price").lifecycle.reencrypt(label.record)
        try await Self.restore(f, second, shredKey: (shredID, shred), committer: f.session("jones"))
        await expectError(.tampered) { try await f.vault.verifyAudit(checkpoint: nil) }
    }

    // MARK: - sealedAt at the edges

    @Test("a re-seal claiming no directory, a negative one or one far in the future is refused")
    func sealedAtEdges() async throws {
        for sealedAt: Int64 in [0, -1, 1, Int64.max] {
            let f = try await Fixture.make()
            let label = try await f.session("price").seal(Fixture.form(), confidential: false)
            let price = try f.session("price")
            try await Self.forge(
                f, label.record, sealer: price.identity, committer: price, sealedAt: sealedAt,
                readers: ["sam"])
            let sam = try await f.vault.unlock("sam", passphrase: Fixture.passphrase("sam"))
            await expectError(.tampered) { try await sam.open(label.record) }
        }
    }

    // MARK: - Who may re-seal

    @Test("a learner withheld from a flagged record cannot re-seal it with contents of their own")
    func withheldLearnerReseals() async throws {
        let s = try await SafeguardingFixture.make()
        let label = try await RedTeam3Tests.flaggedRecord(s)
        let sam = try s.f.session("sam")
        // Flagged: Sam may neither open nor re-seal it through Tutela; to him it does not exist.
        await expectError(.notFound) { try await sam.open(label.record) }
        await expectError(.notFound) { try await sam.lifecycle.reencrypt(label.record) }
        // Sam, with the files, re-seals it anyway; opening checks him flagged or not.
        try await Self.forge(
            s.f, label.record, sealer: sam.identity, committer: sam, readers: ["price"],
            marker: "nothing to worry about")
        let price = try await s.session("price")
        let opened = try? await price.open(label.record)
        #expect(
            opened?.form?.comments != "nothing to worry about",
            "Sam's contents opened as Price's flagged record")
        await expectError(.tampered) { try await price.open(label.record) }
    }

    @Test("a safeguarding officer cannot re-seal a record that was never flagged")
    func officerResealsUnflagged() async throws {
        let s = try await SafeguardingFixture.make()
        let label = try await s.session("price").seal(
            Fixture.form(marker: "in confidence"), confidential: true)
        let dsl = try s.f.session("dsl")
        // Unflagged: the officer opens it only through break-glass, and may not re-seal it.
        await expectError(.permissionDenied) { try await dsl.lifecycle.reencrypt(label.record) }
        // With the files, they re-seal it anyway; opening lets anyone who could disclose it if it
        // were flagged.
        try await Self.forge(
            s.f, label.record, sealer: dsl.identity, committer: dsl, readers: ["price"],
            marker: "rewritten by the officer")
        let price = try await s.session("price")
        let opened = try? await price.open(label.record)
        #expect(
            opened?.form?.comments != "rewritten by the officer",
            "the officer's contents opened as Price's unflagged record")
        await expectError(.tampered) { try await price.open(label.record) }
    }

    // MARK: - Destroyed records

    @Test("a destroyed record put back as a re-seal is refused by the state and does not open")
    func resealOfDestroyedRecord() async throws {
        let f = try await Fixture.make()
        try await f.session("office").administration.enrol(
            "keeper2", name: "K2", roles: [.recordKeeper], passphrase: Fixture.passphrase("keeper2")
        )
        let label = try await f.session("price").seal(
            Fixture.form(marker: "to be shredded"), confidential: false)
        try await f.session("office").administration.learnerLeft(
            "sam", on: #require(CalendarDate("2027-07-20")))
        let saved = try #require(await f.store.record(label.record))
        func on(_ who: PrincipalID) async throws -> Session {
            try await Vault(store: f.store, clock: Clock { midnight("2035-06-01") })
                .unlock(who, passphrase: Fixture.passphrase(who))
        }
        _ = try await on("keeper2").retention.destroy(label.record)
        guard case .destroyed = try await on("hale").retention.destroy(label.record) else {
            Issue.record("not destroyed")
            return
        }
        // Price kept the contents; he puts the record back as a re-seal of his own, naming it.
        let price = try await on("price")
        let original = try Envelope.parse(saved.envelopeBytes)
        let shred = try Session.newShredKey()
        let (forged, key) = try Envelope.seal(
            try Session.encode(.progressReview(try Fixture.form(marker: "back from the dead"))),
            label: original.label, author: price.identity, shredKey: shred,
            resealing: (2, price.directory.statementCount, try original.authorship()))
        let slot = try Slot.make(
            record: label.record, generation: 2, key: key, recipient: .person("price"),
            to: price.identity.publicIdentity.agreementKey)
        try await f.store.putShredKeys([(forged.shredKeyID, shred)])
        let sealed = forged.sealedBytes
        let row = StoredRecord(
            record: label.record, labelBytes: saved.labelBytes, sealedBytes: sealed, slots: [slot])
        let entry = price.auditEntry(
            .reencrypt, subject: label.record.text,
            reason: ResealCheck.reason(
                generation: 2, slots: 1, sealed: try StateMap.hash(sealed)))
        let (identity, directory) = (price.identity, price.directory)
        // The row goes in behind the state's back, then the state is asked to take it as a
        // re-seal: it must refuse, as the state says the record has no envelope.
        await expectError(.tampered) {
            try await f.store.transaction { tx in
                try await tx.insert(row)
                try await StateTransaction.within(tx, directory: directory, cache: nil) { state in
                    try await state.replaceEnvelope(record: label.record, sealed: sealed)
                    try await Session.appendAudit(entry, tx: state, signer: identity)
                }
            }
        }
        let opened = try? await price.open(label.record)
        #expect(opened == nil, "a destroyed record opened again")
        _ = try await f.vault.verifyAudit(checkpoint: nil)
    }

    // MARK: - The state map's rows

    @Test("a bucket row filed under another spelling of its name is found by audit verify")
    func bucketRowRespelled() async throws {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(Fixture.form(), confidential: false)
        try await f.session("price").lifecycle.reencrypt(label.record)
        let name = StateMap.prefix(StateKey.record(label.record).bucket, depth: 4)
        // The same bucket number by `UInt16(_:radix:)`: upper-case hex, or a "+" for a leading 0.
        let respelled =
            name.uppercased() != name
            ? name.uppercased() : name.hasPrefix("0") ? "+" + name.dropFirst() : nil
        guard let respelled else { return }  // an all-digit name with no other spelling
        await f.store.tamper { state in
            guard let row = state.objects[StateMap.bucketKind]?[name] else { return }
            state.objects[StateMap.bucketKind]?[name] = nil
            state.objects[StateMap.bucketKind]?[respelled] = StoredObject(
                kind: row.kind, id: respelled, key: respelled, body: row.body)
        }
        // Every read of the record now fails; audit verify must not call the vault sound.
        let sam = try await f.vault.unlock("sam", passphrase: Fixture.passphrase("sam"))
        let read = try? await sam.open(label.record)
        let audit = await expectError(.tampered) { try await f.vault.verifyAudit(checkpoint: nil) }
        #expect(
            read != nil || audit != nil,
            "bucket \(name) as \(respelled): unreadable, and audit verify passes")
    }
}
