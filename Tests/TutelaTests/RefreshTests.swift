import Foundation
import Testing

@testable import Tutela

/// A session kept for hours (as a server keeps one per signed-in person) catches up with the
/// directory by verifying only what was added, and stops when its person is revoked.
@Suite("A long-lived session and the moving directory")
struct RefreshTests {
    @Test("after refresh a session sees learners, people and roles added since it unlocked")
    func seesNewStatements() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let jones = try f.session("jones")
        let office = try f.session("office")
        try await office.administration.addLearner(
            "kim", name: "Kim Lee", tutor: "price", dateOfBirth: nil, programme: nil)
        try await office.administration.setRoles("jones", [.tutor, .recordKeeper])
        // Before refreshing, the session knows only the directory it verified.
        await expectError(.invalidInput) {
            try await price.seal(Fixture.form(learner: "kim"), confidential: false)
        }
        #expect(!jones.principal.has(.recordKeeper))
        try await price.refresh()
        try await jones.refresh()
        _ = try await price.seal(Fixture.form(learner: "kim"), confidential: false)
        #expect(jones.principal.has(.recordKeeper))
        // Nothing new: a refresh reads nothing to verify and changes nothing.
        let head = price.directory.head
        try await price.refresh()
        #expect(price.directory.head == head)
    }

    @Test("a person revoked while their session lives can no longer refresh it")
    func revoked() async throws {
        let f = try await Fixture.make()
        let jones = try f.session("jones")
        try await f.session("office").administration.revoke("jones")
        await expectError(.permissionDenied) { try await jones.refresh() }
    }

    @Test("a directory edited, cut or extended behind Tutela's back is refused on refresh")
    func tampered() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let original = try await f.store.links(.directory)
        // The statements the session verified are cut from the vault.
        await f.store.tamper(chain: .directory) { Array($0.dropLast()) }
        await expectError(.tampered) { try await price.refresh() }
        // A statement appended that no administrator signed: a tutor's, with a valid chain hash.
        await f.store.tamper(chain: .directory) { _ in original }
        let forged = try SignedChain.link(
            .directory, after: original.last,
            body: DirectoryStatement.addLearner(
                .init(id: "ghost", name: "Ghost", tutor: "price", dateOfBirth: nil, programme: nil)
            ).encode(at: 0), signer: price.identity)
        await f.store.tamper(chain: .directory) { $0 + [forged] }
        await expectError(.tampered) { try await price.refresh() }
        #expect(price.directory.learners["ghost"] == nil)
    }

    @Test("a seal by a session unlocked before a reader left gives the leaver no slot")
    func sealDecidesAfresh() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        // Jones, Alex's tutor, leaves; Price's session still holds the directory from before.
        try await f.session("office").administration.revoke("jones")
        let label = try await price.seal(Fixture.form(learner: "alex"), confidential: false)
        let stored = try #require(try await f.store.record(label.record))
        #expect(!stored.slots.contains { $0.recipient == .person("jones") })
        #expect(stored.slots.contains { $0.recipient == .person("price") })
    }

    @Test("a hold placed by someone whose role was taken away meanwhile is refused")
    func holdDecidesAfresh() async throws {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(Fixture.form(), confidential: false)
        let hale = try f.session("hale")
        // Hale stops being a record keeper between the decision and the transaction that would
        // store the hold.
        try await Self.interleave(.setRoles(principal: "hale", roles: [.tutor]), in: f)
        await expectError(.permissionDenied) {
            try await hale.retention.setHold(label.record, active: true, reason: "inquiry 12")
        }
        #expect(try await hale.retention.hold(label) == nil)
    }

    /// A file of `count` small forms about `learner`, one per line, for an import.
    static func formsFile(learner: String, count: Int) throws -> URL {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tutela-forms-\(UUID().uuidString).jsonl")
        try (0..<count).map {
            #"{"learner": "\#(learner)", "date": "2026-11-20", "course": "Maths", "comments": "line \#($0)"}"#
        }.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    /// Commits `statement`, signed by the office, just before the transaction after the next
    /// `skipping` ones: an administrator's change landing while another command runs.
    static func interleave(
        _ statement: DirectoryStatement, skipping: Int = 0, in f: Fixture
    ) async throws {
        let office = try f.session("office")
        let identity = office.identity
        await f.store.beforeNextTransaction(
            skipping: skipping,
            office.committedWrite { tx in
                let link = try SignedChain.link(
                    .directory, after: try await tx.lastLink(.directory),
                    body: statement.encode(at: 1_795_300_000), signer: identity)
                try await tx.append(link, to: .directory)
            })
    }

    @Test("a batch sealed in memory before a reader left is sealed again without them")
    func importBatchDecidesAfresh() async throws {
        let f = try await Fixture.make()
        let file = try RefreshTests.formsFile(learner: "alex", count: 6)
        defer { try? FileManager.default.removeItem(at: file) }
        // The office revokes Jones (Alex's tutor) just before the second batch is written: that
        // batch was sealed in memory, with a slot for Jones, while the first was being written.
        try await Self.interleave(.revoke(principal: "jones"), skipping: 1, in: f)
        let price = try await f.vault.unlock("price", passphrase: Fixture.passphrase("price"))
        #expect(try await price.importForms(file.path, confidential: false, batchSize: 2) == 6)
        let labels = try await f.store.labels(learner: nil)
        #expect(labels.count == 6)
        var withJones = 0
        for label in labels {
            let stored = try #require(try await f.store.record(label.record))
            if stored.slots.contains(where: { $0.recipient == .person("jones") }) { withJones += 1 }
        }
        // Only the first batch, stored before Jones left, has a slot for them.
        #expect(withJones == 2)
    }

    @Test("a record stored while a reader was being revoked keeps no slot for them")
    func revokeLeavesNoLateSlot() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        // Sealed (with a slot for Jones, Alex's tutor) before the revocation, and stored between
        // the revocation's listing of Jones's slots and its statement.
        let prepared = try await price.prepareSeal([
            (.progressReview(Fixture.form(learner: "alex")), .tutorial)
        ])
        let (record, learner, _, _) = try #require(prepared.records.first)
        #expect(record.slots.contains { $0.recipient == .person("jones") })
        await f.store.beforeNextTransaction(
            price.committedWrite { tx in try await tx.insert(record) })
        try await f.session("office").administration.revoke("jones")
        #expect(try await f.store.slots(recipient: .person("jones"), limit: 100).isEmpty)
        #expect(try await f.store.record(record.record) != nil)
    }

    @Test("a record stored while a reader was being re-keyed keeps no slot under their old key")
    func rekeyLeavesNoLateSlot() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let prepared = try await price.prepareSeal([
            (.progressReview(Fixture.form(learner: "sam")), .tutorial)
        ])
        let (record, learner, _, _) = try #require(prepared.records.first)
        await f.store.beforeNextTransaction(
            price.committedWrite { tx in try await tx.insert(record) })
        try await f.session("office").administration.rekey(
            "price", passphrase: Passphrase("a new passphrase for price"))
        // A slot under the discarded key opens for no one: none is left to stand for a reader.
        #expect(try await f.store.slots(recipient: .person("price"), limit: 100).isEmpty)
    }
}
