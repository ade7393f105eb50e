import Foundation
import Testing

@testable import Tutela

@Suite("Publishing policies")
struct PolicyPublishingTests {
    @Test("apply publishes the next signed version; a malformed file never becomes active")
    func apply() async throws {
        let f = try await Fixture.make()
        let office = try f.session("office")
        #expect(office.directory.policy?.version == 1)
        await expectError(.invalidInput) {
            try await office.administration.applyPolicy(
                Array("policy: 1\n".utf8), source: "bad.yaml")
        }
        #expect(office.directory.policy?.version == 1)
        await expectError(.permissionDenied) {
            try await f.session("price").administration.applyPolicy(
                Fixture.shippedPolicy().text, source: "school.yaml")
        }
        let (policy, _) = try await office.administration.applyPolicy(
            Fixture.shippedPolicy("college.yaml").text, source: "college.yaml")
        #expect(policy.version == 2)
        let label = try await f.vault.unlock("price", passphrase: Fixture.passphrase("price"))
            .seal(Fixture.form(), confidential: true)
        #expect(label.policyVersion == "2")
    }

    @Test("an altered policy in the store is refused (65)")
    func altered() async throws {
        let f = try await Fixture.make()
        await f.store.tamper(chain: .directory) { links in
            links.map { link in
                guard link.sequence == 1 else { return link }
                var body = link.body
                if let i = body.firstIndex(of: UInt8(ascii: "7")) { body[i] = UInt8(ascii: "9") }
                return ChainLink(
                    sequence: link.sequence, previousHash: link.previousHash, signer: link.signer,
                    body: body,
                    signature: link.signature, hash: link.hash)
            }
        }
        let error = await expectError(.tampered) { try await f.vault.verifiedDirectory() }
        #expect(error?.message.contains("directory entry 1") == true)
    }

    @Test(
        "widening access: apply says which records need slots; regrant by someone who can open them"
    )
    func widenAndRegrant() async throws {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(Fixture.form(), confidential: false)
        // A policy that also lets heads of centre (the centre's head among them) read tutorials.
        let office = try f.session("office")
        var text = String(decoding: try Fixture.shippedPolicy().text, as: UTF8.self)
        text = text.replacingOccurrences(
            of:
                "      - copies: [learner, parents-carers]   # only the copies ticked on the form\n    label-only: [record-keeper, head-of-centre, admin, ilr-officer]",
            with:
                "      - copies: [learner, parents-carers]\n      - role: head-of-centre\n    label-only: [record-keeper, admin, ilr-officer]"
        )
        let (_, changes) = try await office.administration.applyPolicy(
            Array(text.utf8), source: "wider.yaml")
        #expect(changes.map(\.record) == [label.record])
        #expect(changes.first?.missing == ["head"])
        let head = try await f.vault.unlock("head", passphrase: Fixture.passphrase("head"))
        let refused = await expectError(.permissionDenied) { try await head.open(label.record) }
        #expect(refused?.hint?.contains("regrant") == true)
        let explained = try await head.explain(label.record, action: .open)
        #expect(explained.allowed && explained.rule.contains("role: head-of-centre"))
        // Someone who cannot open it cannot re-grant it.
        let (none, left) = try await f.vault.unlock("hale", passphrase: Fixture.passphrase("hale"))
            .lifecycle.regrant(record: nil)
        #expect(none.isEmpty && left.map(\.record) == [label.record])
        let price = try await f.vault.unlock("price", passphrase: Fixture.passphrase("price"))
        let (done, _) = try await price.lifecycle.regrant(record: nil)
        #expect(done.map(\.record) == [label.record])
        _ = try await head.open(label.record)
        #expect(try await price.lifecycle.slotChanges(record: nil).isEmpty)
    }

    @Test("before any policy is applied nothing can be sealed or opened")
    func noPolicy() async throws {
        let store = MemoryVaultStore()
        try await Vault.create(
            store: store, authorityID: "office", authorityName: "Office",
            passphrase: Fixture.passphrase("office"),
            kdf: .interactive)
        let vault = Vault(store: store)
        let office = try await vault.unlock("office", passphrase: Fixture.passphrase("office"))
        try await office.administration.enrol(
            "price", name: "P", roles: [.tutor], passphrase: Fixture.passphrase("price"))
        try await office.administration.addLearner(
            "sam", name: "Sam", tutor: "price", dateOfBirth: nil, programme: nil)
        let price = try await vault.unlock("price", passphrase: Fixture.passphrase("price"))
        let error = await expectError(.permissionDenied) {
            try await price.seal(Fixture.form(), confidential: true)
        }
        #expect(error?.hint?.contains("policy apply") == true)
    }

    @Test("informal notes are sealed as their own class and read by the policy's note readers")
    func informalNote() async throws {
        let f = try await Fixture.make()
        let note = try InformalNote.parse(
            Array(
                #"{"learner": "alex", "date": "2026-11-21", "summary": "Talked about the bus", "recordedOnILR": true}"#
                    .utf8),
            source: "note.json")
        let label = try await f.session("price").seal(.informalNote(note), as: .informalNote)
        #expect(label.envelopeText == "Informal support note – 2026-11-21")
        let opened = try await f.session("jones").open(label.record)
        #expect(opened.content == .informalNote(note))
        // A learner is not told that a record about someone else exists.
        await expectError(.notFound) { try await f.session("sam").open(label.record) }
        await expectError(.usage) {
            try await f.session("price").seal(.informalNote(note), as: .tutorial)
        }
        #expect(throws: TutelaError.self) {
            try InformalNote.parse(
                Array(#"{"learner": "alex", "date": "2026-11-21"}"#.utf8), source: "n")
        }
    }
}
