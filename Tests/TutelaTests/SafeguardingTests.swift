import Foundation
import Testing
import TutelaCrypto

@testable import Tutela

/// The fixture's centre (with its head of centre and group keys) plus a second officer, who holds
/// the safeguarding group's key.
struct SafeguardingFixture {
    let f: Fixture

    static func make() async throws -> SafeguardingFixture {
        let f = try await Fixture.make()
        let office = try f.session("office")
        try await office.administration.enrol(
            "dsl2", name: "Deputy DSL", roles: [.safeguardingOfficer],
            passphrase: Fixture.passphrase("dsl2"))
        // A member of the group gives the deputy its key, as their next command would.
        _ = try await f.vault.unlock("dsl", passphrase: Fixture.passphrase("dsl")).lifecycle
            .syncGroup(.safeguardingOfficer)
        return SafeguardingFixture(f: f)
    }

    /// A fresh session (sessions keep the directory they verified).
    func session(_ who: PrincipalID, at time: Int64? = nil) async throws -> Session {
        let vault = time.map { t in Vault(store: f.store, clock: Clock { t }) } ?? f.vault
        return try await vault.unlock(who, passphrase: Fixture.passphrase(who))
    }

    func actions() async throws -> [AuditEntry] {
        try await f.store.links(.audit).map { try AuditEntry.parse($0.body, context: "t") }
    }
}

