import Foundation
import Testing
import TutelaCrypto

@testable import Tutela

/// Red-team findings against the #18 defences: each test performs an attack that an enrolled member
/// of staff with write access to the vault's files (or a leaver whose key is still on disk) can make
/// on stored state, and asserts that Tutela refuses it. Found by a red-team helper on 2026-12-03:
/// seven of the eleven were closed the same day; the rest are marked as known issues naming what is
/// still open in #18.
@Suite("Red team (#18)")
struct RedTeamTests {
    // MARK: - Helpers

    /// A session of `who` whose clock reads midnight UTC on `date`.
    static func session(_ f: Fixture, _ who: PrincipalID, on date: String) async throws -> Session {
        try await Vault(store: f.store, clock: Clock { midnight(date) })
            .unlock(who, passphrase: Fixture.passphrase(who))
    }

    /// The retention fixture: a tutorial about Sam, who leaves on 2027-07-20, so the record is due
    /// for destruction on 2035-03-14 (later of leaving + 7 years and date of birth + 25 years).
    static func retentionFixture() async throws -> (Fixture, Label) {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(
            Fixture.form(marker: "must outlive the attack"), confidential: false)
        try await f.session("office").administration.learnerLeft(
            "sam", on: #require(CalendarDate("2027-07-20")))
        // Every destruction takes two people: Hale and a second keeper.
        try await f.session("office").administration.enrol(
            "keeper2", name: "K2", roles: [.recordKeeper], passphrase: Fixture.passphrase("keeper2")
        )
        return (f, label)
    }

    /// Whether two honest keepers, Hale proposing and Keeper 2 agreeing on `date`, destroy `record`.
    static func destroyedByTwo(_ f: Fixture, _ record: RecordID, on date: String) async -> Bool {
        guard let hale = try? await session(f, "hale", on: date),
            let keeper2 = try? await session(f, "keeper2", on: date)
        else { return false }
        _ = await destroyed { try await hale.retention.destroy(record) }
        return await destroyed { try await keeper2.retention.destroy(record) }
    }

    /// Whether `record` was destroyed by `attempt` (a refusal of any kind counts as not destroyed).
    static func destroyed(
        _ attempt: () async throws -> Retention.DestructionResult
    ) async -> Bool {
        guard let result = try? await attempt() else { return false }
        if case .destroyed = result { return true }
        return false
    }

    // MARK: - Destruction

    @Test("a retention review signed by a tutor never makes a record due for destruction")
    func retentionReviewByTutor() async throws {
        let (f, label) = try await Self.retentionFixture()
        // Jones (a tutor: no retention role) signs a "review: destroy" for the record and writes it
        // in. The record is not due until 2035.
        let jones = try f.session("jones")
        try await jones.refresh()
        let review = RetentionReview(
            record: label.record, keepUntil: nil, reason: "tidy up", time: midnight("2027-01-01"),
            by: "jones")
        let signed = try jones.sign(review)
        // Written in with a log entry of the signer's own committing to it, as an insider
        // with their key and the database files would.
        try await f.store.transaction(jones.committedWrite { tx in try await tx.put(signed) })
        // An honest record keeper runs the check in 2027: the record must not be due, and must not
        // be destroyed on a tutor's word.
        let hale = try await Self.session(f, "hale", on: "2027-01-01")
        let asOf = try #require(CalendarDate("2027-01-01"))
        let statuses = try await hale.retention.check(asOf: asOf)
        let status = try #require(statuses.first { $0.label.record == label.record })
        #expect(
            status.standing != .due, "a tutor's review made the record due: \(status.note ?? "")")
        let gone = await Self.destroyedByTwo(f, label.record, on: "2027-01-01")
        #expect(!gone, "destroyed eight years early on a review signed by a tutor")
        #expect(try await f.store.record(label.record) != nil)
    }

