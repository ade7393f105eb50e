import Foundation
import Testing

@testable import Tutela

/// A record is never sealed without the break-glass shares its policy requires: sealing refuses,
/// naming what is missing, until enough approver groups have a key to seal to.
@Suite("No record sealed without its break-glass shares")
struct StrictSealTests {
    /// Everything the store holds, by name: each chain's length, every label, record, share and
    /// object, and every shred key with no record.
    static func contents(_ f: Fixture) async throws -> [String] {
        let state = await f.store.base.state
        var names = state.chains.map { "chain \($0.key.rawValue) \($0.value.count)" }
        names += state.labels.keys.map { "label \($0)" } + state.records.keys.map { "record \($0)" }
        names += state.shares.flatMap { record, shares in
            shares.keys.map { "share \(record) \($0)" }
        }
        names += state.objects.flatMap { kind, objects in objects.keys.map { "\(kind) \($0)" } }
        names += try await f.store.orphanShredKeys().map { "shred key \($0)" }
        return names.sorted()
    }

    /// An informal support note about Sam: a class whose policy asks for no break-glass.
    static func note() throws -> RecordContent {
        .informalNote(
            try InformalNote.parse(
                Array(#"{"learner": "sam", "date": "2026-11-21", "summary": "the bus"}"#.utf8),
                source: "note.json"))
    }

    @Test(
        "with no head of centre and no group key, a tutorial is refused, naming both, and nothing is written"
    )
    func refusedWithoutApprovers() async throws {
        let f = try await Fixture.make(groups: false)
        let price = try f.session("price")
        let before = try await Self.contents(f)
        for confidential in [false, true] {
            let error = await expectError(.permissionDenied) {
                try await price.seal(
                    Fixture.form(marker: "never sealed"), confidential: confidential)
            }
            let message = error?.message ?? ""
            #expect(message.contains("break-glass shares"), "\(message)")
            #expect(message.contains("no head-of-centre is enrolled"), "\(message)")
            #expect(message.contains("the safeguarding-officer group has no key yet"), "\(message)")
            #expect(error?.hint?.contains("first member's next command") == true)
        }
        // A batch with one tutorial among notes is refused whole.
        await expectError(.permissionDenied) {
            try await price.sealBatch([
                (Self.note(), .informalNote), (.progressReview(Fixture.form()), .tutorial),
                (Self.note(), .informalNote),
            ])
        }
        // No record, label, share, object, audit entry or shred key.
        #expect(try await f.store.labels(learner: nil).isEmpty)
        #expect(try await Self.contents(f) == before)
        // A class whose policy asks for no break-glass is sealed as before, with no shares.
        let note = try await price.seal(Self.note(), as: .informalNote)
        #expect(try await f.store.shares(record: note.record).isEmpty)
    }

    @Test(
        "once the head enrols and each group's first member runs a command, tutorials carry shares")
    func sealedOnceGroupsExist() async throws {
        let f = try await Fixture.make(groups: false)
        let office = try f.session("office")
        try await office.administration.enrol(
            "head", name: "Head", roles: [.headOfCentre], passphrase: Fixture.passphrase("head"))
        // Enrolled, with no key yet: both groups still lack one.
        func refusal() async -> String {
            let error = await expectError(.permissionDenied) {
                try await f.vault.unlock("price", passphrase: Fixture.passphrase("price"))
                    .seal(Fixture.form(), confidential: true)
            }
            return error?.message ?? ""
        }
        var message = await refusal()
        #expect(message.contains("the head-of-centre group has no key yet"), "\(message)")
        #expect(message.contains("the safeguarding-officer group has no key yet"), "\(message)")
        // The head's first command makes the heads' key: one of the two approvals is not enough.
        let head = try await f.vault.unlock("head", passphrase: Fixture.passphrase("head"))
        #expect(try await head.lifecycle.catchUpGroups().created.map(\.role) == [.headOfCentre])
        message = await refusal()
        #expect(!message.contains("head-of-centre group") && !message.contains("no head"))
        #expect(message.contains("the safeguarding-officer group has no key yet"), "\(message)")
        #expect(try await f.store.labels(learner: nil).isEmpty)
        // The officer's first command makes theirs: sealing works, with a share for each group.
        let dsl = try await f.vault.unlock("dsl", passphrase: Fixture.passphrase("dsl"))
        #expect(
            try await dsl.lifecycle.catchUpGroups().created.map(\.role) == [.safeguardingOfficer])
        let price = try await f.vault.unlock("price", passphrase: Fixture.passphrase("price"))
        for confidential in [false, true] {
            let label = try await price.seal(Fixture.form(), confidential: confidential)
            #expect(
                try await f.store.shares(record: label.record).map(\.holder) == [
                    .group(.headOfCentre, version: 1), .group(.safeguardingOfficer, version: 1),
                ])
        }
    }

    @Test(
        "in a centre without its groups, someone the policy does not let seal is refused for that, and audited"
    )
    func policyRefusalFirst() async throws {
        let f = try await Fixture.make(groups: false)
        let error = await expectError(.permissionDenied) {
            try await f.session("hale").seal(Fixture.form(), confidential: false)
        }
        #expect(error?.message.contains("may not seal records") == true)
        #expect(error?.message.contains("break-glass") == false)
        let entries = try await f.store.links(.audit).map {
            try AuditEntry.parse($0.body, context: "test")
        }
        #expect(
            entries.contains { $0.actor == "hale" && $0.action == .seal && $0.outcome == .denied })
    }
}
