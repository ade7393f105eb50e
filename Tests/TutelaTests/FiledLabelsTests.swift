import Foundation
import Testing

@testable import Tutela

/// A tutor's own list, and a learner's, read through the state's lists of labels by author and by
/// learner (#21 item 9): complete, and proven whole — never a record quietly missing or added.
@Suite("Labels filed by learner and by author")
struct FiledLabelsTests {
    /// The scene of ``FindingTests`` (Price three for Sam, one confidential and flagged; Jones one
    /// for Alex), Jones writing one for Sam too, and Pat, Sam's parent.
    static func scene() async throws -> (Fixture, [Label]) {
        let (f, labels) = try await FindingTests.scene()
        let office = try f.session("office")
        try await office.administration.enrol(
            "pat", name: "Pat Taylor", roles: [.parentCarer], passphrase: Fixture.passphrase("pat"))
        try await office.administration.setContacts("sam", LearnerContacts(parents: ["pat"]))
        let jones = try f.session("jones")
        let forSam = try await jones.seal(
            FindingTests.form("sam", date: "2026-11-20"), confidential: false)
        return (f, labels + [forSam])
    }

    static func listed(_ session: Session) async throws -> [RecordID] {
        try await session.finding.records(RecordQuery(perPage: 1000)).records.map(\.label.record)
    }

