import Foundation
import Synchronization
import Testing
import TutelaCrypto

@testable import Tutela

/// A second factor (TOTP) sealed inside the person's identity: enrolled only with a code from the
/// app and the passphrase, asked at sign-in, never accepted twice, carried through a passphrase
/// change, required of the roles the policy names.
@Suite("Second factor")
struct SecondFactorTests {
    /// A centre whose clock the test moves on.
    final class Moving: Sendable {
        let seconds = Mutex<Int64>(1_795_300_000)
        var clock: Clock { Clock { [self] in seconds.withLock { $0 } } }
        func advance(_ by: Int64) { seconds.withLock { $0 += by } }
        var now: Int64 { seconds.withLock { $0 } }
    }

    static func enrolled(_ id: PrincipalID, in f: Fixture, at time: Int64) async throws -> (
        Session, SecretBytes, [String]
    ) {
        let session = try await f.vault.unlock(id, passphrase: Fixture.passphrase(id))
        let key = try SecondFactor.newKey()
        let enrolled = try await session.enrolSecondFactor(
            key: key, code: try OneTimeCode.totp(key: key, time: time),
            passphrase: Fixture.passphrase(id))
        #expect(enrolled.step == OneTimeCode.step(at: time))
        return (session, key, enrolled.recoveryCodes)
    }

