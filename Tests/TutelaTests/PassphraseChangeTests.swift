import Foundation
import Testing
import TutelaCrypto

@testable import Tutela

/// A passphrase change makes new keys: an old identity row in an old backup, opened with the old
/// passphrase, holds a key that signs nothing that counts and opens nothing sealed since.
@Suite("Passphrase change re-keys")
struct PassphraseChangeTests {
    static let newPassphrase = "a new passphrase for the officer"

    @Test("slots and group copies move to the new key; the old row opens only what was")
    func rotates() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let label = try await price.seal(
            Fixture.form(marker: "before the change"), confidential: false)
        let old = try await f.vault.unlock("price", passphrase: Fixture.passphrase("price"))
        let before = old.principal.identity
        try await old.lifecycle.changePassphrase(to: Passphrase(Self.newPassphrase))
        // The old passphrase no longer unlocks; the new one does, with new keys that open the
        // record sealed before the change.
        await expectError(.permissionDenied) {
            try await f.vault.unlock("price", passphrase: Fixture.passphrase("price"))
        }
        let renewed = try await f.vault.unlock("price", passphrase: Passphrase(Self.newPassphrase))
        #expect(renewed.principal.identity != before)
        #expect(renewed.principal.keyPeriods.count == 2)
        let opened = try await renewed.open(label.record)
        #expect(opened.label == label)
        // The session still holding the old key writes nothing more.
        await expectError(.permissionDenied) {
            try await old.seal(Fixture.form(marker: "with the old key"), confidential: false)
        }
        // Anything the old key signs now is refused.
        let forger = try await f.forger(old)
        try await f.store.transaction(forger.committedWrite { _ in })
        await expectError(.tampered) { try await f.vault.verifyAudit(checkpoint: nil) }
    }

    @Test("an officer's group copy is re-wrapped: flagged records still open after the change")
    func groupCopy() async throws {
        let s = try await SafeguardingFixture.make()
        let label = try await s.session("price").seal(Fixture.form(), confidential: false)
        try await s.session("price").safeguarding.flag(label.record, reason: "worried")
        let dsl = try await s.session("dsl")
        try await dsl.lifecycle.changePassphrase(to: Passphrase(Self.newPassphrase))
        let renewed = try await s.f.vault.unlock("dsl", passphrase: Passphrase(Self.newPassphrase))
        let opened = try await renewed.safeguarding.disclose(label.record, reason: "review")
        #expect(opened.label == label)
        _ = try await s.f.vault.verifyAudit(checkpoint: nil)
    }
}
