import Foundation
import Testing

@Suite("tutela key lifecycle")
struct CLILifecycleTests {
    @Test(
        "passphrase change, revoke (77 everywhere), rotation and re-wrap, authority split and recover"
    )
    func lifecycle() throws {
        let v = try CLIVault()
        let record = try v.seal()
        #expect(
            try v.run(["safeguarding", "flag", record, "--reason", "ref"], as: "price").status == 0)
        // Passphrase change.
        let changed = try v.run(
            ["principal", "passphrase"], as: "jones", newPassphrase: "jones-new")
        #expect(changed.status == 0, "\(changed.stderr)")
        #expect(try v.run(["records", "list"], as: "jones").status == 77)
        #expect(
            try v.run(
                ["records", "list"], as: "jones", passphrase: CLIVault.passphrase("jones-new")
            ).status == 0)
        // A second officer, then the first is revoked: refused everywhere.
        #expect(
            try v.run(
                ["principal", "add", "dsl2", "--name", "D2", "--role", "safeguarding-officer"],
                as: "office",
                newPassphrase: "dsl2"
            ).status == 0)
        #expect(try v.run(["group", "sync", "safeguarding-officer"], as: "dsl").status == 0)
        let revoked = try v.run(["principal", "revoke", "dsl"], as: "office")
        #expect(revoked.status == 0, "\(revoked.stderr)")
        #expect(revoked.stdout.contains("due to be replaced"))
        for args in [
            ["records", "list"], ["safeguarding", "queue"], ["tutorial", "open", record], ["inbox"],
        ] {
            let r = try v.run(args, as: "dsl")
            #expect(r.status == 77, "\(args): \(r.stderr)")
            #expect(r.stdout.isEmpty)
        }
        let rewrap = try v.run(["group", "rewrap", "safeguarding-officer", "--json"], as: "dsl2")
        #expect(rewrap.status == 0, "\(rewrap.stderr)")
        // The flagged record's officers' slot, and its break-glass share, move to the new key.
        #expect(rewrap.stdout.contains("\"slots\" : 1"))
        #expect(rewrap.stdout.contains("\"shares\" : 1"))
        #expect(
            try v.run(["safeguarding", "open", record, "--reason", "after rotation"], as: "dsl2")
                .status == 0)
        // Authority: 3 shares, any 2 rebuild it; 1 does not.
        let dir = v.root.appendingPathComponent("shares").path
        #expect(
            try v.run(
                ["authority", "split", "--shares", "3", "--threshold", "2", "--out", dir],
                as: "office"
            ).status == 0)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).sorted().map {
            "\(dir)/\($0)"
        }
        #expect(files.count == 3)
        let one = try v.run(
            ["authority", "recover", "--share", files[0]], newPassphrase: "office-recovered")
        #expect(one.status == 65)
        let two = try v.run(
            ["authority", "recover", "--share", files[0], "--share", files[2]],
            newPassphrase: "office-recovered")
        #expect(two.status == 0, "\(two.stderr)")
        #expect(
            try v.run(
                ["records", "list"], as: "office",
                passphrase: CLIVault.passphrase("office-recovered")
            ).status == 0)
        #expect(try v.run(["audit", "verify"]).status == 0)
    }
}
