import Foundation
import Testing
import TutelaCrypto

@testable import Tutela

/// `audit log` does not re-verify the whole log on every call (#21 item 9): what this machine
/// verified in full is remembered beside its head pin, and a later reading spares those
/// signatures — never the hashes and links that tie the prefix to the head it verified.
@Suite("Verified-log memo")
struct VerifiedLogTests {
    static func vault(_ f: Fixture) -> (Vault, FileHeadPinStore) {
        let pins = FileHeadPinStore(
            directory: FileManager.default.temporaryDirectory
                .appendingPathComponent("tutela-memo-\(UUID().uuidString)"))
        return (Vault(store: f.store, clock: f.vault.clock, pins: pins), pins)
    }

    @Test("a second reading spares what the first verified, and a rewritten entry is still caught")
    func sparesAndCatches() async throws {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(Fixture.form(), confidential: false)
        let (vault, pins) = Self.vault(f)
        let hale = try await vault.unlock("hale", passphrase: Fixture.passphrase("hale"))
        let vaultID = hale.meta.vaultID
        #expect(pins.loadVerified(vaultID: vaultID) == nil)
        let first = try await hale.auditLog(record: nil)
        let memo = try #require(pins.loadVerified(vaultID: vaultID))
        let links = try await f.store.links(.audit)
        #expect(memo.entries == Int64(links.count))
        let prefix = try #require(try await memo.sparing(store: f.store, directory: hale.directory))
        let report = try await AuditLog.verify(
            store: f.store, directory: hale.directory, checkpoint: nil, pin: nil, sparing: prefix)
        #expect(report.spared == memo.entries && report.entries == memo.entries)
        // The second reading shows the same entries, plus the first reading's own.
        let second = try await hale.auditLog(record: nil)
        #expect(second.count == first.count + 1)
        #expect(try #require(pins.loadVerified(vaultID: vaultID)).entries > memo.entries)

        // An entry inside the spared prefix rewritten, its stored hash made to match: the next
        // entry no longer follows it.
        var forged = links
        let victim = forged[3]
        let body = victim.body.map { $0 == UInt8(ascii: "a") ? UInt8(ascii: "b") : $0 }
        let signed = SignedChain.signedBytes(
            chain: .audit, sequence: victim.sequence, previousHash: victim.previousHash,
            signer: victim.signer, body: body)
        forged[3] = ChainLink(
            sequence: victim.sequence, previousHash: victim.previousHash, signer: victim.signer,
            body: body, signature: victim.signature,
            hash: try BLAKE2b.hash(parts: [signed, victim.signature]))
        let now = try await f.store.links(.audit)
        let rewritten = forged + now.dropFirst(forged.count)
        await f.store.tamper(chain: .audit) { _ in rewritten }
        await expectError(.tampered) { try await hale.auditLog(record: nil) }
    }

    @Test("over a log of many pages: whole pages spared, the page across the memo's end checked")
    func manyPages() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        for i in 0..<4 {
            _ = try await price.seal(Fixture.form(marker: "m\(i)"), confidential: false)
        }
        let (vault, pins) = Self.vault(f)
        let hale = try await vault.unlock("hale", passphrase: Fixture.passphrase("hale"))
        _ = try await hale.auditLog(record: nil)
        let memo = try #require(pins.loadVerified(vaultID: hale.meta.vaultID))
        // Entries after the memo, so that a page straddles its end.
        for i in 0..<3 {
            _ = try await price.seal(Fixture.form(marker: "n\(i)"), confidential: false)
        }
        let prefix = try #require(try await memo.sparing(store: f.store, directory: hale.directory))
        let total = Int64(try await f.store.links(.audit).count)
        for pageSize in [1, 2, 3, 5, Int(memo.entries), Int(memo.entries) + 1] {
            var seen: [Int64] = []
            let report = try await AuditLog.verify(
                store: f.store, directory: hale.directory, checkpoint: nil, pin: nil,
                sparing: prefix, pageSize: pageSize
            ) { seen.append($0.sequence) }
            #expect(report.entries == total && report.spared == memo.entries, "page \(pageSize)")
            #expect(seen == Array(0..<total), "page \(pageSize)")
        }

        // A signature broken after the memo's end, in a page that begins inside it: caught.
        let links = try await f.store.links(.audit)
        let victim = links[Int(memo.entries)]
        var flipped = victim.signature
        flipped[0] ^= 1
        let bad = flipped
        await f.store.tamper(chain: .audit) { chain in
            var chain = chain
            chain[Int(victim.sequence)] = ChainLink(
                sequence: victim.sequence, previousHash: victim.previousHash, signer: victim.signer,
                body: victim.body, signature: bad, hash: victim.hash)
            return chain
        }
        for pageSize in [2, 3, Int(memo.entries) + 1] {
            await expectError(.tampered) {
                try await AuditLog.verify(
                    store: f.store, directory: hale.directory, checkpoint: nil, pin: nil,
                    sparing: prefix, pageSize: pageSize)
            }
        }
    }

    @Test("a memo that is unreadable, for another head or another directory is not used")
    func unusableMemo() async throws {
        let f = try await Fixture.make()
        let (vault, pins) = Self.vault(f)
        let hale = try await vault.unlock("hale", passphrase: Fixture.passphrase("hale"))
        let vaultID = hale.meta.vaultID
        _ = try await hale.auditLog(record: nil)
        let memo = try #require(pins.loadVerified(vaultID: vaultID))
        let directory = hale.directory
        #expect(try await memo.sparing(store: f.store, directory: directory) != nil)

        let otherHead = VerifiedLog(
            entries: memo.entries, head: [UInt8](repeating: 7, count: 32), directory: directory)
        #expect(try await otherHead.sparing(store: f.store, directory: directory) == nil)
        let beyond = VerifiedLog(
            entries: memo.entries + 5, head: Hex.decode(memo.head) ?? [], directory: directory)
        #expect(try await beyond.sparing(store: f.store, directory: directory) == nil)
        let earlier = try directory.asOf(directory.statementCount - 1)
        #expect(!memo.holds(under: earlier))

        // Garbage in the memo file: no memo, and the log is read (and verified in full) as before.
        try Data("not a memo".utf8).write(to: pins.memoFile(vaultID))
        #expect(pins.loadVerified(vaultID: vaultID) == nil)
        #expect(try await !hale.auditLog(record: nil).isEmpty)
        #expect(pins.loadVerified(vaultID: vaultID) != nil)
    }
}
