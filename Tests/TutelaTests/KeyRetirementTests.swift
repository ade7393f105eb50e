import Foundation
import Testing
import TutelaCrypto

@testable import Tutela

/// A key signs only within its validity interval: from the directory statement that published it
/// to the one that replaced it (a re-key) or revoked its holder. Each signed thing commits to the
/// directory position it was made under, and is refused (65) when its signer's key then was
/// another — whatever a leaver with their key still on disk, or whoever holds a superseded key,
/// signs afterwards.
@Suite("Key retirement")
struct KeyRetirementTests {
    enum Ending: String, CaseIterable, CustomTestStringConvertible {
        case superseded, revoked
        var testDescription: String { rawValue }
    }

    /// The centre after `price`'s key ended, and a forger holding that key who runs their own code
    /// against the directory as it now stands.
    static func retired(_ ending: Ending) async throws -> (f: Fixture, forger: Session) {
        let f = try await Fixture.make()
        let old = try f.session("price")
        let office = try f.session("office")
        switch ending {
        case .superseded:
            try await office.administration.rekey(
                "price", passphrase: Passphrase("a new one, long"))
        case .revoked:
            _ = try await office.administration.revoke("price")
        }
        let directory = office.directory
        let forger = Session(
            vault: f.vault, meta: old.meta, directory: directory,
            principal: try #require(directory.principals["price"]), identity: old.identity)
        return (f, forger)
    }

    @Test("the directory records when each key stopped counting", arguments: Ending.allCases)
    func intervals(ending: Ending) async throws {
        let (f, forger) = try await Self.retired(ending)
        let price = try #require(forger.directory.principals["price"])
        let now = forger.directory.statementCount
        let first = try #require(price.keyPeriods.first)
        let until = try #require(first.until, "the old key ends at the statement that retired it")
        // A revocation is the last statement; a reissue is followed by the person's activation.
        #expect(until == (ending == .revoked ? now : now - 1))
        #expect(price.signingKeys(madeUnder: until).contains(first.signingKey) == false)
        #expect(price.signingKeys(madeUnder: now).contains(first.signingKey) == false)
        #expect(price.signingKeys(madeUnder: until - 1) == [first.signingKey])
        #expect(price.signingKeys(madeUnder: first.from - 1).isEmpty, "not theirs before enrolment")
        switch ending {
        case .superseded:
            #expect(price.keyPeriods.count == 2 && price.keyPeriods[1].until == nil)
            #expect(price.signingKeys(madeUnder: now) == [price.identity.signingKey])
        case .revoked:
            #expect(price.keyPeriods.count == 1 && price.signingKeys(madeUnder: now).isEmpty)
        }
        _ = f
    }

    @Test("every kind of fact signed by a retired key is tampering", arguments: Ending.allCases)
    func facts(ending: Ending) async throws {
        let (f, forger) = try await Self.retired(ending)
        var refused = 0
        for (kind, object) in try FactTests.samples(forger) {
            let error = await expectError(.tampered) {
                try FactTests.read(object, forger.directory)
            }
            #expect(
                error?.message.contains("no longer 'price''s") == true,
                "\(kind): \(error?.message ?? "")")
            refused += 1
        }
        // Made under the directory before the key ended, the same facts verify: what a key
        // signed in its time stays good.
        let office = try f.session("office")
        try await office.refresh()
        let until = try #require(office.directory.principals["price"]?.keyPeriods.first?.until)
        let before = try office.directory.asOf(until - 1)
        let backdated = Session(
            vault: f.vault, meta: forger.meta, directory: before,
            principal: try #require(before.principals["price"]), identity: forger.identity)
        for (_, object) in try FactTests.samples(backdated) {
            try FactTests.read(object, office.directory)
        }
        print("Key retirement (\(ending)): \(refused) fact kinds refused")
        #expect(refused == FactKind.allCases.count)
    }

    @Test(
        "a fact claiming a directory position the vault never had is tampering",
        arguments: [Int64(0), 1_000])
    func futurePosition(position: Int64) async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let flag = SafeguardingFlag(
            record: "R-1", flaggedBy: "price", time: 1, reason: "why", decidedAt: position)
        let object = try FactCodec.make(flag, signer: price.identity, madeUnder: position)
        await expectError(.tampered) { try FactTests.read(object, price.directory) }
    }