    /// How many (person, label, flagged) triples `decide(.viewLabel)` allows in `directory`, each
    /// checked to be in the person's scope. The labels are every class × learner × tutor as
    /// author, with every copy ticked, so every rule of the policy can match.
    static func checkScope(_ directory: Directory, _ sample: Label) throws -> Int {
        let policy = try #require(directory.policy)
        var checked = 0
        let authors = directory.principals.values.filter { $0.has(.tutor) }.map(\.id)
        for recordClass in policy.classes.keys {
            for learner in directory.learners.keys {
                for author in authors {
                    let label = Label(
                        record: sample.record, recordClass: recordClass, learner: learner,
                        author: author, created: sample.created, tutorialDate: sample.tutorialDate,
                        policyVersion: sample.policyVersion, copies: CopyKind.allCases,
                        wording: "Tutorial", sealedUnder: sample.sealedUnder)
                    for actor in directory.principals.values {
                        let scope = policy.labelScope(actor: actor, directory: directory)
                        for flagged in [false, true] {
                            let decision = policy.decide(
                                .viewLabel, actor: actor, label: label,
                                state: RecordState(flagged: flagged), directory: directory)
                            guard decision.allowed else { continue }
                            checked += 1
                            guard case .some(let authored, let learners) = scope else { continue }
                            #expect(
                                (authored && label.author == actor.id)
                                    || learners.contains(label.learner),
                                "\(actor.id) may see \(label) but would not find it")
                        }
                    }
                }
            }
        }
        return checked
    }

    @Test("whoever may see a label, by any rule of either shipped policy, is in scope to find it")
    func scopeCoversEveryAllowedLabel() async throws {
        let (f, labels) = try await Self.scene()
        let office = try f.session("office")
        #expect(try Self.checkScope(office.directory, labels[0]) > 20)
        // Tutors, learners and parents are not given every label to read through.
        let directory = office.directory
        let policy = try #require(directory.policy)
        for id: PrincipalID in ["price", "jones", "sam", "pat"] {
            let actor = try #require(directory.principals[id])
            #expect(policy.labelScope(actor: actor, directory: directory) != .every)
        }
        let hale = try #require(directory.principals["hale"])
        #expect(policy.labelScope(actor: hale, directory: directory) == .every)
        // The college's policy: copies to home schools and providers, and the ILR officer.
        try await office.administration.applyPolicy(
            Fixture.shippedPolicy("college.yaml").text, source: "college.yaml")
        let outside: [(PrincipalID, Role)] = [
            ("hs", .homeSchool), ("wbp", .workBasedProvider), ("mis", .ilrOfficer),
        ]
        for (id, role) in outside {
            try await office.administration.enrol(
                id, name: id.text, roles: [role], passphrase: Fixture.passphrase(id))
        }
        try await office.administration.setContacts(
            "sam", LearnerContacts(parents: ["pat"], homeSchool: "hs", provider: "wbp"))
        #expect(try Self.checkScope(office.directory, labels[0]) > 20)
        let college = try #require(office.directory.policy)
        for id: PrincipalID in ["hs", "wbp"] {
            let actor = try #require(office.directory.principals[id])
            #expect(
                college.labelScope(actor: actor, directory: office.directory)
                    == .some(authored: true, learners: ["sam"]))
        }
    }

    @Test("a tutor lists what they wrote and their tutees' records; a learner and a parent theirs")
    func everydayLists() async throws {
        let (f, labels) = try await Self.scene()
        // Price wrote three for Sam and is Sam's tutor: Jones's record for Sam too.
        #expect(
            Set(try await Self.listed(f.session("price")))
                == Set([labels[0], labels[1], labels[2], labels[4]].map(\.record)))
        // Jones wrote for Alex (a tutee) and for Sam.
        #expect(
            Set(try await Self.listed(f.session("jones")))
                == Set([labels[3], labels[4]].map(\.record)))
        // Sam sees their own, never the flagged one; Pat only what was copied to parents (none).
        #expect(
            Set(try await Self.listed(f.session("sam")))
                == Set([labels[0], labels[2], labels[4]].map(\.record)))
        let pat = try await f.vault.unlock("pat", passphrase: Fixture.passphrase("pat"))
        #expect(try await Self.listed(pat).isEmpty)
        // A tutor's list narrowed to another's records is read through that author's list.
        let price = try f.session("price")
        let byJones = try await price.finding.records(RecordQuery(author: "jones"))
        #expect(byJones.records.map(\.label.record) == [labels[4].record])
    }

    @Test("a label row deleted, moved to another author or swapped for an uncommitted record: 65")
    func tamperedFilings() async throws {
        // Deleted: Price's list, and Sam's, are short of one.
        let (f, labels) = try await Self.scene()
        await f.store.base.tamper { state in
            state.labels[labels[0].record] = nil
            state.authors[labels[0].record] = nil
        }
        await expectError(.tampered) { try await Self.listed(f.session("price")) }
        await expectError(.tampered) {
            try await f.session("hale").finding.records(RecordQuery(learner: "sam"))
        }
        // Moved: Price's record filed under Jones.
        let (g, moved) = try await Self.scene()
        await g.store.base.tamper { state in state.authors[moved[2].record] = "jones" }
        await expectError(.tampered) { try await Self.listed(g.session("price")) }
        await expectError(.tampered) { try await Self.listed(g.session("jones")) }
        await expectError(.tampered) {
            try await g.session("head").finding.records(RecordQuery(author: "jones"))
        }
        // `audit verify` reads each author's rows as the store files them, too.
        await expectError(.tampered) { try await g.vault.verifyAudit(checkpoint: nil) }
        // Swapped: an insider (Price, with his key and the database) stores a record he sealed
        // but never committed, about Sam, and deletes Jones's record for Sam in its place.
        let (h, swapped) = try await Self.scene()
        let price = try h.session("price")
        let (record, _) = try await RedTeam5Tests.pendingRecord(price, learner: "sam")
        try await h.store.base.transaction { tx in try await tx.insert(record) }
        await h.store.base.tamper { state in
            state.labels[swapped[4].record] = nil
            state.authors[swapped[4].record] = nil
            state.learners[swapped[4].record] = nil
        }
        await expectError(.tampered) {
            try await h.session("hale").finding.records(RecordQuery(learner: "sam"))
        }
        await expectError(.tampered) { try await Self.listed(h.session("sam")) }
        await expectError(.tampered) { try await Self.listed(h.session("price")) }
        // Sam's copy of their records is refused as a whole, not made without Jones's record.
        await expectError(.tampered) {
            try await h.session("price").export(learner: "sam", for: .learner)
        }
        // And `audit verify` names it.
        await expectError(.tampered) { try await h.vault.verifyAudit(checkpoint: nil) }
    }

    @Test("a tutor's own audit log is read through the labels filed under them")
    func ownAuditLog() async throws {
        let (f, labels) = try await Self.scene()
        let jones = try f.session("jones")
        let entries = try await jones.auditLog(record: nil)
        let subjects = Set(entries.compactMap(\.entry.subject))
        #expect(subjects.contains(labels[4].record.text))
        #expect(!subjects.contains(labels[0].record.text))
        await f.store.base.tamper { state in state.authors[labels[0].record] = "jones" }
        await expectError(.tampered) { _ = try await jones.auditLog(record: nil) }
    }
}

