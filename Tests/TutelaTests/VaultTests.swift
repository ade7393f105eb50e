import Testing

@testable import Tutela

@Suite("Sealing and opening tutorials")
struct VaultTests {
    @Test("the author opens a confidential tutorial and gets the exact form back")
    func authorOpens() async throws {
        let f = try await Fixture.make()
        let form = try Fixture.form()
        let label = try await f.session("price").seal(form, confidential: true)
        #expect(label.envelopeText == "Confidential tutorial – 2026-11-20")
        #expect(label.recordClass == .confidentialTutorial)
        let opened = try await f.session("price").open(label.record)
        #expect(opened.form == form)
        #expect(opened.label == label)
    }

    @Test("confidential: the learner (enrolled) opens; the assigned tutor is not the author here")
    func confidentialRecipients() async throws {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(Fixture.form(), confidential: true)
        _ = try await f.session("sam").open(label.record)
        let stored = try #require(await f.store.record(label.record))
        #expect(Set(stored.slots.map(\.recipient)) == ["price", "sam"])
    }

    @Test("not confidential: the learner's assigned tutor also gets a slot and may open")
    func sharedWithTutor() async throws {
        let f = try await Fixture.make()
        // Price writes about Alex, whose assigned tutor is Jones.
        let shared = try await f.session("price").seal(
            Fixture.form(learner: "alex"), confidential: false)
        #expect(shared.envelopeText == "Tutorial – 2026-11-20")
        _ = try await f.session("jones").open(shared.record)
        let stored = try #require(await f.store.record(shared.record))
        #expect(Set(stored.slots.map(\.recipient)) == ["price", "jones"])
        // The same, confidential: Jones is refused.
        let sealed = try await f.session("price").seal(
            Fixture.form(learner: "alex"), confidential: true)
        await expectError(.permissionDenied) { try await f.session("jones").open(sealed.record) }
    }

    @Test("another tutor, the record keeper and the safeguarding officer are refused")
    func refused() async throws {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(Fixture.form(), confidential: true)
        for who: PrincipalID in ["jones", "hale", "dsl", "office"] {
            let error = await expectError(.permissionDenied) {
                try await f.session(who).open(label.record)
            }
            #expect(error?.message.contains("steady progress") == false)
        }
        let audit = try await f.store.links(.audit).map {
            try AuditEntry.parse($0.body, context: "t")
        }
        #expect(audit.filter { $0.action == .open && $0.outcome == .denied }.count == 4)
    }

