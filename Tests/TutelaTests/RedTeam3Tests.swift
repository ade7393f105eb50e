import Foundation
import Testing
import TutelaCrypto

@testable import Tutela

/// Red team, third pass (2026-12-03): attacks on the signed state root of commit 26eaf40 (every audit entry
/// commits to the directory head, the label chain and the root of the state map). Each test makes
/// an attack that (a) a member of staff with write access to the vault's files, or (b) an insider or
/// leaver whose own key is on disk, can make, and asserts the secure behaviour: it fails when the
/// attack lands.
@Suite("Red team, third pass: the state root")
struct RedTeam3Tests {
    // MARK: - Helpers

    /// A confidential tutorial about Sam by Price, flagged by Price: Sam (a learner) may open it
    /// only while it is not flagged (withhold-from-copies).
    static func flaggedRecord(_ s: SafeguardingFixture) async throws -> Label {
        let label = try await s.f.session("price").seal(
            Fixture.form(marker: "disclosed in confidence"), confidential: true)
        try await s.f.session("price").safeguarding.flag(label.record, reason: "CPOMS 4411")
        return label
    }

    /// Changes rows through the state map as Tutela would, without appending an audit entry:
    /// returns the state the log's head would have to commit to for the changed rows to verify.
    static func restate(
        _ s: SafeguardingFixture,
        _ change: @escaping @Sendable (any VaultTransaction) async throws -> Void
    ) async throws -> StateHead {
        let directory = try await s.f.vault.verifiedDirectory().1
        return try await s.f.store.transaction { tx in
            try await StateTransaction.within(tx, directory: directory, cache: nil) { state in
                try await change(state)
                return try await StateTransaction.of(state).seal()
            }
        }
    }

    /// Rewrites the body of the log's last entry to commit to `state`, keeping its stored hash and
    /// signature (which no in-transaction read recomputes).
    static func forgeHead(_ s: SafeguardingFixture, _ state: StateHead) async {
        await s.f.store.tamper(chain: .audit) { links in
            var links = links
            let last = links.removeLast()
            var entry = try! AuditEntry.parse(last.body, context: "forged head")
            entry.state = state
            links.append(
                ChainLink(
                    sequence: last.sequence, previousHash: last.previousHash, signer: last.signer,
                    body: entry.canonical, signature: last.signature, hash: last.hash))
            return links
        }
    }

    /// The flag's row is deleted (whoever signs the state that omits it).
    static func deleteFlag(_ record: RecordID)
        -> @Sendable (any VaultTransaction) async throws
        -> Void
    {
        { tx in
            for flag in try await tx.objects(kind: FactKind.flag.rawValue, key: record.text) {
                try await tx.deleteObject(kind: flag.kind, id: flag.id)
            }
        }
    }

    /// Whether `body` was refused (any Tutela error counts as refused).
    static func refused(_ body: () async throws -> Void) async -> Bool {
        do {
            try await body()
            return false
        } catch { return true }
    }

    // MARK: - (a) Write access to the files

    @Test(
        "a flag deleted under a head whose body was rewritten (hash and signature kept) opens nothing in a live session"
    )
    func forgedHeadBodyInTransaction() async throws {
        let s = try await SafeguardingFixture.make()
        let label = try await Self.flaggedRecord(s)
        // Sam's session (a server's, say) was unlocked before the tamper.
        let sam = try await s.session("sam")
        // Flagged: to Sam, there is no such record.
        await expectError(.notFound) { try await sam.open(label.record) }
        // The attacker deletes the flag, rewrites the map's rows as Tutela would, and edits the
        // last audit row's state to match. The row's hash and signature columns are left alone.
        let forged = try await Self.restate(s, Self.deleteFlag(label.record))
        await Self.forgeHead(s, forged)
        let opened = await !Self.refused { _ = try await sam.open(label.record) }
        #expect(!opened, "a learner opened a flagged record under a forged head")
    }