/// What the red team found in the lists by author and learner (#21 item 9, 2026-12-06).
@Suite("Labels filed by learner and by author: red team")
struct FiledLabelsRedTeamTests {
    @Test("a record named like a person or learner is never read, and no one is named like one")
    func recordNamedLikeAPerson() async throws {
        let (f, labels) = try await FindingTests.scene()
        let genuine = labels[0]
        for name in ["price", "sam", "BG-AAAA-BBBB-CCCC", "R-AAAA-BBBB-CCC", "RV-AAAA-BBBB-CCCC"] {
            let renamed = Label(
                record: try RecordID(name), recordClass: genuine.recordClass,
                learner: genuine.learner, author: genuine.author, created: genuine.created,
                tutorialDate: genuine.tutorialDate, policyVersion: genuine.policyVersion,
                copies: genuine.copies, wording: "Tutorial", sealedUnder: genuine.sealedUnder)
            #expect(throws: TutelaError.self) { try Label.parse(renamed.canonical) }
        }
        #expect(try Label.parse(genuine.canonical) == genuine)
        // A person or learner cannot be given a record's or request's id either.
        let office = try f.session("office")
        await expectError(.invalidInput) {
            _ = try await office.administration.invite(
                "R-AAAA-BBBB-CCCC", name: "Not a record", roles: [.tutor])
        }
        await expectError(.invalidInput) {
            try await office.administration.addLearner(
                "rv-1234-5678-9abc", name: "Not a review", tutor: "price",
                dateOfBirth: CalendarDate("2010-01-01"), programme: nil)
        }
    }

    @Test("a list read while the directory moves on decides with the directory it read under")
    func directoryMovesDuringList() async throws {
        let (f, labels) = try await FindingTests.scene()
        let price = try f.session("price")
        _ = try await FiledLabelsTests.listed(price)
        // Alex moves to Price while Price's session is open: its first list after has Alex's.
        try await f.session("office").administration.reassign(
            ["alex"], to: "price", confirmed: true)
        #expect(try await FiledLabelsTests.listed(price).contains(labels[3].record))
        // Jones becomes a record keeper too: every label, at once.
        let jones = try f.session("jones")
        _ = try await FiledLabelsTests.listed(jones)
        try await f.session("office").administration.setRoles("jones", [.tutor, .recordKeeper])
        #expect(try await FiledLabelsTests.listed(jones).count == labels.count)
    }

    @Test("an insider's own transaction cannot commit a record in another author's name")
    func recordInAnothersName() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let (record, _) = try await RedTeam5Tests.pendingRecord(price, learner: "sam")
        let jones = try f.session("jones")
        await expectError(.permissionDenied) {
            try await f.store.transaction(
                jones.committedWrite(as: .seal, subject: record.record.text) { tx in
                    try await tx.insert(record)
                })
        }
        #expect(try await f.store.record(record.record) == nil)
        #expect(try await f.session("sam").finding.records(RecordQuery()).total == 0)
    }
}

/// One record's retention questions (a hold, a review, its standing) on a proven label (#21, the
/// last red-team pass).
@Suite("One record's label for retention: red team")
struct SingleLabelRedTeamTests {
    @Test("a destroyed record whose label row was deleted is tampering, not 'no record'")
    func destroyedRowDeleted() async throws {
        let (f, label) = try await RedTeamTests.retentionFixture()
        #expect(await RedTeamTests.destroyedByTwo(f, label.record, on: "2035-06-01"))
        await f.store.base.tamper { state in state.labels[label.record] = nil }
        let hale = try await RedTeamTests.session(f, "hale", on: "2035-06-02")
        let asOf = try #require(CalendarDate("2035-06-02"))
        await expectError(.tampered) {
            _ = try await hale.retention.status(asOf: asOf, record: label.record)
        }
        await expectError(.tampered) {
            try await hale.retention.setHold(label.record, active: true, reason: "inquiry")
        }
    }
}