@Suite("Safeguarding: flags and disclosures")
struct SafeguardingTests {
    @Test(
        "an officer opens a flagged record: reason recorded, audited first, noticed to author and head"
    )
    func disclosure() async throws {
        let s = try await SafeguardingFixture.make()
        let label = try await s.session("price").seal(
            Fixture.form(marker: "concern"), confidential: true)
        try await s.session("price").safeguarding.flag(label.record, reason: "see CPOMS ref 4411")
        let queue = try await s.session("dsl").safeguarding.queue()
        #expect(queue.map(\.label.record) == [label.record])
        #expect(queue.first?.flag.flaggedBy == "price" && queue.first?.disclosures == 0)
        let opened = try await s.session("dsl").safeguarding.disclose(
            label.record, reason: "following up CPOMS 4411")
        #expect(opened.form?.comments == "concern")
        let last = try #require(try await s.actions().last)
        #expect(
            last.action == .disclose && last.actor == "dsl"
                && last.reason == "following up CPOMS 4411")
        for who: PrincipalID in ["price", "head"] {
            let inbox = try await s.session(who).inbox()
            #expect(
                inbox.contains {
                    $0.entry.action == .disclose && $0.entry.subject == label.record.text
                },
                "\(who)")
        }
        let reviews = try await s.session("head").safeguarding.reviews()
        #expect(reviews.map(\.kind) == [.disclosure])
        #expect(try await s.session("dsl").safeguarding.queue().first?.disclosures == 1)
    }

    @Test("an officer is refused an unflagged record, and a reason is mandatory")
    func refusals() async throws {
        let s = try await SafeguardingFixture.make()
        let label = try await s.session("price").seal(Fixture.form(), confidential: true)
        let error = await expectError(.permissionDenied) {
            try await s.session("dsl").safeguarding.disclose(label.record, reason: "curious")
        }
        #expect(error?.message.contains("not flagged") == true)
        await expectError(.usage) {
            try await s.session("dsl").safeguarding.disclose(label.record, reason: "  ")
        }
        await expectError(.usage) {
            try await s.session("price").safeguarding.flag(label.record, reason: "")
        }
        await expectError(.permissionDenied) {
            try await s.session("jones").safeguarding.flag(label.record, reason: "x")
        }
        // Tutors and the record keeper still cannot open it once flagged.
        try await s.session("price").safeguarding.flag(label.record, reason: "ref 1")
        await expectError(.permissionDenied) { try await s.session("hale").open(label.record) }
        await expectError(.permissionDenied) { try await s.session("dsl").open(label.record) }
        // Flagging it again is "already there" (73) for its tutor; anyone who may not flag it is
        // refused in words that do not say whether it is flagged.
        let again = await expectError(.exists) {
            try await s.session("price").safeguarding.flag(label.record, reason: "again")
        }
        #expect(again?.message == "\(label.record) is already flagged")
        let other = await expectError(.permissionDenied) {
            try await s.session("jones").safeguarding.flag(label.record, reason: "x")
        }
        #expect(other?.message.contains("flagged") == false)
    }

    @Test("an officer enrolled after the flag opens it once a member shares the group key")
    func laterOfficer() async throws {
        let s = try await SafeguardingFixture.make()
        let label = try await s.session("price").seal(Fixture.form(), confidential: true)
        try await s.session("price").safeguarding.flag(label.record, reason: "ref 2")
        try await s.session("office").administration.enrol(
            "dsl3", name: "New DSL", roles: [.safeguardingOfficer],
            passphrase: Fixture.passphrase("dsl3"))
        let before = await expectError(.permissionDenied) {
            try await s.session("dsl3").safeguarding.disclose(label.record, reason: "handover")
        }
        #expect(before?.hint?.contains("group sync") == true)
        #expect(try await s.session("dsl").lifecycle.syncGroup(.safeguardingOfficer) == ["dsl3"])
        let opened = try await s.session("dsl3").safeguarding.disclose(
            label.record, reason: "handover")
        #expect(opened.label.record == label.record)
    }

    @Test("a tampered flag or group key box is detected")
    func tampering() async throws {
        let s = try await SafeguardingFixture.make()
        let label = try await s.session("price").seal(Fixture.form(), confidential: true)
        try await s.session("price").safeguarding.flag(label.record, reason: "ref 3")
        await s.f.store.tamper(object: "flag", id: label.record.text) { body in
            var b = body
            b[b.count - 70] ^= 1
            return b
        }
        await expectError(.tampered) {
            try await s.session("dsl").safeguarding.disclose(label.record, reason: "x")
        }
    }

    @Test("copies for the learner leave flagged material out")
    func export() async throws {
        let s = try await SafeguardingFixture.make()
        let a = try await s.session("price").seal(Fixture.form(marker: "fine"), confidential: false)
        let b = try await s.session("price").seal(
            Fixture.form(marker: "worrying"), confidential: true)
        try await s.session("price").safeguarding.flag(b.record, reason: "ref 5")
        let copy = try await s.session("sam").export(learner: "sam")
        #expect(copy.records.map(\.label.record) == [a.record])
        // The learner made it for themselves: nothing tells them anything was left out, and the
        // flagged record is, to them, a record that does not exist.
        #expect(copy.leftOut.isEmpty)
        let hidden = await expectError(.notFound) { try await s.session("sam").open(b.record) }
        #expect(hidden?.message == "there is no record \(b.record)")
    }

    @Test(
        "a record flagged while a copy is being made is withheld: the decision is made on what its entry records"
    )
    func exportRace() async throws {
        let s = try await SafeguardingFixture.make()
        let a = try await s.session("price").seal(Fixture.form(marker: "fine"), confidential: false)
        try await s.session("price").safeguarding.flag(a.record, reason: "ref 6")
        // The flag lands just after the export has listed the learner's records, before the
        // record's own transaction: staged by taking it out and putting it back in between.
        let flag = try #require(
            await s.f.store.objects(kind: FactKind.flag.rawValue, key: a.record.text).first)
        try await s.f.store.transaction { tx in
            try await tx.deleteObject(kind: flag.kind, id: flag.id)
        }
        let sam = try await s.session("sam")
        await s.f.store.beforeNextTransaction { tx in try await tx.put(flag) }
        let copy = try await sam.export(learner: "sam")
        #expect(copy.records.isEmpty && copy.leftOut.isEmpty)
        #expect(
            try await s.actions().contains { $0.action == .export && $0.outcome == .allowed }
                == false)
    }

    @Test(
        "a record destroyed while an officer opens it: not found (66), and the log never says it was released"
    )
    func disclosureOfRecordGoneMeanwhile() async throws {
        let s = try await SafeguardingFixture.make()
        let label = try await s.session("price").seal(Fixture.form(), confidential: true)
        try await s.session("price").safeguarding.flag(label.record, reason: "ref 7")
        let dsl = try await s.session("dsl")
        // Its contents go after the officer's command has read them, before it records the release:
        // shredded with its signed certificate, as a destruction leaves it.
        let hale = try await s.session("hale")
        let stored = try #require(try await s.f.store.record(label.record))
        let certificate = try hale.sign(
            DestructionCertificate(
                record: label.record, labelHash: Hex.encode(try BLAKE2b.hash(stored.labelBytes)),
                ciphertextHash: Hex.encode(try BLAKE2b.hash(stored.envelopeBytes)), rule: "due",
                time: 1_795_300_000, authoriser: "hale", proposer: "keeper2",
                madeUnder: hale.directory.statementCount, signature: []))
        await s.f.store.beforeNextTransaction(
            hale.committedWrite(as: .destroy, subject: label.record.text) { tx in
                try await tx.shred(label.record)
                try await tx.put(certificate)
            })
        let gone = await expectError(.notFound) {
            try await dsl.safeguarding.disclose(label.record, reason: "handover")
        }
        #expect(gone?.message.contains(label.record.text) == true)
        let disclosures = try await s.actions().filter { $0.action == .disclose }
        #expect(disclosures.map(\.outcome) == [.notFound])
        #expect(try await s.session("head").safeguarding.reviews().isEmpty)
    }

    @Test("a label cut loose from its contents, with no destruction certificate, is tampering (65)")
    func exportCut() async throws {
        let s = try await SafeguardingFixture.make()
        _ = try await s.session("price").seal(Fixture.form(), confidential: false)
        let cut = try await s.session("price").seal(Fixture.form(), confidential: false)
        #expect(try await s.session("sam").export(learner: "sam").records.count == 2)
        // What destruction does to the contents, without its signed certificate.
        try await s.f.store.transaction { tx in try await tx.shred(cut.record) }
        // The learner is told the vault does not match, not what (it could name a flagged record).
        let error = await expectError(.tampered) {
            try await s.session("sam").export(learner: "sam")
        }
        #expect(error?.message.contains(cut.record.text) == false)
        let staff = await expectError(.tampered) {
            try await s.session("price").export(learner: "sam", for: .learner)
        }
        #expect(staff?.message.contains(cut.record.text) == true)
    }
}