    @Test("a keeper's 'destroy' review of a record that never came up for review destroys nothing")
    func retentionReviewOfRecordNotInReview() async throws {
        let (f, label) = try await Self.retentionFixture()
        // Hale may review retention, but only of records whose period ended with `then: review`
        // (`reviewRetention` refuses this one as not due for review). Written in directly, the
        // same signed fact makes an ordinary record due today.
        let hale = try await Self.session(f, "hale", on: "2027-01-01")
        await expectError(.permissionDenied) {
            try await hale.retention.reviewRetention(label.record, keepUntil: nil, reason: "go")
        }
        let review = RetentionReview(
            record: label.record, keepUntil: nil, reason: "go", time: midnight("2027-01-01"),
            by: "hale")
        let signed = try hale.sign(review)
        // Written in with a log entry of the signer's own committing to it, as an insider
        // with their key and the database files would.
        try await f.store.transaction(hale.committedWrite { tx in try await tx.put(signed) })
        let gone = await Self.destroyedByTwo(f, label.record, on: "2027-01-01")
        #expect(!gone, "a record due in 2035 was destroyed in 2027")
        #expect(try await f.store.record(label.record) != nil)
    }

    @Test("a destruction proposal by a tutor or a leaver never counts as the second keeper")
    func proposalBySomeoneWhoMayNotDestroy() async throws {
        for attacker: PrincipalID in ["jones", "keeper2"] {
            let (f, label) = try await Self.retentionFixture()
            var signer = try await Self.session(f, attacker, on: "2035-06-01")
            if attacker == "keeper2" {
                // A second keeper who left: revoked, but their key is still on disk.
                try await f.vault.unlock("office", passphrase: Fixture.passphrase("office"))
                    .administration.revoke("keeper2")
                signer = try await f.forger(signer)
            }
            let proposal = DestructionProposal(
                record: label.record, time: midnight("2035-06-01"), by: attacker)
            let signed = try signer.sign(proposal)
            // Written in with a log entry of the signer's own committing to it, as an insider
            // with their key and the database files would.
            try await f.store.transaction(signer.committedWrite { tx in try await tx.put(signed) })
            // Hale, honestly, asks to destroy the due record: only a proposal must result. (The
            // leaver's own entry, signed after their revocation, stops the vault as tampering.)
            let hale: Session
            do { hale = try await Self.session(f, "hale", on: "2035-06-01") } catch let error
                as TutelaError where error.kind == .tampered && attacker == "keeper2"
            {
                #expect(error.message.contains("was revoked"))
                continue
            }
            let gone = await Self.destroyed { try await hale.retention.destroy(label.record) }
            #expect(!gone, "one keeper destroyed the record on a proposal signed by \(attacker)")
            #expect(try await f.store.record(label.record) != nil, "\(attacker)")
        }
    }

    // MARK: - Break-glass

    @Test("a break-glass request whose lifetime exceeds the policy's is never approved or opened")
    func breakGlassLifetime() async throws {
        let s = try await SafeguardingFixture.make()
        let label = try await s.session("price").seal(Fixture.form(), confidential: false)
        // The DSL may request break-glass (lifetime 24 hours under the shipped policy), but signs a
        // request of their own that lasts ten years and writes it in.
        let created: Int64 = 1_795_300_000
        let dsl = try await s.session("dsl")
        let request = BreakGlassRequest(
            id: "BG-LONG-LIFE-0001", record: label.record, requester: "dsl",
            reason: "CPOMS 4411", created: created, expires: created + 10 * 365 * 86_400,
            approvalsNeeded: 2)
        let signed = try dsl.sign(request)
        // Written in with a log entry of the signer's own committing to it, as an insider
        // with their key and the database files would.
        try await s.f.store.transaction(dsl.committedWrite { tx in try await tx.put(signed) })
        // A month later the request would long have expired had it been made by `request`.
        let later = created + 30 * 86_400
        await expectError(.permissionDenied) {
            try await s.session("head", at: later).breakGlass.approve(request.id)
        }
        _ = try? await s.session("dsl2", at: later).breakGlass.approve(request.id)
        let opened = try? await s.session("dsl", at: later + 60).breakGlass.open(request.id)
        #expect(opened == nil, "a record opened on a request 30 days past the policy's 24 hours")
    }

    // MARK: - Copies for learners and parents

