import Foundation
import Synchronization
import Testing
import TutelaCrypto

@testable import Tutela

@Suite("Key lifecycle")
struct LifecycleTests {
    @Test("a passphrase change re-wraps the identity only")
    func passphrase() async throws {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(Fixture.form(), confidential: true)
        try await f.session("price").lifecycle.changePassphrase(
            to: Passphrase("a brand new passphrase"))
        await expectError(.permissionDenied) {
            try await f.vault.unlock("price", passphrase: Fixture.passphrase("price"))
        }
        let price = try await f.vault.unlock(
            "price", passphrase: Passphrase("a brand new passphrase"))
        _ = try await price.open(label.record)
        await expectError(.usage) {
            try await price.lifecycle.changePassphrase(to: Passphrase("short"))
        }
        _ = try await f.vault.verifyAudit(checkpoint: nil)
    }

    @Test("a revoked principal is refused everywhere; what they wrote stays verifiable")
    func revoke() async throws {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(Fixture.form(), confidential: true)
        await expectError(.permissionDenied) {
            try await f.session("jones").administration.revoke("price")
        }
        try await f.session("office").administration.revoke("price")
        let refused = await expectError(.permissionDenied) {
            try await f.vault.unlock("price", passphrase: Fixture.passphrase("price"))
        }
        #expect(refused?.message.contains("revoked") == true)
        // The session price opened before the revocation is useless too: policy sees no roles.
        let (_, directory) = try await f.vault.verifiedDirectory()
        #expect(directory.principals["price"]?.revoked == true)
        #expect(try await f.store.slots(recipient: "price", limit: 10).isEmpty)
        // The learner still opens the record price wrote: its signature still verifies.
        _ = try await f.vault.unlock("sam", passphrase: Fixture.passphrase("sam")).open(
            label.record)
        _ = try await f.vault.verifyAudit(checkpoint: nil)
        await expectError(.exists) {
            try await f.vault.unlock("office", passphrase: Fixture.passphrase("office"))
                .administration.revoke(
                    "price")
        }
        await expectError(.usage) { try await f.session("office").administration.revoke("office") }
    }