@Suite("Safeguarding: break-glass")
struct BreakGlassTests {
    /// A confidential record (school policy: 2 approvals, one head of centre and one officer).
    func sealed() async throws -> (SafeguardingFixture, Label) {
        let s = try await SafeguardingFixture.make()
        return (
            s, try await s.session("price").seal(Fixture.form(marker: "urgent"), confidential: true)
        )
    }

    @Test(
        "k approvals from distinct people in the quorum roles open it, once, for the requester only"
    )
    func quorum() async throws {
        let (s, label) = try await sealed()
        let shares = try await s.f.store.shares(record: label.record)
        #expect(shares.count == 2)
        let request = try await s.session("dsl").breakGlass.request(
            label.record, reason: "child missing, police")
        #expect(request.approvalsNeeded == 2)
        // k-1 approvals are not enough.
        #expect(try await s.session("head").breakGlass.approve(request.id) == (1, 2))
        let short = await expectError(.permissionDenied) {
            try await s.session("dsl").breakGlass.open(request.id)
        }
        #expect(short?.message.contains("1 of the 2") == true)
        // Self-approval, a repeated approval and a wrong role are refused.
        await expectError(.permissionDenied) {
            try await s.session("dsl").breakGlass.approve(request.id)
        }
        let replay = await expectError(.permissionDenied) {
            try await s.session("head").breakGlass.approve(request.id)
        }
        #expect(replay?.message.contains("already approved") == true)
        await expectError(.permissionDenied) {
            try await s.session("price").breakGlass.approve(request.id)
        }
        #expect(try await s.session("dsl2").breakGlass.approve(request.id) == (2, 2))
        // Only the requester opens.
        await expectError(.permissionDenied) {
            try await s.session("dsl2").breakGlass.open(request.id)
        }
        let opened = try await s.session("dsl").breakGlass.open(request.id)
        #expect(opened.form?.comments == "urgent")
        // Once: the released shares are not reusable, for this request or a new one.
        let again = await expectError(.permissionDenied) {
            try await s.session("dsl").breakGlass.open(request.id)
        }
        #expect(again?.message.contains("already used") == true)
        let second = try await s.session("dsl").breakGlass.request(label.record, reason: "again")
        await expectError(.permissionDenied) {
            try await s.session("dsl").breakGlass.open(second.id)
        }
        // Every step audited; author and head noticed; a review item made.
        let actions = try await s.actions().map(\.action)
        for a in [AuditEntry.Action.breakGlassRequest, .breakGlassApprove, .breakGlassOpen] {
            #expect(actions.contains(a))
        }
        #expect(
            try await s.session("price").inbox().contains { $0.entry.action == .breakGlassOpen })
        #expect(
            try await s.session("head").inbox().contains { $0.entry.action == .breakGlassRequest })
        #expect(try await s.session("head").safeguarding.reviews().map(\.kind) == [.breakGlass])
    }

    @Test("an approver declines with a reason, told to the requester; others may still approve")
    func decline() async throws {
        let (s, label) = try await sealed()
        let request = try await s.session("dsl").breakGlass.request(label.record, reason: "urgent")
        // The requester, a tutor, and a reasonless decline are refused.
        await expectError(.permissionDenied) {
            try await s.session("dsl").breakGlass.decline(request.id, reason: "no")
        }
        await expectError(.permissionDenied) {
            try await s.session("price").breakGlass.decline(request.id, reason: "no")
        }
        await expectError(.usage) {
            try await s.session("head").breakGlass.decline(request.id, reason: "  ")
        }
        try await s.session("head").breakGlass.decline(request.id, reason: "ask the family")
        let told = try await s.session("dsl").inbox().first {
            $0.entry.action == .breakGlassDecline
        }
        #expect(told?.entry.reason == "\(request.id): ask the family")
        // The requester and the approvers see it; a tutor does not.
        let mine = try await s.session("dsl").breakGlass.requests()
        #expect(mine.map(\.request.id) == [request.id])
        #expect(mine.first?.mayApprove == false)
        #expect(try await s.session("head").breakGlass.requests().first?.mayApprove == true)
        #expect(try await s.session("price").breakGlass.requests().isEmpty)
        // One decline is one approver's say: a quorum of others still opens it.
        try await s.session("head").breakGlass.approve(request.id)
        try await s.session("dsl2").breakGlass.approve(request.id)
        let ready = try await s.session("dsl").breakGlass.requests().first
        #expect(ready?.approvals == 2 && ready?.used == false)
        _ = try await s.session("dsl").breakGlass.open(request.id)
        #expect(try await s.session("dsl").breakGlass.requests().first?.used == true)
        #expect(try await s.session("hale").verifyAudit().entries > 0)
    }

    @Test("the request list tells a learner nothing and writes nothing")
    func requestListLeaksNothing() async throws {
        let (s, label) = try await sealed()
        // A request on another learner's record (alex's), and one on sam's.
        let other = try await s.session("jones").seal(
            Fixture.form(learner: "alex", marker: "x"), confidential: false)
        _ = try await s.session("dsl").breakGlass.request(other.record, reason: "police")
        _ = try await s.session("dsl").breakGlass.request(label.record, reason: "police")
        let before = try await s.actions().count
        for who in ["sam", "price", "jones", "hale"] {
            let listed = try await s.session(PrincipalID(who)).breakGlass.requests()
            #expect(listed.isEmpty, "\(who)")
        }
        #expect(try await s.session("head").breakGlass.requests().count == 2)
        #expect(try await s.actions().count == before)
        // Approved, then declining is refused; an approver's repeat of their own step too.
        let first = try #require(try await s.session("head").breakGlass.requests().first)
        try await s.session("head").breakGlass.approve(first.request.id)
        await expectError(.permissionDenied) {
            try await s.session("head").breakGlass.decline(first.request.id, reason: "no")
        }
    }

    @Test("an inbox marker past the newest notice is refused, so the inbox never reads as tampered")
    func inboxMarkerBounded() async throws {
        let (s, label) = try await sealed()
        try await s.session("price").safeguarding.flag(label.record, reason: "worried")
        let dsl = try await s.session("dsl")
        let newest = try #require(try await dsl.inbox().first?.sequence)
        await expectError(.usage) { try await dsl.markInboxRead(through: newest + 1_000_000) }
        try await dsl.markInboxRead(through: newest)
        #expect(try await dsl.inbox().allSatisfy { !$0.unread })
    }

    @Test("a damaged request about another record stops neither approving nor opening this one")
    func damagedOtherRequest() async throws {
        let (s, label) = try await sealed()
        let request = try await s.session("dsl").breakGlass.request(label.record, reason: "urgent")
        try await s.f.store.transaction { tx in
            try await tx.put(
                StoredObject(
                    kind: FactKind.breakGlassRequest.rawValue, id: "BG-0000-0000-0000",
                    key: "R-0000-0000-0000", body: [2, 0xFF]))
        }
        try await s.session("head").breakGlass.approve(request.id)
        try await s.session("dsl2").breakGlass.approve(request.id)
        let opened = try await s.session("dsl").breakGlass.open(request.id)
        #expect(opened.label.record == label.record)
        // The damaged one itself is refused as tampering when it is named.
        await expectError(.tampered) {
            try await s.session("head").breakGlass.approve("BG-0000-0000-0000")
        }
    }

    @Test(
        "two opens of one request at the same moment: the second is refused where the first is recorded"
    )
    func simultaneousOpens() async throws {
        let (s, label) = try await sealed()
        let request = try await s.session("dsl").breakGlass.request(label.record, reason: "urgent")
        try await s.session("head").breakGlass.approve(request.id)
        try await s.session("dsl2").breakGlass.approve(request.id)
        let dsl = try await s.session("dsl")
        // The other open commits its marker after this one checked, before this one writes.
        let marker = try dsl.sign(BreakGlassUse(request: request.id, time: 0))
        await s.f.store.beforeNextTransaction(
            try await s.session("dsl2").committedWrite(as: .breakGlassOpen) { tx in
                try await tx.put(marker)
            })
        let refused = await expectError(.permissionDenied) {
            try await dsl.breakGlass.open(request.id)
        }
        #expect(refused?.message.contains("already used") == true)
        let opens = try await s.actions().filter {
            $0.action == .breakGlassOpen && $0.actor == "dsl"
        }
        #expect(opens.map(\.outcome) == [.denied])
        #expect(try await s.session("dsl").safeguarding.reviews().isEmpty)
    }

    @Test("an expired request can be neither approved nor opened")
    func expiry() async throws {
        let (s, label) = try await sealed()
        let request = try await s.session("dsl").breakGlass.request(label.record, reason: "urgent")
        try await s.session("dsl2", at: request.expires - 60).breakGlass.approve(request.id)
        // Time on the log only moves forward: the refusals after expiry come last.
        let later = request.expires + 1
        let late = await expectError(.permissionDenied) {
            try await s.session("head", at: later).breakGlass.approve(request.id)
        }
        #expect(late?.message.contains("expired") == true)
        let expired = await expectError(.permissionDenied) {
            try await s.session("dsl", at: later).breakGlass.open(request.id)
        }
        #expect(expired?.message.contains("expired") == true)
    }

    @Test(
        "approvals are cryptographic: an approval altered or moved to another request does not open"
    )
    func forgedApproval() async throws {
        let (s, label) = try await sealed()
        let request = try await s.session("dsl").breakGlass.request(label.record, reason: "urgent")
        try await s.session("head").breakGlass.approve(request.id)
        try await s.session("dsl2").breakGlass.approve(request.id)
        await s.f.store.tamper(object: "break-glass-approval", id: "\(request.id)/head") { body in
            var b = body
            b[40] ^= 1
            return b
        }
        await expectError(.tampered) { try await s.session("dsl").breakGlass.open(request.id) }
    }

    @Test("a head of centre reviews after the fact; no one reviews their own opening")
    func review() async throws {
        let s = try await SafeguardingFixture.make()
        let label = try await s.session("price").seal(Fixture.form(), confidential: true)
        try await s.session("price").safeguarding.flag(label.record, reason: "ref 9")
        _ = try await s.session("dsl").safeguarding.disclose(label.record, reason: "checking")
        let item = try #require(try await s.session("head").safeguarding.reviews().first)
        await expectError(.permissionDenied) {
            try await s.session("dsl").safeguarding.review(
                item.id, outcome: .justified, note: "mine")
        }
        await expectError(.usage) {
            try await s.session("head").safeguarding.review(item.id, outcome: .justified, note: "")
        }
        try await s.session("head").safeguarding.review(
            item.id, outcome: .justified, note: "proportionate")
        let reviewed = try #require(try await s.session("dsl").safeguarding.reviews().first)
        #expect(reviewed.outcome == .justified && reviewed.reviewer == "head")
        await expectError(.exists) {
            try await s.session("head").safeguarding.review(
                item.id, outcome: .unjustified, note: "x")
        }
        #expect(try await s.session("dsl").inbox().contains { $0.entry.action == .review })
    }
}
