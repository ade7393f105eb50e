import Foundation
import Testing
import TutelaCrypto

@testable import Tutela

/// An insider with an account and write access to the database can sign an audit entry over a
/// state of their own making. What that state may hold beyond what is stored and logged is found
/// by `audit verify`, not only by the reading it would later stop.
@Suite("Forged states")
struct ForgedStateTests {
    /// Plants `key` (with `value`) in the map's rows and signs, as `insider`, an entry that changes
    /// nothing else and commits to the planted root.
    static func plant(
        _ key: StateKey, _ value: [UInt8], in f: Fixture, as insider: Session
    ) async throws {
        let (identity, entry) = (
            insider.identity, insider.auditEntry(.auditRead, subject: nil, reason: "a look")
        )
        try await f.store.transaction { tx in
            guard let last = try await tx.lastLink(.audit) else {
                throw TutelaError.internal("empty")
            }
            let committed = try AuditEntry.parse(last.body, context: "last").state
            let b = key.bucket
            let name = StateMap.prefix(b, depth: 4)
            var entries: [String: [UInt8]] = [:]
            if let row = try await tx.object(kind: StateMap.bucketKind, id: name) {
                entries = try StateMap.decode(row.body, bucket: b)
            }
            var children: [String: [[UInt8]]] = [:]
            for depth in 0...3 {
                let prefix = StateMap.prefix(b, depth: depth)
                let row = try await tx.object(
                    kind: StateMap.nodeKind, id: StateMap.parentKey(prefix))
                children[prefix] = try StateMap.children(prefix, rows: row.map { [$0] } ?? [])
            }
            // The rows as they stand are the committed state's: only the planted key differs.
            let before = try StateMap.root(
                bucket: b, hash: try StateMap.bucketHash(b, entries), children: children)
            guard before == committed.root else { throw TutelaError.internal("not the state") }
            entries[key.text] = value
            let (root, rows) = try StateMap.path(
                bucket: b, hash: try StateMap.bucketHash(b, entries), children: children)
            try await StateMap.writeRows(buckets: [(b, entries)], nodes: rows, to: tx)
            var forged = entry
            forged.state = committed
            forged.state.root = root
            try await tx.append(
                try SignedChain.link(.audit, after: last, body: forged.canonical, signer: identity),
                to: .audit)
        }
    }

    @Test(
        "a list key, a fact group, an index or a record's entry planted in a signed state is named by audit verify",
        arguments: ["N:", "W:", "F:", "C:", "A:", "R:destroyed", "R:junk", "R:ghost"])
    func strayKey(kind: String) async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let label = try await price.seal(Fixture.form(marker: "ours"), confidential: false)
        _ = try await f.vault.verifyAudit(checkpoint: nil)
        let row = try #require(try await f.store.label(label.record))
        var value = [UInt8](repeating: 7, count: 32)
        let key: StateKey
        // What verify names: the key, or the record whose entry it is.
        var named: String
        switch kind {
        case "N:": key = .learner(try LearnerID("ghost"))
        case "W:": key = .author(try PrincipalID("ghost"))
        case "F:": key = .facts(.hold, label.record.text)
        case "C:": key = .count(.hold)
        case "A:": key = .audit("ghost")
        case "R:destroyed":
            // The record marked destroyed, with no certificate, its envelope still there.
            key = .record(label.record)
            value = try StateMap.recordValue(label: row.labelBytes, sealed: nil)
        case "R:junk": key = .record(label.record)
        default: key = .record(try RecordID("R-ghost"))
        }
        named = key.text
        if kind.hasPrefix("R:") { named = "state entry of \(String(key.text.dropFirst(2)))" }
        // A count is proven with the facts it counts (none here).
        if kind == "C:" { named = "the hold facts stored" }
        try await Self.plant(key, value, in: f, as: price)
        let error = await expectError(.tampered) {
            _ = try await f.vault.verifyAudit(checkpoint: nil)
        }
        #expect(error?.message.contains(named) == true, "\(error?.message ?? "passed")")
    }

    @Test(
        "one person's destruction, committed by their own entry with no one else's proposal, fails verify"
    )
    func destroyedAlone() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let label = try await price.seal(Fixture.form(marker: "kept"), confidential: false)
        let stored = try #require(try await f.store.record(label.record))
        let certificate = try price.sign(
            DestructionCertificate(
                record: label.record, labelHash: Hex.encode(try BLAKE2b.hash(stored.labelBytes)),
                ciphertextHash: Hex.encode(try BLAKE2b.hash(stored.envelopeBytes)),
                rule: "none", time: 1_795_300_000, authoriser: "price", proposer: "hale",
                madeUnder: price.directory.statementCount, signature: []))
        // Price, with the database, shreds the record and files a certificate naming Hale as the
        // proposer, through the vault's own transaction and an entry of their own.
        try await f.store.transaction(
            price.committedWrite(as: .destroy, subject: label.record.text) { tx in
                try await tx.shred(label.record)
                try await tx.put(certificate)
            })
        let error = await expectError(.tampered) {
            _ = try await f.vault.verifyAudit(checkpoint: nil)
        }
        #expect(error?.message.contains("takes two people") == true, "\(error?.message ?? "")")
    }

    @Test("a record whose contents were deleted outside Tutela is tampering, not 'no record'")
    func contentsDeleted() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let label = try await price.seal(Fixture.form(marker: "gone"), confidential: false)
        _ = try await price.open(label.record)
        let id = label.record
        // Deleted, with contents planted under an id that has no label, to keep the count.
        await f.store.base.tamper { state in
            state.records["R-0000-0000-0009"] = state.records[id]
            state.records[id] = nil
        }
        let open = await expectError(.tampered) { _ = try await price.open(id) }
        #expect(open?.message.contains(id.text) == true, "\(open?.message ?? "")")
        let verify = await expectError(.tampered) {
            _ = try await f.vault.verifyAudit(checkpoint: nil)
        }
        #expect(verify?.message.contains("stored records") == true, "\(verify?.message ?? "")")
    }
}
