import Foundation
import Testing
import TutelaCrypto

@testable import Tutela

/// Red-team findings, second pass, against the #18 defences that landed after the first pass:
/// two-person destruction, the clock, directory checks in every transaction, the recomputed
/// rollback check, retention reviews, break-glass lifetimes and the YAML guard. Each test performs
/// an attack that an enrolled member of staff with write access to the vault's files can make on
/// stored state, and asserts that Tutela refuses it. Five landed on 2026-12-03; four were closed
/// the same day and one is marked as a known issue naming what is still open in #18.
@Suite("Red team, second pass (#18)")
struct RedTeam2Tests {
    static let now: Int64 = 1_795_300_000

    // MARK: - Retention reviews and two-person destruction

    @Test("a retention review dated in the future never makes a flagged record due years early")
    func futureDatedRetentionReview() async throws {
        let (f, label) = try await RedTeamTests.retentionFixture()
        // The record is flagged: it is kept until Sam's 25th birthday (2035-03-14), then reviewed
        // — never destroyed before.
        try await RedTeamTests.session(f, "price", on: "2027-01-01").safeguarding.flag(
            label.record, reason: "CPOMS 4411")
        let hale = try await RedTeamTests.session(f, "hale", on: "2027-01-01")
        await expectError(.permissionDenied) {
            try await hale.retention.reviewRetention(label.record, keepUntil: nil, reason: "go")
        }
        // Hale (a record keeper, so a reviewer) signs a "review: destroy" whose time field says
        // 2035-03-14 — the day the review falls due — and writes it in on 2027-01-01. The review
        // counts because it was "made on or after" that day by its own word; nothing compares
        // its time with anyone's clock, and a review deciding "destroy" makes the record due today.
        let review = RetentionReview(
            record: label.record, keepUntil: nil, reason: "reviewed",
            time: midnight("2035-03-14"), by: "hale")
        let signed = try hale.sign(review)
        // Written in with a log entry of the signer's own committing to it, as an insider
        // with their key and the database files would.
        try await f.store.transaction(hale.committedWrite { tx in try await tx.put(signed) })
        let asOf = try #require(CalendarDate("2027-01-01"))
        let status = try #require(
            try await hale.retention.check(asOf: asOf).first { $0.label.record == label.record })
        #expect(
            status.standing != .due,
            "a review dated 2035 made a flagged record due in 2027: \(status.note ?? "")")
        // A second, honest keeper agreeing by their own (right) clock does not help: the record is
        // "due" by the forward-dated review.
        let gone = await RedTeamTests.destroyedByTwo(f, label.record, on: "2027-01-01")
        #expect(!gone, "a flagged record destroyed eight years before its review")
        #expect(try await f.store.record(label.record) != nil)
    }

    // MARK: - Break-glass lifetime

    @Test(
        "a break-glass request dated in the future never lives longer than the policy's lifetime")
    func futureDatedBreakGlassRequest() async throws {
        let s = try await SafeguardingFixture.make()
        let label = try await s.session("price").seal(
            Fixture.form(marker: "opened a month late"), confidential: false)
        // The DSL signs a request whose 24 hours start ten years from now: its lifetime is the
        // policy's (expires − created = 24 h), so it passes the lifetime check, and it stays "open"
        // (unexpired) for ten years.
        let created = Self.now + 10 * 365 * 86_400
        let dsl = try await s.session("dsl")
        let request = BreakGlassRequest(
            id: "BG-LATE-DATE-0001", record: label.record, requester: "dsl",
            reason: "CPOMS 4411", created: created, expires: created + 24 * 3600,
            approvalsNeeded: 2)
        let signed = try dsl.sign(request)
        // Written in with a log entry of the signer's own committing to it, as an insider
        // with their key and the database files would.
        try await s.f.store.transaction(dsl.committedWrite { tx in try await tx.put(signed) })
        // A month later, with honest clocks, it is approved and opened.
        let later = Self.now + 30 * 86_400
        await expectError(.permissionDenied) {
            try await s.session("head", at: later).breakGlass.approve(request.id)
        }
        _ = try? await s.session("dsl2", at: later).breakGlass.approve(request.id)
        let opened = try? await s.session("dsl", at: later + 60).breakGlass.open(request.id)
        #expect(
            opened == nil, "a record opened a month after a request dated ten years ahead")
    }

    // MARK: - Every transaction checks the directory

    @Test("a session unlocked before a policy narrowed it opens nothing the new policy refuses")
    func staleSessionAfterNarrowing() async throws {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(Fixture.form(), confidential: false)
        // Sam's session (a server keeps one per signed-in person) was unlocked before the change.
        let sam = try f.session("sam")
        // The school narrows the policy: learners no longer read their tutorials.
        var text = String(decoding: try Fixture.shippedPolicy().text, as: UTF8.self)
        for line in [
            "      - learner                          # the student, if they have a login\n",
            "      - copies: [learner, parents-carers]   # only the copies ticked on the form\n",
        ] {
            #expect(text.contains(line))
            text = text.replacingOccurrences(of: line, with: "")
        }
        _ = try await f.session("office").administration.applyPolicy(
            Array(text.utf8), source: "narrower.yaml")
        // Refused as a learner is refused a record they may not know of.
        await expectError(.notFound) {
            try await f.vault.unlock("sam", passphrase: Fixture.passphrase("sam"))
                .open(label.record)
        }
        // The stale session's open notices the directory moved, catches up and decides afresh
        // on the narrower policy: refused.
        let error = await expectError(.notFound) { try await sam.open(label.record) }
        #expect(error != nil, "a session unlocked before the narrowing opened the record")
        #expect(try await sam.export(learner: "sam").records.isEmpty)
    }

    // MARK: - The rollback check at unlock

    @Test("an older vault with the two newest audit rows copied in does not pass the pin")
    func copiedTwoHeadRows() async throws {
        let f = try await Fixture.make()
        let pins = MemoryPins()
        // The store reads chain rows by sequence number, as the SQLite store does
        // (`WHERE seq >= ?`): rows copied in at their own numbers leave a gap below them.
        let store = BySequence(forwarded: f.store)
        let vault = Vault(store: store, clock: f.vault.clock, pins: pins)
        let price = try await vault.unlock("price", passphrase: Fixture.passphrase("price"))
        let oldAudit = try await f.store.links(.audit)
        let oldDirectory = try await f.store.links(.directory)
        // Jones leaves; Price writes on.
        try await vault.unlock("office", passphrase: Fixture.passphrase("office"))
            .administration.revoke("jones")
        for _ in 0..<3 { _ = try await price.seal(Fixture.form(), confidential: false) }
        try await price.settle()
        let full = try await f.store.links(.audit)
        // The old vault restored (Jones not revoked), with the pinned row and the one before it
        // copied in at their sequence numbers. Both recompute, verify and link to each other.
        await f.store.tamper(chain: .directory) { _ in oldDirectory }
        // With the pinned row alone copied in, the check refuses the vault (as in `AttackTests`)…
        await f.store.tamper(chain: .audit) { _ in oldAudit + full.suffix(1) }
        await expectError(.tampered) {
            try await vault.unlock("price", passphrase: Fixture.passphrase("price"))
        }
        // …but with the row before it copied in too, at its own number, it is satisfied: nothing
        // checks that the row before the pinned one follows the rest of the log.
        await f.store.tamper(chain: .audit) { _ in oldAudit + full.suffix(2) }
        #expect(oldAudit.count < full.count - 2)
        await expectError(.tampered) {
            try await vault.unlock("price", passphrase: Fixture.passphrase("price"))
        }

    }

    // MARK: - YAML guard

    @Test("an anchor after a block scalar in a mapping inside a sequence is refused")
    func yamlAnchorAfterBlockScalar() async throws {
        // The guard takes the block scalar's parent indentation from the line (0, the `-`), but the
        // mapping it is in starts at column 2: libyaml ends the scalar at `  b:`, while the guard
        // skips every later line indented by one space or more as scalar text.
        // (PyYAML, which follows libyaml, reads it as
        // {classes: [{a: "text\\n", b: [1, 2], c: [1, 2]}]}.)
        let text = "classes:\n- a: |\n    text\n  b: &x [1, 2]\n  c: *x\n"
        #expect(YAMLGuard.firstAnchorOrAlias(in: text) != nil)
        let error = await expectError(.invalidInput) {
            try Policy.parse(Array(text.utf8), source: "block.yaml")
        }
        #expect(
            error?.message.contains("anchors and aliases") == true, "\(error?.message ?? "")")
        // The alias bomb behind it (8 levels here, to show the guard lets it through; 22 levels
        // kept the composer busy for about a minute).
        var bomb = "- a: |\n    text\n  l0: &l0 [x, y]\n  m0: &m0 [x, z]\n"
        for n in 1...8 {
            bomb += "  l\(n): &l\(n) [*l\(n - 1), *l\(n - 1)]\n"
            bomb += "  m\(n): &m\(n) [*l\(n - 1), *m\(n - 1)]\n"
        }
        bomb += "  z: {? *l8 : 1, ? *m8 : 2, ? *l8 : 3}\n"
        #expect(YAMLGuard.firstAnchorOrAlias(in: bomb) != nil)
    }
}

/// A store that reads chain rows by their sequence number, as the SQLite store's
/// `SELECT … WHERE seq >= ? ORDER BY seq LIMIT ?` does, over the in-memory store.
struct BySequence: ForwardingStore {
    let forwarded: any VaultStore

    func links(_ chain: ChainName, from: Int64, limit: Int) async throws -> [ChainLink] {
        let all = try await forwarded.links(chain, from: 0, limit: Int.max)
        return Array(all.filter { $0.sequence >= from }.prefix(limit))
    }
}
