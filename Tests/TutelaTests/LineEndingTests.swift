import Foundation
import Testing

@testable import Tutela

/// Files written on Windows end their lines with "\r\n", which Swift reads as one Character: a
/// passphrase file, a checkpoint or an authority share saved there must read the same.
@Suite("Windows line endings and the directory's own limits")
struct LineEndingTests {
    @Test("a passphrase file with a Windows line ending unlocks as the passphrase itself")
    func passphrase() async throws {
        let f = try await Fixture.make()
        let text = "test passphrase for price"
        _ = try await f.vault.unlock("price", passphrase: Passphrase(text + "\r\n"))
        _ = try await f.vault.unlock("price", passphrase: Passphrase(text + "\n\n"))
    }

    @Test("a checkpoint and an authority share saved with Windows line endings still parse")
    func files() async throws {
        let f = try await Fixture.make()
        let checkpoint = try await f.session("office").checkpoint()
        let crlf = checkpoint.text.replacingOccurrences(of: "\n", with: "\r\n")
        _ = try await f.vault.verifyAudit(checkpoint: Checkpoint.parse(crlf))
        let shares = try await f.session("office").administration.splitAuthority(
            shares: 3, threshold: 2)
        let share = String(decoding: try shares[0].file().unprotectedCopy(), as: UTF8.self)
            .replacingOccurrences(of: "\n", with: "\r\n")
        #expect(try AuthorityShare.parse(share).index == shares[0].index)
    }

    @Test("more parents than the directory reads back are refused before they are signed")
    func tooManyParents() async throws {
        let f = try await Fixture.make()
        let office = try f.session("office")
        let parents = (1...9).map { PrincipalID(stringLiteral: "parent\($0)") }
        for id in parents {
            try await office.administration.enrol(
                id, name: id.text, roles: [.parentCarer], passphrase: Fixture.passphrase(id))
        }
        await expectError(.usage) {
            try await office.administration.setContacts(
                "sam", LearnerContacts(parents: parents))
        }
        // Nothing was signed: the vault still opens for everyone.
        _ = try await f.vault.verifiedDirectory()
        try await office.administration.setContacts(
            "sam", LearnerContacts(parents: Array(parents.prefix(8))))
        _ = try await f.vault.verifiedDirectory()
    }
}