    @Test("a flag signed by someone the policy does not let flag is refused as tampering")
    func flagBySomeoneWhoMayNotFlag() async throws {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(Fixture.form(), confidential: false)
        let sam = try f.session("sam")
        #expect(try await sam.export(learner: "sam").records.count == 1)
        // Jones is not the author nor Sam's tutor: the policy lets him flag nothing of Sam's (the
        // live path refuses), yet he signs a flag and writes it into the database.
        await expectError(.permissionDenied) {
            try await f.session("jones").safeguarding.flag(label.record, reason: "hide it")
        }
        let jones = try f.session("jones")
        let flag = SafeguardingFlag(
            record: label.record, flaggedBy: "jones", time: 1_795_300_000, reason: "hide it",
            decidedAt: jones.directory.statementCount)
        let signed = try jones.sign(flag)
        // Written in with a log entry of the signer's own committing to it, as an insider
        // with their key and the database files would.
        try await f.store.transaction(jones.committedWrite { tx in try await tx.put(signed) })
        // It neither withholds Sam's copy silently nor is silently ignored: the vault refuses.
        // The learner is not told what did not match (it names a flag); staff are.
        let error = await expectError(.tampered) { try await sam.export(learner: "sam") }
        #expect(error?.message.contains("flag") == false, "\(error?.message ?? "")")
        let staff = await expectError(.tampered) {
            try await f.session("price").export(learner: "sam", for: .learner)
        }
        #expect(staff?.message.contains("did not let flag it") == true, "\(staff?.message ?? "")")
        await expectError(.tampered) { try await f.session("price").open(label.record) }
    }

    @Test("a session unlocked before the directory moved reads a flag made after it")
    func flagReadByAnOlderSession() async throws {
        let s = try await SafeguardingFixture.make()
        let label = try await s.session("price").seal(Fixture.form(), confidential: false)
        // Sam's session is unlocked now; then the directory moves and Price (caught up) flags.
        let sam = try await s.f.vault.unlock("sam", passphrase: Fixture.passphrase("sam"))
        let dsl = try await s.f.vault.unlock("dsl", passphrase: Fixture.passphrase("dsl"))
        try await s.f.session("office").administration.addLearner(
            "kim", name: "Kim Lee", tutor: "price", dateOfBirth: nil, programme: nil)
        let price = try await s.session("price")
        try await price.refresh()
        try await price.safeguarding.flag(label.record, reason: "CPOMS 4412")
        // Sam's older session catches up and withholds it: neither tampering nor a release.
        let copy = try await sam.export(learner: "sam")
        #expect(copy.records.isEmpty && copy.leftOut.isEmpty)
        // So does the officer's, whose queue reads flags outside any transaction.
        #expect(try await dsl.safeguarding.queue().map(\.label.record) == [label.record])
    }

    @Test("a genuine flag still counts after its flagger leaves and the policy changes")
    func flagOutlivesItsFlagger() async throws {
        let s = try await SafeguardingFixture.make()
        let label = try await s.session("price").seal(Fixture.form(), confidential: false)
        try await s.session("price").safeguarding.flag(label.record, reason: "CPOMS 4411")
        try await s.f.session("office").administration.revoke("price")
        // Sam's copy still withholds it: the flag is judged by the directory it was made under.
        let sam = try await s.f.vault.unlock("sam", passphrase: Fixture.passphrase("sam"))
        let copy = try await sam.export(learner: "sam")
        #expect(copy.records.isEmpty)
        _ = try await s.session("dsl").safeguarding.disclose(label.record, reason: "CPOMS 4411")
    }

    @Test("a record's label row moved to another learner does not silently leave a learner's copy")
    func exportMovedLabelRow() async throws {
        let f = try await Fixture.make()
        _ = try await f.session("price").seal(Fixture.form(), confidential: false)
        let label = try await f.session("price").seal(
            Fixture.form(marker: "the one to hide"), confidential: false)
        let sam = try f.session("sam")
        #expect(try await sam.export(learner: "sam").records.count == 2)
        // The labels table's learner column of one record is changed to Alex; the label bytes and
        // the envelope are untouched. A full `records list` notices (tampered); the copy does not.
        await f.store.base.moveLabelRow(label.record, to: "alex")
        await expectError(.tampered) { try await sam.labels(learner: nil) }
        await expectError(.tampered) { try await sam.export(learner: "sam") }
        // So does one learner's list, from either side of the move: the state counts each
        // learner's labels.
        await expectError(.tampered) { try await sam.labels(learner: "sam") }
        await expectError(.tampered) { try await f.session("jones").labels(learner: "alex") }
    }

    // MARK: - Leavers