    @Test("an audit entry signed by a retired key is tampering", arguments: Ending.allCases)
    func auditEntry(ending: Ending) async throws {
        let (f, forger) = try await Self.retired(ending)
        try await f.vault.verifyAudit(checkpoint: nil)
        try await f.store.transaction(forger.committedWrite(as: .seal) { _ in })
        let error = await expectError(.tampered) { try await f.vault.verifyAudit(checkpoint: nil) }
        #expect(error?.message.contains("not 'price''s at directory position") == true)
        // Every reader refuses the log whose newest entry it is, not only `audit verify`.
        let hale = try f.session("hale")
        let asOf = try #require(CalendarDate("2030-01-01"))
        await expectError(.tampered) { try await hale.retention.report(asOf: asOf, listing: []) }
    }

    @Test("an envelope sealed by a retired key is tampering", arguments: Ending.allCases)
    func envelope(ending: Ending) async throws {
        let (_, forger) = try await Self.retired(ending)
        let directory = forger.directory
        let label = Label(
            record: "R-AAAA-BBBB-CCCC", recordClass: .tutorial, learner: "sam", author: "price",
            created: try #require(CalendarDate("2026-11-29")),
            tutorialDate: try #require(CalendarDate("2026-11-20")), policyVersion: "1",
            copies: [.learner], wording: "Tutorial", sealedUnder: directory.statementCount)
        let content = try SecretBytes(copying: Array("forged after leaving".utf8))
        let shredKey = try SecretBytes.random(count: 32)
        let (envelope, key) = try Envelope.seal(
            content, label: label, author: forger.identity, shredKey: shredKey)
        key.wipe()
        let stored = StoredRecord(
            record: label.record, labelBytes: label.canonical, envelopeBytes: envelope.canonical,
            slots: [])
        await expectError(.tampered) {
            try Session.verifiedEnvelope(stored, id: label.record, directory: directory)
        }
        // A position beyond the directory's end is refused too.
        let ahead = Label(
            record: label.record, recordClass: .tutorial, learner: "sam", author: "price",
            created: label.created, tutorialDate: label.tutorialDate, policyVersion: "1",
            copies: [.learner], wording: "Tutorial", sealedUnder: directory.statementCount + 5)
        let (far, farKey) = try Envelope.seal(
            content, label: ahead, author: forger.identity, shredKey: shredKey)
        farKey.wipe()
        await expectError(.tampered) {
            try Session.verifiedEnvelope(
                StoredRecord(
                    record: ahead.record, labelBytes: ahead.canonical, envelopeBytes: far.canonical,
                    slots: []),
                id: ahead.record, directory: directory)
        }
    }

    @Test("a checkpoint signed by a retired key is refused", arguments: Ending.allCases)
    func checkpoint(ending: Ending) async throws {
        let (f, forger) = try await Self.retired(ending)
        let last = try #require(try await f.store.links(.audit).last)
        let forged = try Checkpoint.make(
            vaultID: forger.meta.vaultID, entries: last.sequence + 1, head: last.hash,
            time: 1_795_300_100, signer: forger.identity)
        await expectError(.invalidInput) { try await f.vault.verifyAudit(checkpoint: forged) }
    }

    @Test("the authority re-keying itself commits the change under its new key")
    func selfRekey() async throws {
        let f = try await Fixture.make()
        let office = try f.session("office")
        try await office.administration.rekey("office", passphrase: Passphrase("a new one, long"))
        try await f.vault.verifyAudit(checkpoint: nil)
        let renewed = try await f.vault.unlock("office", passphrase: Passphrase("a new one, long"))
        try await renewed.administration.addLearner(
            "kim", name: "Kim", tutor: "price", dateOfBirth: nil, programme: nil)
        try await f.vault.verifyAudit(checkpoint: nil)
        // The session still holding the retired key is refused rather than trusted.
        await #expect(throws: (any Error).self) {
            try await office.administration.addLearner(
                "lee", name: "Lee", tutor: "price", dateOfBirth: nil, programme: nil)
        }
        try await f.vault.verifyAudit(checkpoint: nil)
    }
}
