import Foundation
import Testing

@testable import Tutela

/// A transaction that changes a group of facts commits the group's new value to the state from
/// the rows it reads back at the end (found in review, 2026-12-07): a row planted in that group
/// meanwhile, by someone writing to the database without the writer lock, must fail the
/// transaction as tampering, never be committed into the state beside the transaction's own.
@Suite("A fact planted in a group a transaction changes")
struct FactGroupPlantTests {
    @Test("a flag planted beside the one a transaction writes: 65, and nothing commits")
    func plantedBesideOwnWrite() async throws {
        let f = try await Fixture.make()
        let price = try await f.session("price")
        let label = try await price.seal(Fixture.form(), confidential: false)
        try await price.safeguarding.flag(label.record, reason: "CPOMS 4401")
        let flag = try #require(
            try await f.store.objects(kind: FactKind.flag.rawValue, key: label.record.text).first)
        // A genuine, signed flag of the same group, filed under another id.
        let planted = StoredObject(
            kind: flag.kind, id: "planted", key: flag.key, body: flag.body)
        let before = try await f.store.links(.audit)
        let entry = price.auditEntry(.reencrypt, subject: label.record.text, reason: "a write")
        let (identity, directory) = (price.identity, price.directory)
        await expectError(.tampered) {
            try await f.store.transaction { tx in
                try await StateTransaction.within(tx, directory: directory, cache: nil) { state in
                    try await state.put(flag)
                    try await tx.put(planted)  // behind the state's back
                    try await Session.appendAudit(entry, tx: state, signer: identity)
                }
            }
        }
        #expect(try await f.store.links(.audit) == before, "nothing committed")
        #expect(
            try await f.store.objects(kind: FactKind.flag.rawValue, key: label.record.text)
                == [flag])
    }

    @Test("a row the transaction wrote, renamed meanwhile to a look-alike id (a Kelvin sign): 65")
    func renamedToLookAlike() async throws {
        let f = try await Fixture.make()
        let price = try await f.session("price")
        let label = try await price.seal(Fixture.form(), confidential: false)
        try await price.safeguarding.flag(label.record, reason: "CPOMS 4403")
        let flag = try #require(
            try await f.store.objects(kind: FactKind.flag.rawValue, key: label.record.text).first)
        let own = StoredObject(kind: flag.kind, id: "KEPT", key: flag.key, body: flag.body)
        // Equal to "KEPT" as a Swift String (canonically equivalent), other bytes in the database.
        let renamed = StoredObject(
            kind: flag.kind, id: "\u{212A}EPT", key: flag.key, body: flag.body)
        #expect(renamed.id == own.id && Array(renamed.id.utf8) != Array(own.id.utf8))
        let before = try await f.store.links(.audit)
        let entry = price.auditEntry(.reencrypt, subject: label.record.text, reason: "a write")
        let (identity, directory) = (price.identity, price.directory)
        await expectError(.tampered) {
            try await f.store.transaction { tx in
                try await StateTransaction.within(tx, directory: directory, cache: nil) { state in
                    try await state.put(own)
                    try await tx.deleteObject(kind: own.kind, id: own.id)  // behind its back
                    try await tx.put(renamed)
                    try await Session.appendAudit(entry, tx: state, signer: identity)
                }
            }
        }
        #expect(try await f.store.links(.audit) == before, "nothing committed")
    }

    @Test("a transaction's own put, move and delete in a group commit as before")
    func ownChangesCommit() async throws {
        let f = try await Fixture.make()
        let price = try await f.session("price")
        let label = try await price.seal(Fixture.form(), confidential: false)
        try await price.safeguarding.flag(label.record, reason: "CPOMS 4402")
        let flag = try #require(
            try await f.store.objects(kind: FactKind.flag.rawValue, key: label.record.text).first)
        let other = try await price.seal(Fixture.form(marker: "other"), confidential: false)
        let entry = price.auditEntry(.reencrypt, subject: label.record.text, reason: "a write")
        let (identity, directory) = (price.identity, price.directory)
        try await f.store.transaction { tx in
            try await StateTransaction.within(tx, directory: directory, cache: nil) { state in
                try await state.deleteObject(kind: flag.kind, id: flag.id)
                try await state.put(flag)
                // Moved to another record's group and back: both groups as the state expects.
                let moved = StoredObject(
                    kind: flag.kind, id: flag.id, key: other.record.text, body: flag.body)
                try await state.put(moved)
                try await state.put(flag)
                try await Session.appendAudit(entry, tx: state, signer: identity)
            }
        }
        // The state took the group as the transaction left it: an open, which checks the
        // record's flags against it, reads them without complaint.
        #expect(try await price.open(label.record).label.record == label.record)
    }
}