    @Test("a forged head laundered by one honest write does not pass a fresh unlock")
    func forgedHeadLaundered() async throws {
        let s = try await SafeguardingFixture.make()
        let label = try await Self.flaggedRecord(s)
        let price = try await s.session("price")  // a long-lived session
        let forged = try await Self.restate(s, Self.deleteFlag(label.record))
        await Self.forgeHead(s, forged)
        // Any honest write by a session unlocked earlier appends a genuine entry that commits to
        // the forged state: the forged row is no longer the head anyone checks.
        _ = try? await price.seal(Fixture.form(marker: "unrelated"), confidential: false)
        // Now an ordinary command: unlock afresh, open.
        let opened = await !Self.refused {
            let sam = try await s.session("sam")
            _ = try await sam.open(label.record)
        }
        #expect(!opened, "a learner opened a flagged record after the forged head was laundered")
        // Only the full replay notices the forged row, now one behind the head.
        #expect(await Self.refused { _ = try await s.f.vault.verifyAudit(checkpoint: nil) })
    }

    @Test("a vault rolled back under a live session with a pin opens nothing the newer log forbids")
    func rollbackUnderLiveSession() async throws {
        let s = try await SafeguardingFixture.make()
        let pins = MemoryPins()
        let vault = Vault(store: s.f.store, clock: s.f.vault.clock, pins: pins)
        let price = try await vault.unlock("price", passphrase: Fixture.passphrase("price"))
        let sam = try await vault.unlock("sam", passphrase: Fixture.passphrase("sam"))
        let label = try await price.seal(
            Fixture.form(marker: "disclosed in confidence"), confidential: true)
        let before = await s.f.store.snapshot()
        try await price.safeguarding.flag(label.record, reason: "CPOMS 4411")
        try await price.settle()
        // Sam's refusal (to him, there is no such record) moves this machine's pin past the flag.
        await expectError(.notFound) { try await sam.open(label.record) }
        try await sam.settle()
        // The whole vault — log, state rows, facts — is put back as it was before the flag.
        await s.f.store.restore(before)
        let opened = await !Self.refused {
            _ = try await sam.open(label.record)
            try await sam.settle()
        }
        #expect(
            !opened, "a live session opened a flagged record in a vault rolled back past its pin")
    }

    @Test("two learners' label rows swapping learner columns do not hide a record from an export")
    func swappedLearnerColumns() async throws {
        let f = try await Fixture.make()
        let mine = try await f.session("price").seal(
            Fixture.form(marker: "sam's own"), confidential: true)
        let theirs = try await f.session("jones").seal(
            Fixture.form(learner: "alex", marker: "alex's"), confidential: true)
        #expect(try await f.session("sam").export(learner: "sam").records.count == 1)
        // The learner column of each row is swapped; label bytes and envelopes are untouched, so
        // every record's state entry and every learner's count still hold.
        await f.store.base.swapLearners(mine.record, theirs.record)
        var outcome = "refused"
        do {
            let export = try await f.session("sam").export(learner: "sam")
            outcome =
                export.records.contains { $0.label.record == mine.record }
                ? "complete" : "silently missing \(mine.record)"
        } catch let error as TutelaError where error.kind == .tampered {
            outcome = "refused"
        }
        #expect(outcome != "silently missing \(mine.record)", "\(outcome)")
    }

    @Test("a tutor who rewrites a label row's author reads nothing of another's record's audit")
    func forgedAuthorOpensAuditLog() async throws {
        let s = try await SafeguardingFixture.make()
        let label = try await Self.flaggedRecord(s)
        _ = try await s.session("dsl").safeguarding.disclose(
            label.record, reason: "called social care about the bruising")
        let jones = try await s.session("jones")
        await expectError(.permissionDenied) { try await jones.auditLog(record: label.record) }
        // Jones writes the label row (only the row: the envelope is untouched) naming Jones.
        let forged = Label(
            record: label.record, recordClass: label.recordClass, learner: label.learner,
            author: "jones", created: label.created, tutorialDate: label.tutorialDate,
            policyVersion: label.policyVersion, copies: label.copies,
            wording: String(label.envelopeText.dropLast(" – \(label.tutorialDate)".count)),
            sealedUnder: label.sealedUnder)
        #expect(forged.envelopeText == label.envelopeText)
        await s.f.store.base.setLabelRow(label.record, forged.canonical)
        var leaked: [String] = []
        if let entries = try? await jones.auditLog(record: label.record) {
            leaked = entries.compactMap(\.entry.reason)
        }
        #expect(
            !leaked.contains { $0.contains("social care") },
            "a tutor read the DSL's disclosure reason: \(leaked)")
    }

    @Test("a group-member box copied over another member's is refused, never used")
    func swappedMemberBox() async throws {
        let s = try await SafeguardingFixture.make()
        let label = try await Self.flaggedRecord(s)
        let group = try #require(try await s.session("dsl").directory.groups[.safeguardingOfficer])
        let mineID = MemberBoxID(group: group.holder, member: "dsl").description
        let otherID = MemberBoxID(group: group.holder, member: "dsl2").description
        let other = try #require(
            await s.f.store.objects(kind: ObjectKind.groupMember, key: group.holder.description)
                .first { $0.id == otherID })
        await s.f.store.tamper(object: ObjectKind.groupMember, id: mineID) { _ in other.body }
        let opened = await !Self.refused {
            _ = try await s.session("dsl").safeguarding.disclose(label.record, reason: "x")
        }
        #expect(!opened)
    }

    // MARK: - (b) An insider's or a leaver's own key

    @Test("a leaver's key on disk cannot sign a head that drops a flag")
    func leaverSignsHead() async throws {
        let s = try await SafeguardingFixture.make()
        let label = try await Self.flaggedRecord(s)
        // Jones's session, unlocked while Jones was still on the staff; Jones then leaves.
        let jones = try await s.session("jones")
        let office = try s.f.session("office")
        try await office.administration.revoke("jones")
        // Jones deletes the flag and signs an entry of their own committing to the result, under
        // the directory as it now stands (their own code, their key from disk).
        let leaver = try await s.f.forger(jones)
        try await s.f.store.transaction(leaver.committedWrite(Self.deleteFlag(label.record)))
        let opened = await !Self.refused {
            _ = try await s.session("sam").open(label.record)
        }
        #expect(!opened, "a learner opened a flagged record under a head signed by a leaver")
        // Since #19 every reader refuses the head (the key was retired at the revocation), not
        // only the full replay.
        #expect(await Self.refused { _ = try await s.session("sam").labels(learner: nil) })
        #expect(await Self.refused { _ = try await s.f.vault.verifyAudit(checkpoint: nil) })
    }

    @Test("an insider's own signed head that drops someone else's flag is found by audit verify")
    func insiderDropsOthersFlag() async throws {
        let s = try await SafeguardingFixture.make()
        let label = try await Self.flaggedRecord(s)
        // Jones (a tutor, enrolled, with no say over Price's record) deletes Price's flag and signs
        // an entry committing to the vault without it.
        let jones = try await s.session("jones")
        try await s.f.store.transaction(jones.committedWrite(Self.deleteFlag(label.record)))
        // Every ordinary read agrees with the insider's head; the fact log's replay does not.
        let error = await expectError(.tampered) {
            try await s.f.vault.verifyAudit(checkpoint: nil)
        }
        #expect(
            error?.message.contains("was removed by audit entry") == true, "\(error?.message ?? "")"
        )
        #expect(error?.message.contains("by jones") == true)
        // Dressed up as a destruction of that record, without destroying it: still refused.
        let t = try await SafeguardingFixture.make()
        let other = try await Self.flaggedRecord(t)
        let insider = try await t.session("jones")
        try await t.f.store.transaction(
            insider.committedWrite(
                as: .destroy, subject: other.record.text, Self.deleteFlag(other.record)))
        let dressed = await expectError(.tampered) {
            try await t.f.vault.verifyAudit(checkpoint: nil)
        }
        #expect(
            dressed?.message.contains("left no certificate") == true, "\(dressed?.message ?? "")")
    }
}

extension MemoryVaultStore {
    /// Swaps the learner column of two label rows, leaving the labels themselves as they are.
    func swapLearners(_ a: RecordID, _ b: RecordID) {
        let (la, lb) = (state.learners[a], state.learners[b])
        state.learners[a] = lb
        state.learners[b] = la
    }

    /// Replaces a label row's bytes (and only the row: the record's envelope keeps its own label).
    func setLabelRow(_ id: RecordID, _ bytes: [UInt8]) { state.labels[id] = bytes }
}
