import Foundation
import Testing
import TutelaCrypto

@testable import Tutela

/// Key slots and break-glass shares batched per recipient (#26, docs/FORMAT.md "Key slot"): the
/// form, known answers, the old form still read, and what sharing a key lets an insider try.
@Suite("Batched key slots and shares")
struct SlotFormTests {
    // NaCl's box test keys: the ephemeral key is Alice's, the recipient Bob's (the shared key is
    // NaCl's "firstkey"); the nonce is NaCl's too.
    static let ephemeral = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
    static let recipient = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"
    static let ephemeralPublic = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
    static let nonce = "69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37"

    /// Slot v3 of record R-0000-0000-0001 for `price`, generation 1, data key 0x20…0x3f; computed
    /// independently (PyNaCl's crypto_box_afternm) from the layout in docs/FORMAT.md.
    static let slotKAT =
        "03" + ephemeralPublic + nonce
        + "88b45d03393516975f68d143c59c5db6339e645a7f9d95d268ee2283aa7b15c11a1beb9d08026d403c3911"
        + "6e65b567bb15034be2ab619d642712b1a6d724a85b1c2edf2c9b83cb301d932a5c79b3e127958537f42bd5"
        + "09d140e01500d2ed9bc74d"
    /// A v3 break-glass share of the same record for `group:head-of-centre#1`, secret 0x40…0x61,
    /// under an all-zero nonce.
    static let shareKAT =
        "03" + ephemeralPublic + String(repeating: "00", count: 24)
        + "5a9335a286bbb42a62ca7e0c2dfa543505d0226764b76bb04c504ac9aaab582cc12ef112f269c6c03e73a4"
        + "52f9d0150d07d890b256b76500176b1c77b18f1856820adf45020c94508183771607f3e3a48c22d31e23df"
        + "8174177f0b69a2af3cc2b5d6cc0ca2d11bf641642f2d6758"

    static func key(_ hex: String) throws -> KeyAgreementPrivateKey {
        try KeyAgreementPrivateKey(secret: SecretBytes(copying: [UInt8](hex: hex)))
    }

    @Test("known answers: a v3 slot and a v3 share open to the key and secret they were made with")
    func knownAnswers() async throws {
        let bob = try Self.key(Self.recipient)
        #expect(try Self.key(Self.ephemeral).publicKey.bytes == [UInt8](hex: Self.ephemeralPublic))
        let record = try RecordID("R-0000-0000-0001")
        let slot = Slot(record: record, recipient: "price", box: [UInt8](hex: Self.slotKAT))
        let key = try slot.open(with: bob, expecting: record, generation: 1)
        #expect(key.unprotectedCopy() == Array(0x20...0x3f))
        // Moved to another record, recipient or generation, it is refused.
        await expectError(.tampered) { try slot.open(with: bob, expecting: "R-0000-0000-0002") }
        await expectError(.tampered) {
            try Slot(record: record, recipient: "jones", box: slot.box).open(
                with: bob, expecting: record)
        }
        await expectError(.tampered) { try slot.open(with: bob, expecting: record, generation: 2) }

        let holder = Recipient.group(.headOfCentre, version: 1)
        let binding = ShareID(record: record, holder: holder).description
        #expect(binding == "R-0000-0000-0001/group:head-of-centre#1")
        let share = try BoundBox.open(
            [UInt8](hex: Self.shareKAT), kind: .share, binding: binding, with: bob, what: "share")
        #expect(share.unprotectedCopy() == Array(0x40...0x61))
        // A share is never taken for a slot, nor a slot for a share.
        await expectError(.tampered) {
            try Slot(record: record, recipient: "price", box: [UInt8](hex: Self.shareKAT)).open(
                with: bob, expecting: record)
        }
        await expectError(.tampered) {
            try BoundBox.open(
                [UInt8](hex: Self.slotKAT), kind: .share, binding: binding, with: bob, what: "s")
        }
    }

    @Test("what a batch writes is the documented layout: version, ephemeral key, nonce, box")
    func writtenLayout() throws {
        let bob = try KeyAgreementPrivateKey()
        let batch = SealBatch()
        defer { batch.finish() }
        let record = try RecordID("R-0000-0000-0001")
        let dataKey = try SecretBytes.random(count: 32)
        let slots = try (1...3).map { generation in
            try Slot.make(
                record: record, generation: generation, key: dataKey, recipient: "price",
                to: bob.publicKey, batch: batch)
        }
        let batchKey = try batch.key(for: bob.publicKey)
        #expect(batch.recipientCount == 1)
        var expected = CanonicalWriter()
        expected.u8(3)
        expected.string("tutela/slot")
        expected.string(record.text)
        expected.string("price")
        for (slot, generation) in zip(slots, 1...3) {
            #expect(slot.box[0] == 3)
            #expect(Array(slot.box[1..<33]) == batchKey.ephemeralPublicKey.bytes)
            let message = try BatchBox.open(slot.box[33...], ephemeral: slot.box[1..<33], with: bob)
            var whole = expected
            whole.u32(UInt32(generation))
            #expect(message.unprotectedCopy() == whole.bytes + dataKey.unprotectedCopy())
        }
        // Each box its own nonce.
        #expect(Set(slots.map { Array($0.box[33..<57]) }).count == 3)
    }

