import Testing
import TutelaCrypto

@testable import Tutela

@Suite("Shred keys in memory")
struct ShredKeyTests {
    /// Whether every byte of `key` is zero.
    func isWiped(_ key: SecretBytes) -> Bool {
        key.withUnsafeBytes { $0.allSatisfy { $0 == 0 } }
    }

    func batch(_ f: Fixture, count: Int) throws -> [(RecordContent, RecordClass)] {
        try (0..<count).map { i in
            (.progressReview(try Fixture.form(marker: "batch item \(i)")), .confidentialTutorial)
        }
    }

    @Test("a sealed batch's shred keys are wiped once the key store holds them, and still open")
    func wipedAfterCommit() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let prepared = try await price.prepareSeal(batch(f, count: 3))
        let keys = prepared.shredKeys.map(\.key)
        let before = keys.map { $0.unprotectedCopy() }
        #expect(keys.allSatisfy { !isWiped($0) } && Set(before).count == 3)
        let labels = try await price.commitSeal(prepared)
        #expect(keys.allSatisfy(isWiped), "a shred key was left in memory after sealing")
        for (label, expected) in zip(labels, before) {
            let stored = try #require(await f.store.shredKey(label.record.text))
            #expect(stored.unprotectedCopy() == expected)
            #expect(try await price.open(label.record).label == label)
        }
    }

    @Test("a batch's shred keys are wiped when the key store refuses them, and nothing is sealed")
    func wipedAfterFailure() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let prepared = try await price.prepareSeal(batch(f, count: 2))
        let keys = prepared.shredKeys.map(\.key)
        await f.store.failTransactions(with: TutelaError(.tryAgain, "disk full"))
        await #expect(throws: TutelaError.self) { try await price.commitSeal(prepared) }
        #expect(keys.allSatisfy(isWiped), "a shred key was left in memory after a failure")
        await f.store.failTransactions(with: nil)
        for entry in prepared.shredKeys {
            #expect(try await f.store.shredKey(entry.record) == nil)
            #expect(try await f.store.record(#require(ShredKeyID(entry.record)).record) == nil)
        }
    }

    @Test("the store hands out copies: wiping one does not destroy the record's key")
    func storeHandsOutCopies() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let label = try await price.seal(Fixture.form(), confidential: true)
        let first = try #require(await f.store.shredKey(label.record.text))
        first.wipe()
        let second = try #require(await f.store.shredKey(label.record.text))
        #expect(!isWiped(second))
        #expect(try await price.open(label.record).label == label)
    }
}