    @Test("revoking a group member rotates the key; after re-wrap the old key opens no slot")
    func rotation() async throws {
        let s = try await SafeguardingFixture.make()
        var records: [RecordID] = []
        for _ in 0..<7 {
            let label = try await s.session("price").seal(Fixture.form(), confidential: true)
            try await s.session("price").safeguarding.flag(label.record, reason: "ref")
            records.append(label.record)
        }
        // dsl2 keeps a copy of the old group key before being revoked.
        let dsl2 = try await s.session("dsl2")
        let oldKey = try await dsl2.groupKey(.safeguardingOfficer)
        let due = try await s.session("office").administration.revoke("dsl2")
        #expect(due == [.safeguardingOfficer])
        // The remaining officer's next command makes the new key, in their own process.
        let dsl = try await s.session("dsl")
        #expect(
            try await dsl.lifecycle.rotateDueGroups().map(\.holder) == [
                "group:safeguarding-officer#2"
            ])
        let old: Recipient = "group:safeguarding-officer#1"
        #expect(try await s.f.store.boxCount(recipient: old) == (7, 7))
        let reports = Mutex<[(Int, Int)]>([])
        let summary = try await dsl.lifecycle.rewrapGroup(.safeguardingOfficer, batchSize: 3) {
            done, total in
            reports.withLock { $0.append((done, total)) }
        }
        #expect(summary.slots == 7 && summary.shares == 7)
        #expect(summary.retiredVersions == [1])
        // Progress counts slots and shares alike, forward, to the total counted before.
        let seen = reports.withLock { $0 }
        #expect(seen.map(\.0) == [3, 6, 7, 10, 13, 14])
        #expect(seen.allSatisfy { $0.1 == 14 })
        #expect(try await s.f.store.boxCount(recipient: old) == (0, 0))
        #expect(
            try await s.f.store.slots(recipient: "group:safeguarding-officer#1", limit: 100).isEmpty
        )
        // The old key opens nothing that is left: every group slot is sealed to version 2.
        for record in records {
            let stored = try #require(await s.f.store.record(record))
            for slot in stored.slots {
                guard case .group = slot.recipient else { continue }
                #expect(slot.recipient == "group:safeguarding-officer#2")
                #expect(throws: TutelaError.self) {
                    try slot.open(with: oldKey, expecting: record, generation: 1)
                }
            }
        }
        _ = try await s.session("dsl").safeguarding.disclose(records[0], reason: "after rotation")
        await expectError(.permissionDenied) { try await s.session("dsl2") }
        _ = try await s.f.vault.verifyAudit(checkpoint: nil)
    }

    @Test("a re-wrap interrupted part-way and run again ends consistent")
    func resumable() async throws {
        let s = try await SafeguardingFixture.make()
        var records: [RecordID] = []
        for _ in 0..<6 {
            let label = try await s.session("price").seal(Fixture.form(), confidential: true)
            try await s.session("price").safeguarding.flag(label.record, reason: "ref")
            records.append(label.record)
        }
        try await s.session("dsl").lifecycle.rotateGroupKey(.safeguardingOfficer)
        let dsl = try await s.session("dsl")
        // The store fails after the first batch has landed, as a crash would.
        await s.f.store.failTransactions(after: 1, with: TutelaError(.tryAgain, "crash"))
        await expectError(.tryAgain) {
            try await dsl.lifecycle.rewrapGroup(.safeguardingOfficer, batchSize: 2)
        }
        await s.f.store.failTransactions(with: nil)
        let left = try await s.f.store.slots(recipient: "group:safeguarding-officer#1", limit: 100)
            .count
        #expect(left == 4)
        let summary = try await s.session("dsl").lifecycle.rewrapGroup(
            .safeguardingOfficer, batchSize: 2)
        #expect(summary.slots == left)
        for record in records {
            let groups = try #require(await s.f.store.record(record)).slots.filter {
                if case .group = $0.recipient { true } else { false }
            }
            #expect(groups.map(\.recipient) == ["group:safeguarding-officer#2"])
            _ = try await s.session("dsl2").safeguarding.disclose(record, reason: "check")
        }
        _ = try await s.f.vault.verifyAudit(checkpoint: nil)
    }

    @Test("a lost passphrase: new keys, no back door; access returns by group sync and re-grant")
    func rekey() async throws {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(Fixture.form(), confidential: true)
        try await f.session("office").administration.rekey(
            "price", passphrase: Passphrase("price lost the old one"))
        let price = try await f.vault.unlock(
            "price", passphrase: Passphrase("price lost the old one"))
        let error = await expectError(.permissionDenied) { try await price.open(label.record) }
        #expect(error?.hint?.contains("regrant") == true)
        // Sam can open it and re-grants.
        let (done, _) = try await f.vault.unlock("sam", passphrase: Fixture.passphrase("sam"))
            .lifecycle.regrant(record: nil)
        #expect(done.map(\.record) == [label.record])
        _ = try await price.open(label.record)
        _ = try await f.vault.verifyAudit(checkpoint: nil)
    }

    @Test("re-granting a flagged record keeps its safeguarding group's slot")
    func regrantKeepsGroupSlots() async throws {
        let s = try await SafeguardingFixture.make()
        let price = try await s.session("price")
        let label = try await price.seal(Fixture.form(), confidential: true)
        try await price.safeguarding.flag(label.record, reason: "concern")
        try await s.session("office").administration.rekey(
            "price", passphrase: Passphrase("price lost the old one"))
        // Seen by the office (labels only): Price is missing, and Sam's slot is surplus, since a
        // flagged record is withheld from him; the group's slot is never surplus.
        let changes = try await s.session("office").lifecycle.slotChanges(record: label.record)
        #expect(changes.map(\.missing) == [["price"]])
        #expect(changes.map(\.surplus) == [["sam"]], "a group's slot is never surplus")
        // Sam cannot see the record, so is told nothing of it; his next command gives up his own
        // slot, and an officer's re-grants it to its author through the group's slot.
        await expectError(.notFound) {
            try await s.session("sam").lifecycle.slotChanges(record: label.record)
        }
        #expect(try await s.session("sam").lifecycle.grantPending().isEmpty)
        #expect(try await s.session("dsl").lifecycle.grantPending().map(\.record) == [label.record])
        let slots = try #require(await s.f.store.record(label.record)).slots.map(\.recipient)
        #expect(slots.contains("group:safeguarding-officer#1"))
        #expect(slots.contains("price") && !slots.contains("sam"))
        _ = try await s.f.vault.unlock("price", passphrase: Passphrase("price lost the old one"))
            .open(label.record)
        _ = try await s.session("dsl").safeguarding.disclose(label.record, reason: "after regrant")
    }

    @Test(
        "the authority is recovered from K trustee shares, never K-1; its fingerprint does not change"
    )
    func authority() async throws {
        let f = try await Fixture.make()
        let fingerprint = try f.session("office").principal.identity.fingerprint
        let shares = try await f.session("office").administration.splitAuthority(
            shares: 5, threshold: 3)
        let texts = try shares.map {
            String(decoding: try $0.file().unprotectedCopy(), as: UTF8.self)
        }
        let parsed = try texts.map(AuthorityShare.parse)
        await expectError(.invalidInput) {
            try await f.vault.recoverAuthority(
                from: Array(parsed.prefix(2)), passphrase: Passphrase("recovered authority"))
        }
        let recovered = try await f.vault.recoverAuthority(
            from: [parsed[4], parsed[0], parsed[2]], passphrase: Passphrase("recovered authority"))
        #expect(recovered.fingerprint == fingerprint)
        let office = try await f.vault.unlock(
            "office", passphrase: Passphrase("recovered authority"))
        #expect(office.principal.identity.fingerprint == fingerprint)
        await expectError(.permissionDenied) {
            try await f.session("price").administration.splitAuthority(shares: 3, threshold: 2)
        }
        _ = try await f.vault.verifyAudit(checkpoint: nil)
    }
}