    @Test("enrolled: a code is needed, one step of drift is allowed, and no code counts twice")
    func codes() async throws {
        let clock = Moving()
        let f = try await Fixture.make(clock: clock.clock)
        let (_, key, recovery) = try await Self.enrolled("dsl", in: f, at: clock.now)
        #expect(recovery.count == 10)
        #expect(Set(recovery).count == 10)
        #expect(recovery.allSatisfy { $0.count == 11 && $0.dropFirst(5).first == "-" })
        clock.advance(90)
        let session = try await f.vault.unlock("dsl", passphrase: Fixture.passphrase("dsl"))
        #expect(session.secondFactorStanding == .enrolled)
        let now = clock.now
        let current = try OneTimeCode.totp(key: key, time: now)
        #expect(
            try session.proveSecondFactor(current, at: now, after: nil)
                == .code(step: OneTimeCode.step(at: now)))
        // A code of the step before (the phone's clock a little behind) and after still counts.
        let behind = try OneTimeCode.totp(key: key, time: now - 30)
        #expect(try session.proveSecondFactor(behind, at: now, after: nil) != .notEnrolled)
        let ahead = try OneTimeCode.totp(key: key, time: now + 30)
        #expect(try session.proveSecondFactor(ahead, at: now, after: nil) != .notEnrolled)
        // Two steps off, missing, wrong, or once used: the same refusal as a wrong passphrase.
        let old = try OneTimeCode.totp(key: key, time: now - 60)
        for code in [old, nil, "", "000000", "12345", "1234567", "abcdef"] where code != current {
            await expectError(.permissionDenied) {
                try session.proveSecondFactor(code, at: now, after: nil)
            }
        }
        await expectError(.permissionDenied) {
            try session.proveSecondFactor(current, at: now, after: OneTimeCode.step(at: now))
        }
        // Someone else's code does not sign them in.
        let other = try SecondFactor.newKey()
        let wrongApp = try OneTimeCode.totp(key: other, time: now)
        if wrongApp != current {
            await expectError(.permissionDenied) {
                try session.proveSecondFactor(wrongApp, at: now, after: nil)
            }
        }
    }

    @Test("a recovery code signs in once, whatever its case and hyphen")
    func recoveryCodes() async throws {
        let clock = Moving()
        let f = try await Fixture.make(clock: clock.clock)
        let (_, _, recovery) = try await Self.enrolled("head", in: f, at: clock.now)
        let session = try await f.vault.unlock("head", passphrase: Fixture.passphrase("head"))
        let typed = recovery[3].uppercased().replacingOccurrences(of: "-", with: " ")
        guard
            case .recoveryCode(let hash) = try session.proveSecondFactor(
                typed, at: clock.now, after: nil)
        else {
            Issue.record("a recovery code was not taken as one")
            return
        }
        #expect(
            try await session.useRecoveryCode(hash, passphrase: Fixture.passphrase("head")) == 9)
        let again = try await f.vault.unlock("head", passphrase: Fixture.passphrase("head"))
        await expectError(.permissionDenied) {
            try again.proveSecondFactor(recovery[3], at: clock.now, after: nil)
        }
        #expect(try again.proveSecondFactor(recovery[4], at: clock.now, after: nil) != .notEnrolled)
        // Used up twice (two sign-ins racing): the second is refused.
        await expectError(.permissionDenied) {
            try await session.useRecoveryCode(hash, passphrase: Fixture.passphrase("head"))
        }
        _ = try await f.vault.verifyAudit(checkpoint: nil)
        let reasons = try await f.session("hale").auditLog(record: nil).compactMap { record in
            record.entry.action == AuditEntry.Action.secondFactor ? record.entry.reason : nil
        }
        #expect(reasons == ["enrolled an authenticator app", "signed in with a recovery code"])
    }

    @Test("enrolling needs the app's code now and the passphrase; a refusal writes nothing")
    func enrolRefusals() async throws {
        let clock = Moving()
        let f = try await Fixture.make(clock: clock.clock)
        let session = try f.session("dsl")
        #expect(session.secondFactorStanding == .required)
        let before = try await f.store.sealedIdentity("dsl")
        let key = try SecondFactor.newKey()
        let stale = try OneTimeCode.totp(key: key, time: clock.now - 300)
        await expectError(.invalidInput) {
            try await session.enrolSecondFactor(
                key: key, code: stale, passphrase: Fixture.passphrase("dsl"))
        }
        let code = try OneTimeCode.totp(key: key, time: clock.now)
        await expectError(.permissionDenied) {
            try await session.enrolSecondFactor(
                key: key, code: code, passphrase: Passphrase("not the officer's passphrase"))
        }
        await expectError(.usage) {
            try await session.enrolSecondFactor(
                key: try SecretBytes.random(count: 16), code: code,
                passphrase: Fixture.passphrase("dsl"))
        }
        #expect(try await f.store.sealedIdentity("dsl") == before)
        #expect(session.secondFactorStanding == .required)
        // The key is sealed: its bytes and its base32 appear nowhere in the stored row.
        _ = try await session.enrolSecondFactor(
            key: key, code: code, passphrase: Fixture.passphrase("dsl"))
        let sealed = try #require(try await f.store.sealedIdentity("dsl"))
        let raw = key.unprotectedCopy()
        let stored = sealed.ciphertext + sealed.nonce + sealed.salt
        #expect(
            !(0...(stored.count - raw.count)).contains {
                Array(stored[$0..<($0 + raw.count)]) == raw
            })
        #expect(!String(decoding: stored, as: UTF8.self).contains(Base32.encode(raw)))
        #expect(session.secondFactorStanding == .enrolled)
    }

    @Test("a passphrase change keeps the second factor; removing it is refused where required")
    func passphraseChangeAndRemoval() async throws {
        let clock = Moving()
        let f = try await Fixture.make(clock: clock.clock)
        let (dsl, key, _) = try await Self.enrolled("dsl", in: f, at: clock.now)
        try await dsl.lifecycle.changePassphrase(to: Passphrase("the officer's new passphrase"))
        clock.advance(60)
        let renewed = try await f.vault.unlock(
            "dsl", passphrase: Passphrase("the officer's new passphrase"))
        #expect(renewed.secondFactorStanding == .enrolled)
        #expect(
            try renewed.proveSecondFactor(
                try OneTimeCode.totp(key: key, time: clock.now), at: clock.now, after: nil)
                != .notEnrolled)
        await expectError(.permissionDenied) {
            try await renewed.removeSecondFactor(
                passphrase: Passphrase("the officer's new passphrase"), current: nil)
        }
        // A tutor need not have one; one who enrolled may remove it, with their passphrase.
        let (price, priceKey, _) = try await Self.enrolled("price", in: f, at: clock.now)
        #expect(!price.secondFactorRequired)
        let priceCode = try OneTimeCode.totp(key: priceKey, time: clock.now)
        await expectError(.permissionDenied) {
            try await price.removeSecondFactor(
                passphrase: Passphrase("not price's passphrase"), current: priceCode)
        }
        for missing in [nil, "", "000000"] where missing != priceCode {
            await expectError(.permissionDenied) {
                try await price.removeSecondFactor(
                    passphrase: Fixture.passphrase("price"), current: missing)
            }
        }
        try await price.removeSecondFactor(
            passphrase: Fixture.passphrase("price"), current: priceCode)
        let after = try await f.vault.unlock("price", passphrase: Fixture.passphrase("price"))
        #expect(after.secondFactorStanding == .optional)
        #expect(try after.proveSecondFactor(nil, at: clock.now, after: nil) == .notEnrolled)
        await expectError(.notFound) {
            try await after.removeSecondFactor(
                passphrase: Fixture.passphrase("price"), current: nil)
        }
    }

    @Test("replacing an enrolled app needs a code from it; a stale session changes nothing")
    func replacing() async throws {
        let clock = Moving()
        let f = try await Fixture.make(clock: clock.clock)
        // A session unlocked before the person enrolled elsewhere (an attacker's, say).
        let stale = try await f.vault.unlock("dsl", passphrase: Fixture.passphrase("dsl"))
        let (_, key, recovery) = try await Self.enrolled("dsl", in: f, at: clock.now)
        #expect(stale.secondFactorStanding == .required, "it saw none")
        let theirs = try SecondFactor.newKey()
        let theirCode = try OneTimeCode.totp(key: theirs, time: clock.now)
        await expectError(.permissionDenied) {
            try await stale.enrolSecondFactor(
                key: theirs, code: theirCode, passphrase: Fixture.passphrase("dsl"))
        }
        await expectError(.permissionDenied) {
            try await stale.enrolSecondFactor(
                key: theirs, code: theirCode, passphrase: Fixture.passphrase("dsl"),
                current: "000000")
        }
        // Its passphrase change would seal what it saw (no second factor): refused.
        await expectError(.tryAgain) {
            try await stale.lifecycle.changePassphrase(to: Passphrase("a passphrase to drop it"))
        }
        let renewed = try await f.vault.unlock("dsl", passphrase: Fixture.passphrase("dsl"))
        #expect(renewed.secondFactorStanding == .enrolled)
        // The person, with a code from the old app (or a recovery code), replaces it.
        let replaced = try await renewed.enrolSecondFactor(
            key: theirs, code: theirCode, passphrase: Fixture.passphrase("dsl"),
            current: try OneTimeCode.totp(key: key, time: clock.now))
        #expect(replaced.recoveryCodes.count == 10)
        let newer = try SecondFactor.newKey()
        _ = try await renewed.enrolSecondFactor(
            key: newer, code: try OneTimeCode.totp(key: newer, time: clock.now),
            passphrase: Fixture.passphrase("dsl"), current: replaced.recoveryCodes[0])
        await expectError(.permissionDenied) {
            try await renewed.enrolSecondFactor(
                key: theirs, code: theirCode, passphrase: Fixture.passphrase("dsl"),
                current: recovery[0])
        }
    }

    @Test("a re-seal from a row read before another changed it is refused, not lost")
    func lostUpdate() async throws {
        let clock = Moving()
        let f = try await Fixture.make(clock: clock.clock)
        let (_, _, recovery) = try await Self.enrolled("head", in: f, at: clock.now)
        let one = try await f.vault.unlock("head", passphrase: Fixture.passphrase("head"))
        let two = try await f.vault.unlock("head", passphrase: Fixture.passphrase("head"))
        guard
            case .recoveryCode(let first) = try one.proveSecondFactor(
                recovery[0], at: clock.now, after: nil),
            case .recoveryCode(let second) = try two.proveSecondFactor(
                recovery[1], at: clock.now, after: nil)
        else {
            Issue.record("recovery codes were not taken as such")
            return
        }
        let sealed = try #require(try await f.store.sealedIdentity("head"))
        #expect(try await one.useRecoveryCode(first, passphrase: Fixture.passphrase("head")) == 9)
        // `two` read the row before `one` wrote it: its write is refused inside the transaction.
        await expectError(.tryAgain) {
            try await f.store.transaction { tx in
                try await Session.requireRow(sealed.nonce, of: "head", in: tx)
            }
        }
        // Through the library it reads afresh, so both codes end up used.
        #expect(try await two.useRecoveryCode(second, passphrase: Fixture.passphrase("head")) == 8)
        let after = try await f.vault.unlock("head", passphrase: Fixture.passphrase("head"))
        for used in [recovery[0], recovery[1]] {
            await expectError(.permissionDenied) {
                try after.proveSecondFactor(used, at: clock.now, after: nil)
            }
        }
    }

    @Test("new keys are sealed only under a passphrase that opens the person's keys now")
    func ownPassphrase() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        await expectError(.permissionDenied) {
            try await price.requireOwnPassphrase(Passphrase("a passphrase a thief chose"))
        }
        try await price.requireOwnPassphrase(Fixture.passphrase("price"))
    }

    @Test("the policy names who must have one: by default officers, heads and administrators")
    func policy() async throws {
        let f = try await Fixture.make()
        let required = try ["office", "dsl", "head"].filter {
            try f.session(PrincipalID($0)).secondFactorRequired
        }
        #expect(required == ["office", "dsl", "head"])
        for id in ["price", "jones", "hale", "sam"] {
            #expect(try !f.session(PrincipalID(id)).secondFactorRequired, "\(id)")
        }
        let text = try Fixture.shippedPolicy().text
        let named = try Policy.parse(
            text + Array("\nsecond-factor:\n  required: [tutor, record-keeper]\n".utf8),
            source: "school.yaml")
        #expect(named.secondFactorRoles == [.tutor, .recordKeeper])
        #expect(
            try Policy.parse(text, source: "school.yaml").secondFactorRoles == [
                .safeguardingOfficer, .headOfCentre, .admin,
            ])
        for bad in [
            "second-factor:\n  required: [wizard]", "second-factor:\n  roles: [tutor]",
            "second-factor: yes",
        ] {
            await expectError(.invalidInput) {
                try Policy.parse(text + Array("\n\(bad)\n".utf8), source: "school.yaml")
            }
        }
        // Applied, it binds from the next sign-in; the authority (office) must have one whatever
        // the policy says.
        let office = try f.session("office")
        try await office.administration.applyPolicy(
            text + Array("\nsecond-factor:\n  required: [tutor]\n".utf8), source: "school.yaml")
        #expect(office.principal.isAuthority && office.secondFactorRequired)
        let price = try await f.vault.unlock("price", passphrase: Fixture.passphrase("price"))
        #expect(price.secondFactorStanding == .required)
        let dsl = try await f.vault.unlock("dsl", passphrase: Fixture.passphrase("dsl"))
        #expect(dsl.secondFactorStanding == .optional)
    }
}