    @Test("the old form (one sealed box each) is still read, even one that begins with the byte 3")
    func oldFormRead() async throws {
        let bob = try KeyAgreementPrivateKey()
        let record = try RecordID("R-0000-0000-0001")
        let dataKey = try SecretBytes.random(count: 32)
        var lookalike: Slot?
        for _ in 0..<4000 {
            let alone = try Slot.make(
                record: record, generation: 1, key: dataKey, recipient: "price", to: bob.publicKey)
            #expect(try alone.open(with: bob, expecting: record, generation: 1) == dataKey)
            if alone.box[0] == 3 {
                lookalike = alone
                break
            }
        }
        // A sealed box's ephemeral key begins with 3 one time in 256: not a v3 box, still a slot.
        let slot = try #require(lookalike)
        #expect(try slot.open(with: bob, expecting: record, generation: 1) == dataKey)
    }

    @Test("a finished batch seals nothing more; only shares and slots are read in the batched form")
    func finishedAndKinds() async throws {
        let bob = try KeyAgreementPrivateKey()
        let batch = SealBatch()
        let record = try RecordID("R-0000-0000-0001")
        let dataKey = try SecretBytes.random(count: 32)
        _ = try Slot.make(
            record: record, generation: 1, key: dataKey, recipient: "price", to: bob.publicKey,
            batch: batch)
        batch.finish()
        // Neither a recipient it has a key for nor a new one: never a box under a wiped key.
        for recipient in [bob.publicKey, try KeyAgreementPrivateKey().publicKey] {
            await expectError(.internal) {
                try Slot.make(
                    record: record, generation: 1, key: dataKey, recipient: "price",
                    to: recipient, batch: batch)
            }
        }
        // A group-member box is only ever sealed alone: in the batched form it was not Tutela's.
        let binding = "group:safeguarding-officer#1/dsl"
        await expectError(.internal) {
            try BoundBox.seal(
                dataKey, kind: .groupMember, binding: binding, to: bob.publicKey,
                batch: SealBatch())
        }
        var header = CanonicalWriter()
        header.u8(3)
        header.string("tutela/group-member")
        header.string(binding)
        let forged = try RecipientBox.seal(
            try SecretBytes(copying: header.bytes).appending(dataKey), to: bob.publicKey,
            batch: SealBatch())
        await expectError(.tampered) {
            try BoundBox.open(forged, kind: .groupMember, binding: binding, with: bob, what: "box")
        }
        let genuine = try BoundBox.seal(
            dataKey, kind: .groupMember, binding: binding, to: bob.publicKey)
        #expect(
            try BoundBox.open(genuine, kind: .groupMember, binding: binding, with: bob, what: "box")
                == dataKey)
    }

    @Test("a box whose form and inner version disagree is refused, whichever way round")
    func versionsBound() async throws {
        let bob = try KeyAgreementPrivateKey()
        let record = try RecordID("R-0000-0000-0001")
        func message(version: UInt8) throws -> SecretBytes {
            var header = CanonicalWriter()
            header.u8(version)
            header.string("tutela/slot")
            header.string(record.text)
            header.string("price")
            header.u32(1)
            return try SecretBytes(copying: header.bytes + [UInt8](repeating: 7, count: 32))
        }
        let batched = try RecipientBox.seal(
            message(version: 2), to: bob.publicKey, batch: SealBatch())
        let alone = try RecipientBox.seal(message(version: 3), to: bob.publicKey, batch: nil)
        for box in [batched, alone] {
            await expectError(.tampered) {
                try Slot(record: record, recipient: "price", box: box).open(
                    with: bob, expecting: record)
            }
        }
        // The same messages in their own forms open.
        for box in [
            try RecipientBox.seal(message(version: 3), to: bob.publicKey, batch: SealBatch()),
            try RecipientBox.seal(message(version: 2), to: bob.publicKey, batch: nil),
        ] {
            #expect(
                try Slot(record: record, recipient: "price", box: box).open(
                    with: bob, expecting: record
                ).generation == 1)
        }
    }

    @Test(
        "one transaction's slots and shares to one recipient share an ephemeral key; the next's do not"
    )
    func oneKeyPerRecipientPerTransaction() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let forms = try (0..<6).map { (try Fixture.form(marker: "batch \($0)"), false) }
        let first = try await price.sealBatch(forms)
        let second = try await price.sealBatch([(try Fixture.form(marker: "later"), false)])
        func ephemeral(_ box: [UInt8]) -> [UInt8] {
            #expect(box[0] == 3)
            return Array(box[1..<33])
        }
        var byRecipient: [String: Set<[UInt8]>] = [:]
        var nonces: Set<[UInt8]> = []
        for label in first {
            let stored = try #require(try await f.store.record(label.record))
            for slot in stored.slots {
                byRecipient[slot.recipient.description, default: []].insert(ephemeral(slot.box))
                nonces.insert(Array(slot.box[33..<57]))
            }
            for share in try await f.store.shares(record: label.record) {
                byRecipient[share.holder.description, default: []].insert(ephemeral(share.body))
                nonces.insert(Array(share.body[33..<57]))
            }
        }
        #expect(!byRecipient.isEmpty)
        #expect(byRecipient.values.allSatisfy { $0.count == 1 }, "\(byRecipient)")
        let boxes = first.count * byRecipient.count
        #expect(nonces.count == boxes)
        // Different recipients, different ephemeral keys.
        #expect(Set(byRecipient.values.flatMap { $0 }).count == byRecipient.count)
        let later = try #require(try await f.store.record(second[0].record))
        for slot in later.slots {
            #expect(byRecipient[slot.recipient.description]?.contains(ephemeral(slot.box)) == false)
        }
        for label in first + second {
            #expect(try await price.open(label.record).label == label)
        }
    }

    @Test("a slot moved between two records of one batch opens its key but is refused as moved")
    func movedWithinBatch() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let labels = try await price.sealBatch([
            (try Fixture.form(marker: "one"), false), (try Fixture.form(marker: "two"), false),
        ])
        let (a, b) = (labels[0].record, labels[1].record)
        // Same recipient, same transaction: the same shared key opens both boxes; only the binding
        // inside tells them apart.
        let donor = try #require(
            try await f.store.record(a)?.slots.first { $0.recipient == "price" })
        // Refused by the binding inside, before any decryption is tried with the key it holds.
        let refused = await expectError(.tampered) {
            try Slot(record: b, recipient: "price", box: donor.box).open(
                with: price.identity, expecting: b, generation: 1)
        }
        #expect(refused?.message.contains("made for another record") == true)
        await f.store.tamper(record: b) { stored in
            stored.with(
                slots: stored.slots.map {
                    $0.recipient == "price"
                        ? Slot(record: b, recipient: "price", box: donor.box) : $0
                })
        }
        await expectError(.tampered) { try await price.open(b) }
        #expect(try await price.open(a).label == labels[0])
    }

    @Test("a re-key re-seals the person's slots in the new form, under one ephemeral key")
    func rekeyWritesNewForm() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let labels = try await price.sealBatch([
            (try Fixture.form(marker: "one"), false), (try Fixture.form(marker: "two"), false),
        ])
        let before = try await f.store.record(labels[0].record)?.slots.first {
            $0.recipient == "price"
        }
        try await price.lifecycle.changePassphrase(to: Passphrase("price's brand new passphrase"))
        var ephemeral: Set<[UInt8]> = []
        for label in labels {
            let slot = try #require(
                try await f.store.record(label.record)?.slots.first { $0.recipient == "price" })
            #expect(slot.box[0] == 3 && slot.box != before?.box)
            ephemeral.insert(Array(slot.box[1..<33]))
        }
        #expect(ephemeral.count == 1)
        let renewed = try await f.vault.unlock(
            "price", passphrase: Passphrase("price's brand new passphrase"))
        for label in labels { #expect(try await renewed.open(label.record).label == label) }
    }

    @Test("a group re-wrap writes the new form, and moves old-form slots and shares")
    func rewrapWritesNewForm() async throws {
        let s = try await SafeguardingFixture.make()
        let price = try await s.session("price")
        let flagged = try await price.seal(Fixture.form(marker: "flagged"), confidential: true)
        // A flag seals the officers' slot alone: the old form (v2), as a vault before #26 held.
        try await price.safeguarding.flag(flagged.record, reason: "CPOMS 26")
        let v1 = Recipient.group(.safeguardingOfficer, version: 1)
        let before = try #require(
            try await s.f.store.record(flagged.record)?.slots.first { $0.recipient == v1 })
        let dsl = try await s.session("dsl")
        #expect(try await dsl.lifecycle.rotateGroupKey(.safeguardingOfficer).version == 2)
        let summary = try await dsl.lifecycle.rewrapGroup(.safeguardingOfficer)
        #expect(summary.slots == 1 && summary.shares >= 1)
        let v2 = Recipient.group(.safeguardingOfficer, version: 2)
        let moved = try await s.f.store.shares(record: flagged.record).filter { $0.holder == v2 }
        #expect(moved.count == summary.shares && moved.allSatisfy { $0.body[0] == 3 })
        let after = try #require(
            try await s.f.store.record(flagged.record)?.slots.first { $0.recipient == v2 })
        // One byte of version, a nonce and no longer its own sealed-box framing: 25 bytes more.
        #expect(after.box[0] == 3 && after.box.count == before.box.count + 25)
        #expect(
            try await s.session("dsl2").safeguarding.disclose(flagged.record, reason: "review")
                .label == flagged)
    }
}

extension Array where Element == UInt8 {
    /// The bytes of an even-length string of hex digits (test constants).
    init(hex: String) {
        let digits = Array(hex.utf8)
        self = stride(from: 0, to: digits.count - 1, by: 2).map { i in
            UInt8(String(decoding: digits[i...i + 1], as: UTF8.self), radix: 16) ?? 0
        }
    }
}
