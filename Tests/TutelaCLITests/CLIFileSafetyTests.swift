import Foundation
import Testing

/// Files Tutela writes for people, and the folder a vault lives in, against someone who can write
/// near them (#18).
@Suite("tutela files: exclusive, private, never through a link")
struct CLIFileSafetyTests {
    static func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return try #require(attributes[.posixPermissions] as? Int)
    }

    @Test("backup --out refuses a symbolic link swapped in for the file, and writes 0600")
    func backupThroughLink() throws {
        let v = try CLIVault(people: false)
        let fm = FileManager.default
        // A world-readable file of the attacker's, and a dangling link to where one would go.
        let theirs = v.root.appendingPathComponent("attacker-readable").path
        fm.createFile(atPath: theirs, contents: Data(), attributes: [.posixPermissions: 0o666])
        let nowhere = v.root.appendingPathComponent("attacker-later").path
        for (name, target) in [("link-to-file", theirs), ("dangling-link", nowhere)] {
            let link = v.root.appendingPathComponent(name).path
            try fm.createSymbolicLink(atPath: link, withDestinationPath: target)
            for keystore in [false, true] {
                let r = try v.run(["backup", "--out", link] + (keystore ? ["--keystore"] : []))
                #expect(r.status == 73, "\(name): \(r.stderr)")
            }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: theirs)).isEmpty)
        #expect(!fm.fileExists(atPath: nowhere))
        let out = v.root.appendingPathComponent("backup.sqlite").path
        #expect(try v.run(["backup", "--out", out]).status == 0)
        #expect(try Self.mode(out) == 0o600)
        // Nothing of the copy is left behind in the vault folder.
        let left = try fm.contentsOfDirectory(atPath: v.vault).filter { $0.hasPrefix(".backup") }
        #expect(left.isEmpty)
    }

    @Test(
        "init makes an empty folder others can write private; a vault folder opened up is refused")
    func vaultFolder() throws {
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("tutela-cli-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: root) }
        let folder = root.appendingPathComponent("shared")
        try fm.createDirectory(
            at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        #expect(chmod(folder.path, 0o777) == 0)
        let env = [
            "TUTELA_VAULT": folder.path, "TUTELA_STATE_DIR": root.appendingPathComponent("s").path,
            "TUTELA_NEW_PASSPHRASE": CLIVault.passphrase("office"),
        ]
        let made = try CLI.run(
            ["init", "--authority", "office", "--name", "Office", "--kdf", "interactive"],
            environment: env, in: root)
        #expect(made.status == 0, "\(made.stderr)")
        #expect(try Self.mode(folder.path) == 0o700)
        // Someone opens the folder up afterwards: every command refuses, naming the fix.
        #expect(chmod(folder.path, 0o770) == 0)
        let refused = try CLI.run(["audit", "verify"], environment: env, in: root)
        #expect(refused.status == 77, "\(refused.stderr)")
        #expect(refused.stderr.contains("chmod 700"))
        // The folder made private again, but the database file opened up: refused too.
        #expect(chmod(folder.path, 0o700) == 0)
        let file = folder.appendingPathComponent("vault.sqlite").path
        #expect(chmod(file, 0o666) == 0)
        let openFile = try CLI.run(["audit", "verify"], environment: env, in: root)
        #expect(openFile.status == 77, "\(openFile.stderr)")
        #expect(openFile.stderr.contains("chmod 600"))
        #expect(chmod(file, 0o600) == 0)
        #expect(try CLI.run(["audit", "verify"], environment: env, in: root).status == 0)
    }

    @Test("a passphrase or enrolment-code file others can read is refused before it is read (77)")
    func secretFilesPrivate() throws {
        let v = try CLIVault()
        let right = CLIVault.passphrase("hale") + "\n"
        for mode in [0o644, 0o640, 0o604, 0o620] {
            let file = try v.write("pass-\(mode).txt", right, mode: mode)
            let r = try CLI.run([
                "records", "list", "--as", "hale", "--passphrase-file", file, "--vault", v.vault,
            ])
            #expect(r.status == 77, "mode \(String(mode, radix: 8)): \(r.stderr)")
            #expect(r.stderr.contains(file))
            #expect(r.stderr.contains("chmod 600"))
        }
        // A link is refused even to a private file of the caller's: it could be swapped in.
        let target = try v.write("pass-private.txt", right, mode: 0o600)
        let link = v.root.appendingPathComponent("pass-link.txt").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let linked = try CLI.run([
            "records", "list", "--as", "hale", "--passphrase-file", link, "--vault", v.vault,
        ])
        #expect(linked.status == 77, "\(linked.stderr)")
        #expect(linked.stderr.contains("is a link"))
        let code = try v.write("code.txt", "XXXX-XXXX", mode: 0o644)
        let activate = try CLI.run(
            ["principal", "activate", "price", "--code-file", code, "--vault", v.vault],
            environment: ["TUTELA_NEW_PASSPHRASE": CLIVault.passphrase("price-new")])
        #expect(activate.status == 77, "\(activate.stderr)")
        #expect(activate.stderr.contains("enrolment code file"))
    }

    @Test("a passphrase file named on the command line wins over $TUTELA_PASSPHRASE")
    func passphraseFileWins() throws {
        let v = try CLIVault()
        let right = try v.write("right.txt", CLIVault.passphrase("hale"), mode: 0o600)
        let wrong = try v.write("wrong.txt", "not hale's passphrase at all", mode: 0o600)
        let wins = try v.run(
            ["records", "list", "--passphrase-file", right], as: "hale",
            passphrase: "not hale's passphrase at all")
        #expect(wins.status == 0, "\(wins.stderr)")
        let loses = try v.run(["records", "list", "--passphrase-file", wrong], as: "hale")
        #expect(loses.status != 0)
        #expect(loses.stderr.contains("passphrase"))
    }
}