@Suite("Re-encryption")
struct ReencryptTests {
    @Test("holding a key is not enough to re-seal a record: the policy must let the person read it")
    func resealNeedsPolicy() async throws {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(Fixture.form(), confidential: false)
        // Learners stop reading their tutorials; Sam's slot stays until the next regrant.
        var text = String(decoding: try Fixture.shippedPolicy().text, as: UTF8.self)
        for line in [
            "      - learner                          # the student, if they have a login\n",
            "      - copies: [learner, parents-carers]   # only the copies ticked on the form\n",
        ] {
            text = text.replacingOccurrences(of: line, with: "")
        }
        _ = try await f.session("office").administration.applyPolicy(
            Array(text.utf8), source: "narrower.yaml")
        #expect(
            try await f.store.record(label.record)?.slots.contains { $0.recipient == "sam" } == true
        )
        let sam = try await f.vault.unlock("sam", passphrase: Fixture.passphrase("sam"))
        // A learner the policy no longer lets see the record is told it does not exist.
        let error = await expectError(.notFound) {
            try await sam.lifecycle.reencrypt(label.record)
        }
        #expect(error?.message == "there is no record \(label.record)")
        let stored = try #require(await f.store.record(label.record))
        #expect(try Envelope.parse(stored.envelopeBytes).generation == 1)
    }

    @Test("fresh data and shred keys: everyone with a slot still opens; the old keys open nothing")
    func reencrypt() async throws {
        let s = try await SafeguardingFixture.make()
        let label = try await s.session("price").seal(
            Fixture.form(marker: "kept safe"), confidential: true)
        try await s.session("price").safeguarding.flag(label.record, reason: "ref")
        let before = try #require(await s.f.store.record(label.record))
        let priceSession = try await s.session("price")
        let oldDataKey = try #require(before.slots.first { $0.recipient == "price" })
            .open(with: priceSession.identity, expecting: label.record, generation: 1)
        #expect(try await s.session("dsl").lifecycle.reencryptGroup(.safeguardingOfficer) == 1)
        let after = try #require(await s.f.store.record(label.record))
        let envelope = try Envelope.parse(after.envelopeBytes)
        #expect(envelope.generation == 2 && envelope.sealer == "dsl" && envelope.label == label)
        // Opening says who re-sealed it.
        #expect(try await s.session("price").open(label.record).resealedBy == "dsl")
        #expect(after.envelopeBytes != before.envelopeBytes)
        #expect(try await s.f.store.shredKey(label.record.text) == nil)
        #expect(try await s.f.store.shredKey("\(label.record)#2") != nil)
        #expect(try await s.session("price").open(label.record).form?.comments == "kept safe")
        // Everyone the policy names keeps a slot; Sam, from whom the flag withholds it, does not.
        #expect(
            Set(after.slots.map(\.recipient))
                == Set(before.slots.map(\.recipient)).subtracting(["sam"]))
        _ = try await s.session("dsl2").safeguarding.disclose(
            label.record, reason: "after re-encryption")
        // The old data key with the new shred key does not open the new ciphertext.
        let newShred = try #require(await s.f.store.shredKey("\(label.record)#2"))
        #expect(throws: TutelaError.self) {
            try envelope.open(with: oldDataKey, shredKey: newShred)
        }
        // A re-sealed envelope whose sealer is changed no longer verifies.
        let resealing = try #require(envelope.resealing)
        let forged = Envelope(
            label: envelope.label, nonce: envelope.nonce, ciphertext: envelope.ciphertext,
            commitment: envelope.commitment, signature: envelope.signature,
            resealing: .init(
                sealer: "dsl2", generation: 2, sealedAt: resealing.sealedAt,
                authorship: resealing.authorship))
        await s.f.store.tamper(record: label.record) { r in
            StoredRecord(
                record: r.record, labelBytes: r.labelBytes, envelopeBytes: forged.canonical,
                slots: r.slots)
        }
        await expectError(.tampered) { try await s.session("price").open(label.record) }
        // `audit verify` checks every re-sealed envelope against the entry that wrote it.
        let error = await expectError(.tampered) {
            try await s.f.vault.verifyAudit(checkpoint: nil)
        }
        #expect(error?.message.contains("envelope of \(label.record)") == true)
    }
}

