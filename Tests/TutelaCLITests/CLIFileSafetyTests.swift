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
}
