import Foundation
import Testing
import TutelaCrypto

@testable import Tutela

/// Imports that can be repeated safely (#21 item 3): a form imported before — the same content,
/// by a keyed digest only its importer can make — is recognised and skipped, never sealed twice.
@Suite("Repeated imports")
struct ImportRepeatTests {
    static func file(_ comments: [String]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tutela-repeat-\(UUID().uuidString).jsonl")
        try comments.map {
            #"{"learner": "sam", "date": "2026-11-20", "course": "Maths", "comments": "\#($0)"}"#
        }.joined(separator: "\n").write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    static func run(_ session: Session, _ file: URL, batchSize: Int = 2) async throws -> (
        sealed: [Label], skipped: [SkippedForm]
    ) {
        var sealed: [Label] = []
        var skipped: [SkippedForm] = []
        _ = try await session.importForms(
            file.path, confidential: false, batchSize: batchSize, onBatch: { sealed += $0 },
            onSkip: { skipped.append($0) })
        return (sealed, skipped.sorted { $0.line < $1.line })
    }

    @Test("a form naming its learner in another case is the same form, skipped, never tampering")
    func learnerInAnotherCase() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tutela-repeat-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        let line = #"{"learner": "LEARNER", "date": "2026-11-20", "course": "Maths"}"#
        try [
            line.replacingOccurrences(of: "LEARNER", with: "Sam"),
            line.replacingOccurrences(of: "LEARNER", with: "sam"),
        ].joined(separator: "\n")
            .write(to: url, atomically: true, encoding: .utf8)
        let first = try await Self.run(price, url, batchSize: 1)
        #expect(first.sealed.map(\.learner) == ["sam"] && first.skipped.count == 1)
        let again = try await Self.run(price, url, batchSize: 1)
        #expect(again.sealed.isEmpty && again.skipped.count == 2)
    }

    @Test("a second run skips every form, naming its record; a repeat in the file is sealed once")
    func secondRun() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        // A, B | A, C | B: repeats of the batch being written, of the same batch and of earlier.
        let file = try Self.file(["A", "B", "A", "C", "B", "A"])
        defer { try? FileManager.default.removeItem(at: file) }
        let first = try await Self.run(price, file)
        #expect(first.sealed.count == 3)
        let (a, b, c) = (first.sealed[0].record, first.sealed[1].record, first.sealed[2].record)
        #expect(first.skipped.map(\.line) == [3, 5, 6])
        #expect(first.skipped.map(\.record) == [a, b, a])
        let again = try await Self.run(price, file, batchSize: 4)
        #expect(again.sealed.isEmpty)
        #expect(again.skipped.map(\.record) == [a, b, a, c, b, a])
        #expect(again.skipped.allSatisfy { !$0.destroyed })
        #expect(try await f.store.labels(learner: "sam").count == 3)
        // Another tutor's import of the same forms is theirs: sealed, with their own digests.
        let jones = try f.session("jones")
        let theirs = try await Self.run(jones, file)
        #expect(theirs.sealed.count == 3)
    }

    @Test("the index keeps no plain hash of a form, and is bound to its importer and vault")
    func keyed() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let file = try Self.file(["a form's words"])
        defer { try? FileManager.default.removeItem(at: file) }
        let sealed = try await Self.run(price, file).sealed
        let rows = try await f.store.objects(kind: ObjectKind.importDigest, key: nil)
        #expect(rows.count == 1)
        let row = try #require(rows.first)
        #expect(row.key.hasPrefix("price#") && row.id.hasPrefix(row.key + "/"))
        let content = RecordContent.progressReview(
            try ProgressReview.parse(
                Array(
                    #"{"learner": "sam", "date": "2026-11-20", "course": "Maths", "comments": "a form's words"}"#
                        .utf8), source: "form"))
        let plain = try Session.encode(content)
        defer { plain.wipe() }
        let plainHash = Hex.encode(try plain.withUnsafeBytes { try BLAKE2b.hash([UInt8]($0)) })
        #expect(!row.id.contains(plainHash))
        #expect(!String(decoding: row.body, as: UTF8.self).contains("words"))
        let other = try ImportIndex(
            identity: try f.session("jones").identity, vaultID: price.meta.vaultID)
        defer { other.wipe() }
        #expect(try !row.id.hasSuffix(other.digest(content, as: .tutorial)))
        let elsewhere = try ImportIndex(identity: price.identity, vaultID: "00ff00ff")
        defer { elsewhere.wipe() }
        #expect(try !row.id.hasSuffix(elsewhere.digest(content, as: .tutorial)))
        #expect(sealed.count == 1)
    }

    @Test(
        "an index row edited to name another record is refused; a deleted one costs a second copy")
    func tampering() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let file = try Self.file(["one", "two"])
        defer { try? FileManager.default.removeItem(at: file) }
        let sealed = try await Self.run(price, file).sealed
        let rows = try await f.store.objects(kind: ObjectKind.importDigest, key: nil)
        #expect(rows.count == 2)
        // Row one's body moved onto row two: the tag binds a digest to its record.
        let (one, two) = (rows[0], rows[1])
        await f.store.base.tamper { state in
            state.objects[ObjectKind.importDigest]?[two.id] = StoredObject(
                kind: two.kind, id: two.id, key: two.key, body: one.body)
        }
        await expectError(.tampered) { try await Self.run(price, file) }
        // Deleted: the form is not recognised, and is sealed again — a second copy, never a loss.
        await f.store.base.tamper { state in state.objects[ObjectKind.importDigest]?[two.id] = nil }
        let again = try await Self.run(price, file)
        #expect(again.sealed.count == 1 && again.skipped.count == 1)
        #expect(sealed.count == 2)
    }

    @Test("after a passphrase change the old rows are not read (a second copy, never a refusal)")
    func afterRekey() async throws {
        let f = try await Fixture.make()
        let file = try Self.file(["before"])
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(try await Self.run(f.session("price"), file).sealed.count == 1)
        // Imported again as confidential: another import, sealed.
        var confidential: [Label] = []
        _ = try await f.session("price").importForms(
            file.path, confidential: true, onBatch: { confidential += $0 })
        #expect(confidential.count == 1 && confidential[0].recordClass == .confidentialTutorial)
        let new = try Passphrase("a new passphrase for price")
        try await f.session("price").lifecycle.changePassphrase(to: new)
        let price = try await f.vault.unlock("price", passphrase: new)
        let again = try await Self.run(price, file)
        #expect(again.sealed.count == 1 && again.skipped.isEmpty)
        #expect(try await Self.run(price, file).skipped.count == 1)
    }
}
