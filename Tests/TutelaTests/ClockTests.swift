import Foundation
import Testing

@testable import Tutela

/// Time on the log never runs backwards (#18).
@Suite("The vault's clock")
struct ClockTests {
    static let now: Int64 = 1_795_300_000

    func session(_ f: Fixture, _ who: PrincipalID, at time: Int64) async throws -> Session {
        try await Vault(store: f.store, clock: Clock { time })
            .unlock(who, passphrase: Fixture.passphrase(who))
    }

    @Test("a command whose clock is behind the vault's last entry refuses and writes nothing")
    func behind() async throws {
        let f = try await Fixture.make()
        _ = try await f.session("price").seal(Fixture.form(), confidential: false)
        let before = try await f.store.links(.audit).count
        let early = try await session(f, "price", at: Self.now - 3600)
        let error = await expectError(.tryAgain) {
            try await early.seal(Fixture.form(), confidential: false)
        }
        #expect(error?.message.contains("behind the vault's last audit entry") == true)
        #expect(try await f.store.links(.audit).count == before)
        #expect(try await f.store.labels(learner: nil).count == 1)
    }

    @Test(
        "a command that waited behind another's write is stamped no earlier than the entry before")
    func waitedForTheWriteLock() async throws {
        let f = try await Fixture.make()
        _ = try await f.session("price").seal(Fixture.form(), confidential: false)
        // Stamped when it began, a minute before the entry that committed while it waited.
        let waited = try await session(f, "jones", at: Self.now - 60)
        _ = try await waited.seal(Fixture.form(learner: "alex"), confidential: false)
        let times = try await f.store.links(.audit).map {
            try AuditEntry.parse($0.body, context: "entry").time
        }
        #expect(times.suffix(2).first == times.last)
        _ = try await f.vault.verifyAudit(checkpoint: nil)
    }

    @Test("a clock set wrongly forward is corrected by an administrator, signed and audited")
    func correction() async throws {
        let f = try await Fixture.make()
        let future = Self.now + 10 * 365 * 86_400
        _ = try await session(f, "price", at: future).seal(Fixture.form(), confidential: false)
        // Back at the right time, nothing can be written until the clock is corrected…
        let price = try await session(f, "price", at: Self.now)
        await expectError(.tryAgain) { try await price.seal(Fixture.form(), confidential: false) }
        // …which only an administrator may do.
        await expectError(.permissionDenied) { try await price.correctClock() }
        let office = try await session(f, "office", at: Self.now)
        let (from, to) = try await office.correctClock()
        #expect(from == future && to == Self.now)
        await expectError(.usage) { try await office.correctClock() }
        _ = try await price.seal(Fixture.form(), confidential: false)
        let report = try await f.vault.verifyAudit(checkpoint: nil)
        #expect(report.lastTime == Self.now)
        let actions = try await f.store.links(.audit).map {
            try AuditEntry.parse($0.body, context: "entry").action
        }
        #expect(actions.contains(.clockCorrect))
    }

    @Test(
        "audit verify reports an entry earlier than the one before it, or a correction by a tutor")
    func backwardEntries() async throws {
        for action in [AuditEntry.Action.open, .clockCorrect] {
            let f = try await Fixture.make()
            let price = try f.session("price")
            _ = try await price.seal(Fixture.form(), confidential: false)
            // Price signs an entry an hour in the past and writes it in behind Tutela's back.
            var entry = AuditEntry(
                action: action, actor: "price", subject: nil, outcome: .allowed, reason: nil,
                time: Self.now - 3600, policyVersion: "1")
            let last = try await f.store.links(.audit).last
            // The forger copies the state the last entry committed to.
            entry.state = try AuditEntry.parse(#require(last).body, context: "last").state
            let forged = try SignedChain.link(
                .audit, after: last, body: entry.canonical, signer: price.identity)
            try await f.store.transaction { tx in try await tx.append(forged, to: .audit) }
            let error = await expectError(.tampered) {
                try await f.vault.verifyAudit(checkpoint: nil)
            }
            #expect(error?.message.contains("audit entry \(forged.sequence)") == true)
        }
    }

    @Test("a clock correction is judged by the roles its signer held when they made it")
    func correctionBeforeBecomingAdmin() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        _ = try await price.seal(Fixture.form(), confidential: false)
        // Price, a tutor, signs a clock correction an hour back and writes it in.
        var entry = AuditEntry(
            action: .clockCorrect, actor: "price", subject: nil, outcome: .allowed, reason: nil,
            time: Self.now - 3600, policyVersion: "1")
        let last = try await f.store.links(.audit).last
        entry.state = try AuditEntry.parse(#require(last).body, context: "last").state
        let forged = try SignedChain.link(
            .audit, after: last, body: entry.canonical, signer: price.identity)
        try await f.store.transaction { tx in try await tx.append(forged, to: .audit) }
        // Made an administrator afterwards: the correction was still not theirs to make.
        try await f.session("office").administration.setRoles("price", [.tutor, .admin])
        let error = await expectError(.tampered) { try await f.vault.verifyAudit(checkpoint: nil) }
        #expect(
            error?.message.contains("is not an administrator") == true, "\(error?.message ?? "")")
    }
}
