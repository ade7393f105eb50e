import Foundation
import Testing

@testable import Tutela

/// Authority share files carry their split, their trustee and a commitment the authority signed:
/// a recovery from a wrong, altered or mixed file names whose file it is, and rebuilds nothing.
@Suite("Authority share files")
struct ShareFileTests {
    static let trustees = ["Ann Governor", "Bo Bursar", "Cy Clerk"]

    static func split(_ f: Fixture) async throws -> [String] {
        try await f.session("office").administration.splitAuthority(
            shares: 3, threshold: 2, trustees: trustees
        ).map { String(decoding: try $0.file().unprotectedCopy(), as: UTF8.self) }
    }

    /// `text` with the value of `field` replaced by what `change` makes of it.
    static func edit(_ text: String, _ field: String, _ change: (String) -> String) -> String {
        text.split(separator: "\n").map { line in
            guard line.hasPrefix(field + ": ") else { return String(line) }
            return field + ": " + change(String(line.dropFirst(field.count + 2)))
        }.joined(separator: "\n") + "\n"
    }

    /// Expects the recovery from `texts` to be refused naming `trustee`, and nothing to change.
    static func expectNamed(
        _ f: Fixture, _ texts: [String], _ trustee: String, _ words: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let before = try await f.store.links(.audit).count
        let error = await expectError(.invalidInput, sourceLocation: sourceLocation) {
            try await f.vault.recoverAuthority(
                from: try texts.map(AuthorityShare.parse),
                passphrase: Passphrase("recovered authority"))
        }
        #expect(
            error?.message.contains(trustee) == true && error?.message.contains(words) == true,
            "\(error?.message ?? "")", sourceLocation: sourceLocation)
        #expect(try await f.store.links(.audit).count == before, sourceLocation: sourceLocation)
    }

    @Test("each file names its split, trustee and number; the split is in the audit log")
    func fields() async throws {
        let f = try await Fixture.make()
        let texts = try await Self.split(f)
        let shares = try texts.map(AuthorityShare.parse)
        #expect(shares.map(\.trustee) == Self.trustees)
        #expect(shares.map(\.index) == [1, 2, 3] && shares.allSatisfy { $0.shareCount == 3 })
        #expect(Set(shares.map(\.splitID)).count == 1 && shares[0].splitID.count == 32)
        _ = try await f.vault.verifyAudit(checkpoint: nil)
        let log = try await f.session("hale").auditLog(record: nil)
        #expect(
            log.contains {
                $0.entry.action == .authoritySplit
                    && $0.entry.reason?.contains(shares[0].splitID) == true
                    && $0.entry.reason?.contains("Bo Bursar") == true
            })
        let again = try await Self.split(f)
        #expect(try AuthorityShare.parse(again[0]).splitID != shares[0].splitID)
    }

    @Test("a share value altered in one file names that trustee")
    func alteredValue() async throws {
        let f = try await Fixture.make()
        var texts = try await Self.split(f)
        texts[1] = Self.edit(texts[1], "seed-share") { hex in
            String(hex.dropLast()) + (hex.hasSuffix("0") ? "1" : "0")
        }
        try await Self.expectNamed(f, [texts[0], texts[1]], "Bo Bursar", "altered")
    }

    @Test("a header altered in one file (its trustee, its number) names that file")
    func alteredHeader() async throws {
        let f = try await Fixture.make()
        var texts = try await Self.split(f)
        texts[2] = Self.edit(texts[2], "trustee") { _ in "Mallory" }
        try await Self.expectNamed(f, [texts[0], texts[2]], "Mallory", "not signed")
        let renumbered = Self.edit(texts[1], "threshold") { _ in "3" }
        #expect(throws: TutelaError.self) { try AuthorityShare.parse(renumbered) }
    }

    @Test("files of two splits never combine: the odd one is named")
    func mixedSplits() async throws {
        let f = try await Fixture.make()
        let first = try await Self.split(f)
        let second = try await Self.split(f)
        try await Self.expectNamed(f, [first[0], second[1]], "Bo Bursar", "another split")
    }

    @Test("the same share given twice is named, not counted twice")
    func duplicated() async throws {
        let f = try await Fixture.make()
        let texts = try await Self.split(f)
        try await Self.expectNamed(f, [texts[2], texts[2]], "Cy Clerk", "same share")
    }

    @Test("a file from another vault is named")
    func otherVault() async throws {
        let f = try await Fixture.make()
        let other = try await Fixture.make()
        let texts = try await Self.split(f)
        let foreign = try await Self.split(other)
        try await Self.expectNamed(f, [texts[0], foreign[1]], "Bo Bursar", "another vault")
    }

    @Test("trustee names are checked: one per share, each once, one line")
    func trusteeNames() async throws {
        let f = try await Fixture.make()
        let office = try f.session("office")
        for names in [["A", "B"], ["A", "A", "B"], ["A", "B\nC", "D"], ["A", "", "C"]] {
            await expectError(.usage) {
                try await office.administration.splitAuthority(
                    shares: 3, threshold: 2, trustees: names)
            }
        }
    }

    @Test("a good pair still recovers the authority, fingerprint unchanged")
    func recovers() async throws {
        let f = try await Fixture.make()
        let fingerprint = try f.session("office").principal.identity.fingerprint
        let texts = try await Self.split(f)
        let identity = try await f.vault.recoverAuthority(
            from: [try AuthorityShare.parse(texts[2]), try AuthorityShare.parse(texts[0])],
            passphrase: Passphrase("recovered authority"))
        #expect(identity.fingerprint == fingerprint)
    }
}