@Suite("Group membership")
struct GroupMembershipTests {
    @Test(
        "leaving a group removes the member's copy and rotates the key; a new member joins by sync")
    func leaveAndJoin() async throws {
        let s = try await SafeguardingFixture.make()
        let label = try await s.session("price").seal(Fixture.form(), confidential: true)
        try await s.session("price").safeguarding.flag(label.record, reason: "ref")
        let due = try await s.session("office").administration.setRoles("dsl2", [.tutor])
        #expect(due == [.safeguardingOfficer])
        #expect(
            try await s.session("dsl").lifecycle.rotateDueGroups().map(\.holder) == [
                "group:safeguarding-officer#2"
            ])
        #expect(
            try await s.f.store.objects(kind: "group-member", key: nil).allSatisfy {
                !$0.id.hasSuffix("/dsl2")
            })
        let summary = try await s.session("dsl").lifecycle.rewrapGroup(
            .safeguardingOfficer, batchSize: 10)
        #expect(summary.slots == 1)
        await expectError(.permissionDenied) {
            try await s.session("dsl2").safeguarding.disclose(label.record, reason: "x")
        }
        // Joining: jones becomes an officer; a member shares the current key.
        try await s.session("office").administration.setRoles(
            "jones", [.tutor, .safeguardingOfficer])
        #expect(try await s.session("dsl").lifecycle.syncGroup(.safeguardingOfficer) == ["jones"])
        _ = try await s.session("jones").safeguarding.disclose(label.record, reason: "new officer")
        _ = try await s.f.vault.verifyAudit(checkpoint: nil)
    }
}