    @Test("a leaver's key seals no record dated after their revocation that anyone can open")
    func leaverSealsAfterRevocation() async throws {
        let f = try await Fixture.make()
        // Price's client (or his key on disk) from before he left; the clock is honest.
        let stale = try await Self.session(f, "price", on: "2027-01-11")
        try await f.session("office").administration.revoke("price")
        await expectError(.permissionDenied) {
            try await f.vault.unlock("price", passphrase: Fixture.passphrase("price"))
        }
        // Two months after the signed revocation he seals a "tutorial" about Sam: refused, the
        // session catches up with the directory in the transaction that would store it.
        await expectError(.permissionDenied) {
            try await stale.seal(Fixture.form(marker: "written by a leaver"), confidential: false)
        }
        #expect(try await f.store.labels(learner: nil).isEmpty)
        // Written in behind Tutela's back instead, his entry after the one revoking him fails
        // `audit verify`.
        var entry = AuditEntry(
            action: .seal, actor: "price", subject: nil, outcome: .allowed, reason: nil,
            time: midnight("2027-01-11"), policyVersion: "1")
        let last = try await f.store.links(.audit).last
        // The forger copies the state the last entry committed to.
        entry.state = try AuditEntry.parse(#require(last).body, context: "last").state
        let forged = try SignedChain.link(
            .audit, after: last, body: entry.canonical, signer: stale.identity)
        try await f.store.transaction { tx in try await tx.append(forged, to: .audit) }
        let error = await expectError(.tampered) { try await f.vault.verifyAudit(checkpoint: nil) }
        #expect(error?.message.contains("was revoked") == true)
    }

    // MARK: - Group keys

    @Test(
        "an administrator who publishes a group key never holds the break-glass shares sealed to it"
    )
    func administratorKeepsGroupKeys() async throws {
        let s = try await SafeguardingFixture.make()
        let f = s.f
        try await f.session("office").administration.enrol(
            "deputy", name: "Deputy admin", roles: [.admin],
            passphrase: Fixture.passphrase("deputy"))
        let deputy = try await s.session("deputy")
        // The deputy (no safeguarding or head-of-centre role) rotates an approver group as `group
        // create` does — members' boxes, a signed statement — but keeps the private key.
        await expectError(.permissionDenied) {
            try await deputy.lifecycle.rotateGroupKey(.headOfCentre)
        }
        let role = Role.headOfCentre
        let (_, directory) = try await f.vault.verifiedDirectory()
        let key = try KeyAgreementPrivateKey()
        let version = (directory.groups[role]?.version ?? 0) + 1
        let group = Recipient.group(role, version: version)
        let boxes = try directory.holders(of: role).map { member in
            let id = MemberBoxID(group: group, member: member.id).description
            return StoredObject(
                kind: ObjectKind.groupMember, id: id, key: group.description,
                body: try BoundBox.seal(
                    key.secret, kind: .groupMember, binding: id,
                    to: member.identity.agreementKey))
        }
        let statement = DirectoryStatement.groupKey(
            role: role, version: version, publicKey: key.publicKey.bytes)
        let last = try await f.store.links(.directory).last
        let link = try SignedChain.link(
            .directory, after: last, body: statement.encode(at: 1_795_300_000),
            signer: deputy.identity)
        try await f.store.transaction { tx in
            try await tx.append(link, to: .directory)
            for box in boxes { try await tx.put(box) }
        }
        // The directory takes a group key only from a holder of the role (#19): Price's next seal
        // refuses, and nothing is ever sealed to the key the deputy kept.
        await expectError(.tampered) {
            _ = try await s.session("price").seal(
                Fixture.form(marker: "read offline by an administrator"), confidential: false)
        }
        #expect(try await f.store.shares(holder: group, after: nil, limit: 10).isEmpty)
    }

    // MARK: - Slots no one confirmed

    @Test("a group slot planted before a flag never stops the officers opening the flagged record")
    func plantedGroupSlotBeforeFlag() async throws {
        let s = try await SafeguardingFixture.make()
        let f = s.f
        let label = try await s.session("price").seal(
            Fixture.form(marker: "concern"), confidential: true)
        // Jones writes a well-formed slot for the officers' group holding a random key: the group's
        // public key is public, so anyone can.
        let (_, directory) = try await f.vault.verifiedDirectory()
        let group = try #require(directory.groups[.safeguardingOfficer])
        let planted = try Slot.make(
            record: label.record, generation: 1, key: try SecretBytes.random(count: 32),
            recipient: group.holder, to: group.publicKey)
        try await f.store.transaction { tx in try await tx.insert(planted) }
        // The author flags it; the flag confirms its own key but keeps the planted slot.
        try await s.session("price").safeguarding.flag(label.record, reason: "CPOMS 4411")
        let opened = try await s.session("dsl").safeguarding.disclose(
            label.record, reason: "following up CPOMS 4411")
        #expect(opened.form?.comments == "concern")
    }

    @Test("a group re-wrap never re-seals a slot whose key the envelope does not confirm")
    func rewrapConfirmsTheKey() async throws {
        let s = try await SafeguardingFixture.make()
        let f = s.f
        let label = try await s.session("price").seal(Fixture.form(), confidential: true)
        let (_, directory) = try await f.vault.verifiedDirectory()
        let group = try #require(directory.groups[.safeguardingOfficer])
        let planted = try Slot.make(
            record: label.record, generation: 1, key: try SecretBytes.random(count: 32),
            recipient: group.holder, to: group.publicKey)
        try await f.store.transaction { tx in try await tx.insert(planted) }
        try await s.session("dsl").lifecycle.rotateGroupKey(.safeguardingOfficer)
        // The officer's re-wrap confirms what each old slot holds against the envelope: the
        // planted one is tampering, never sealed to the new group key.
        await expectError(.tampered) {
            try await s.session("dsl").lifecycle.rewrapGroup(.safeguardingOfficer)
        }
    }

    @Test("a re-wrap refuses an old group key box that does not hold the published key")
    func rewrapConfirmsTheOldGroupKey() async throws {
        let s = try await SafeguardingFixture.make()
        let f = s.f
        _ = try await s.session("price").seal(Fixture.form(), confidential: true)
        let dsl = try await s.session("dsl")
        let old = Recipient.group(.safeguardingOfficer, version: 1)
        let boxID = MemberBoxID(group: old, member: "dsl").description
        try await dsl.lifecycle.rotateGroupKey(.safeguardingOfficer)
        // Anyone can seal a box to the officer (their key is public): this one holds another key.
        let other = try KeyAgreementPrivateKey()
        let forged = try BoundBox.seal(
            other.secret, kind: .groupMember, binding: boxID,
            to: dsl.identity.publicIdentity.agreementKey)
        await f.store.tamper(object: ObjectKind.groupMember, id: boxID) { _ in forged }
        try await dsl.refresh()
        let error = await expectError(.tampered) {
            try await dsl.lifecycle.rewrapGroup(.safeguardingOfficer)
        }
        #expect(error?.message.contains("does not match the published key") == true)
    }

    // MARK: - YAML

    @Test("anchors and aliases after a CR, NEL or line-separator line break are refused")
    func yamlLineBreaks() async throws {
        // libyaml ends a line at CR, NEL (U+0085), LS (U+2028) and PS (U+2029) as well as LF; the
        // guard only at LF, so everything after the first plain scalar is one "line" of text to it.
        for newline in ["\r", "\u{85}", "\u{2028}", "\u{2029}"] {
            let text = "- z\(newline)- &x [1]\(newline)- *x\(newline)"
            #expect(
                YAMLGuard.firstAnchorOrAlias(in: text) != nil,
                "\(Array(newline.unicodeScalars.map(\.value)))")
            let error = await expectError(.invalidInput) {
                try Policy.parse(Array(text.utf8), source: "cr.yaml")
            }
            #expect(
                error?.message.contains("anchors and aliases") == true, "\(error?.message ?? "")")
        }
        // The alias bomb, written with CR line breaks: 22 levels (891 bytes) kept the composer busy
        // for about 67 s here, four times longer per two levels; a signed policy is parsed by every
        // command. Built at 8 levels only, to show the guard passes it.
        var bomb = "- z\r- &l0 [x, y]\r- &m0 [x, z]\r"
        for n in 1...8 {
            bomb += "- &l\(n) [*l\(n - 1), *l\(n - 1)]\r- &m\(n) [*l\(n - 1), *m\(n - 1)]\r"
        }
        bomb += "- {? *l8 : 1, ? *m8 : 2, ? *l8 : 3}\r"
        #expect(YAMLGuard.firstAnchorOrAlias(in: bomb) != nil)
    }
}

extension MemoryVaultStore {
    /// Changes the learner a record's label row is filed under (the labels table's learner column),
    /// leaving the label bytes and the envelope as they are.
    func moveLabelRow(_ record: RecordID, to learner: LearnerID) {
        state.learners[record] = learner
    }
}