    @Test("keepers, admins and officers see every label; others only what they may open")
    func labels() async throws {
        let f = try await Fixture.make()
        let a = try await f.session("price").seal(Fixture.form(), confidential: true)
        let b = try await f.session("price").seal(
            Fixture.form(learner: "alex"), confidential: false)
        #expect(
            Set(try await f.session("hale").labels(learner: nil).map(\.record)) == [
                a.record, b.record,
            ])
        #expect(
            Set(try await f.session("office").labels(learner: nil).map(\.record)) == [
                a.record, b.record,
            ])
        #expect(try await f.session("jones").labels(learner: nil).map(\.record) == [b.record])
        // Officers see the labels of classes they may ask break-glass for, to find the record.
        #expect(
            Set(try await f.session("dsl").labels(learner: nil).map(\.record)) == [
                a.record, b.record,
            ])
        #expect(try await f.session("sam").labels(learner: nil).map(\.record) == [a.record])
        #expect(try await f.session("hale").labels(learner: "alex").map(\.record) == [b.record])
    }

    @Test("a wrong passphrase is refused")
    func wrongPassphrase() async throws {
        let f = try await Fixture.make()
        await expectError(.permissionDenied) {
            try await f.vault.unlock("price", passphrase: Passphrase("not the passphrase"))
        }
        await expectError(.notFound) {
            try await f.vault.unlock("nobody", passphrase: Fixture.passphrase("nobody"))
        }
    }

    @Test("an unknown record is not found, and the attempt is audited")
    func unknownRecord() async throws {
        let f = try await Fixture.make()
        await expectError(.notFound) { try await f.session("price").open("R-0000-0000-0000") }
        let last = try #require(await f.store.links(.audit).last)
        let entry = try AuditEntry.parse(last.body, context: "t")
        #expect(entry.outcome == .notFound && entry.subject == "R-0000-0000-0000")
    }

    @Test("only tutors seal; the form's learner must be recorded")
    func sealRules() async throws {
        let f = try await Fixture.make()
        await expectError(.permissionDenied) {
            try await f.session("hale").seal(Fixture.form(), confidential: true)
        }
        let error = await expectError(.invalidInput) {
            try await f.session("price").seal(Fixture.form(learner: "nobody"), confidential: true)
        }
        #expect(error?.message.contains("field 'learner'") == true)
        #expect(try await f.store.labels(learner: nil).isEmpty)
    }

    @Test("if the audit entry cannot be written, nothing is released (75)")
    func failClosed() async throws {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(Fixture.form(), confidential: true)
        await f.store.failTransactions(with: TutelaError(.tryAgain, "disk full"))
        let error = await expectError(.tryAgain) { try await f.session("price").open(label.record) }
        #expect(error?.message.contains("nothing was released") == true)
        await f.store.failTransactions(with: nil)
        _ = try await f.session("price").open(label.record)
    }

    @Test("administrative statements need the authority or an admin it enrolled")
    func administration() async throws {
        let f = try await Fixture.make()
        await expectError(.permissionDenied) {
            try await f.session("price").administration.enrol(
                "mallory", name: "M", roles: [.admin], passphrase: Fixture.passphrase("m"))
        }
        await expectError(.exists) {
            try await f.session("office").administration.enrol(
                "price", name: "Again", roles: [.tutor], passphrase: Fixture.passphrase("p"))
        }
        await expectError(.usage) {
            try await f.session("office").administration.enrol(
                "short", name: "S", roles: [.tutor], passphrase: Passphrase("too short"))
        }
        await expectError(.notFound) {
            try await f.session("office").administration.addLearner(
                "kim", name: "Kim", tutor: "ghost", dateOfBirth: nil, programme: nil)
        }
        await expectError(.usage) {
            try await f.session("office").administration.addLearner(
                "kim", name: "Kim", tutor: "hale", dateOfBirth: nil, programme: nil)
        }
        try await f.session("office").administration.learnerLeft(
            "alex", on: #require(CalendarDate("2027-07-20")))
        await expectError(.exists) {
            try await f.session("office").administration.learnerLeft(
                "alex", on: #require(CalendarDate("2027-07-21")))
        }
        let (_, directory) = try await f.vault.verifiedDirectory()
        #expect(directory.learners["alex"]?.leftOn == CalendarDate("2027-07-20"))
    }
}

@Suite("Tampering is detected")
struct TamperTests {
    /// Seals one record and returns the fixture and the record's id.
    func sealed() async throws -> (Fixture, Label) {
        let f = try await Fixture.make()
        return (f, try await f.session("price").seal(Fixture.form(), confidential: true))
    }

    @Test("a flipped byte anywhere in the stored envelope is an integrity error")
    func envelopeBytes() async throws {
        let (f, label) = try await sealed()
        let original = try #require(await f.store.record(label.record))
        var detected = 0
        for i in original.sealedBytes.indices {
            await f.store.tamper(record: label.record) { r in
                var bytes = original.sealedBytes
                bytes[i] ^= 0x01
                return StoredRecord(
                    record: r.record, labelBytes: r.labelBytes, sealedBytes: bytes, slots: r.slots)
            }
            await expectError(.tampered) { try await f.session("price").open(label.record) }
            detected += 1
        }
        #expect(detected == original.sealedBytes.count)
    }

    @Test("a flipped byte in the label row, a slot, or the signature is an integrity error")
    func labelSlotSignature() async throws {
        let (f, label) = try await sealed()
        let original = try #require(await f.store.record(label.record))
        let changes: [@Sendable (StoredRecord) -> StoredRecord] = [
            { r in
                var l = r.labelBytes
                l[l.count - 3] ^= 0x20
                return StoredRecord(
                    record: r.record, labelBytes: l, envelopeBytes: r.envelopeBytes, slots: r.slots)
            },
            { r in
                let slots = r.slots.map { s in
                    var box = s.box
                    box[40] ^= 0x01
                    return Slot(record: s.record, recipient: s.recipient, box: box)
                }
                return StoredRecord(
                    record: r.record, labelBytes: r.labelBytes, envelopeBytes: r.envelopeBytes,
                    slots: slots)
            },
            { r in
                var e = r.envelopeBytes
                e[e.count - 1] ^= 0x80
                return StoredRecord(
                    record: r.record, labelBytes: r.labelBytes, envelopeBytes: e, slots: r.slots)
            },
        ]
        for change in changes {
            await f.store.tamper(record: label.record) { _ in change(original) }
            await expectError(.tampered) { try await f.session("price").open(label.record) }
        }
    }

    @Test("two records' ciphertexts swapped, or one's slot moved to another, is an integrity error")
    func swapped() async throws {
        let f = try await Fixture.make()
        let a = try await f.session("price").seal(Fixture.form(marker: "first"), confidential: true)
        let b = try await f.session("price").seal(
            Fixture.form(marker: "second"), confidential: true)
        let ra = try #require(await f.store.record(a.record))
        let rb = try #require(await f.store.record(b.record))
        // Swap the envelope bodies but keep each record's label row.
        await f.store.tamper(record: a.record) { r in
            StoredRecord(
                record: r.record, labelBytes: r.labelBytes, envelopeBytes: rb.envelopeBytes,
                slots: r.slots)
        }
        await expectError(.tampered) { try await f.session("price").open(a.record) }
        // Swap only the ciphertext inside a well-formed envelope for a's label.
        let ea = try Envelope.parse(ra.envelopeBytes)
        let eb = try Envelope.parse(rb.envelopeBytes)
        let forged = Envelope(
            label: ea.label, nonce: eb.nonce, ciphertext: eb.ciphertext, commitment: ea.commitment,
            signature: ea.signature)
        await f.store.tamper(record: a.record) { r in
            StoredRecord(
                record: r.record, labelBytes: r.labelBytes, envelopeBytes: forged.canonical,
                slots: r.slots)
        }
        await expectError(.tampered) { try await f.session("price").open(a.record) }
        // Put b's slots on a (right envelope, keys for another record).
        await f.store.tamper(record: a.record) { r in
            StoredRecord(
                record: r.record, labelBytes: ra.labelBytes, envelopeBytes: ra.envelopeBytes,
                slots: rb.slots)
        }
        let error = await expectError(.tampered) { try await f.session("price").open(a.record) }
        #expect(error?.message.contains("another record") == true)
    }

    @Test(
        "a directory statement added or altered behind Tutela's back makes the vault refuse to work"
    )
    func directoryForgery() async throws {
        let f = try await Fixture.make()
        let links = try await f.store.links(.directory)
        // A forged enrolment signed by a key nobody enrolled.
        let mallory = try Identity.generate(principal: "mallory")
        let statement = DirectoryStatement.enrol(
            .init(
                id: "mallory", name: "Mallory", roles: [.admin],
                signingKey: mallory.publicIdentity.signingKey.bytes,
                agreementKey: mallory.publicIdentity.agreementKey.bytes))
        let forged = try SignedChain.link(
            .directory, after: links.last, body: statement.encode(at: 0), signer: mallory)
        try await f.store.transaction { tx in try await tx.append(forged, to: .directory) }
        let error = await expectError(.tampered) { try await f.vault.verifiedDirectory() }
        #expect(error?.message.contains("directory entry \(forged.sequence)") == true)
        await expectError(.tampered) {
            try await f.vault.unlock("price", passphrase: Fixture.passphrase("price"))
        }
    }

    @Test("a directory statement signed by a tutor (not an administrator) is refused")
    func directoryWrongSigner() async throws {
        let f = try await Fixture.make()
        let links = try await f.store.links(.directory)
        let tutor = try f.session("price").identity
        let statement = DirectoryStatement.addLearner(
            .init(id: "zed", name: "Zed", tutor: "price", dateOfBirth: nil, programme: nil))
        let forged = try SignedChain.link(
            .directory, after: links.last, body: statement.encode(at: 0), signer: tutor)
        try await f.store.transaction { tx in try await tx.append(forged, to: .directory) }
        await expectError(.tampered) { try await f.vault.verifiedDirectory() }
    }
}
