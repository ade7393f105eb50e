import Foundation
import GRDB
import Testing

@Suite("tutela audit")
struct CLIAuditTests {
    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test("checkpoint, then verify against it: ok, with counts")
    func checkpointAndVerify() throws {
        let v = try CLIVault()
        _ = try v.seal()
        let file = v.root.appendingPathComponent("checkpoint.txt").path
        let cp = try v.run(["audit", "checkpoint", "--out", file], as: "hale")
        #expect(cp.status == 0, "\(cp.stderr)")
        let text = try String(contentsOfFile: file, encoding: .utf8)
        #expect(text.hasPrefix("tutela audit checkpoint v1\n"))
        #expect(try v.run(["audit", "checkpoint", "--out", file], as: "hale").status == 73)
        let verify = try v.run(["audit", "verify", "--checkpoint", file, "--json"])
        #expect(verify.status == 0, "\(verify.stderr)")
        let report = try json(verify.stdout)
        #expect(report["ok"] as? Bool == true)
        #expect((report["entries"] as? Int ?? 0) >= 8)
        #expect(report["checkpointMatched"] as? Bool == true)
        let human = try v.run(["audit", "verify"])
        #expect(human.stdout.contains("every signature checked"))
    }

    @Test("audit log remembers what it verified, and an edited row is still caught after")
    func rememberedVerification() throws {
        let v = try CLIVault()
        _ = try v.seal()
        let first = try v.run(["audit", "log", "--json"], as: "hale")
        #expect(first.status == 0, "\(first.stderr)")
        let heads = v.root.appendingPathComponent("state/heads")
        let memos = try FileManager.default.contentsOfDirectory(atPath: heads.path)
            .filter { $0.hasSuffix(".verified") }
        #expect(memos.count == 1)
        let again = try v.run(["audit", "log", "--json"], as: "hale")
        #expect(
            again.status == 0
                && again.stdout.contains("\"open\"") == first.stdout.contains("\"open\""))
        try v.database().write { db in
            var body = try #require(
                try Data.fetchOne(db, sql: "SELECT body FROM audit WHERE seq = 2"))
            body[body.count - 2] ^= 0x01
            try db.execute(sql: "UPDATE audit SET body = ? WHERE seq = 2", arguments: [body])
        }
        let edited = try v.run(["audit", "log"], as: "hale")
        #expect(edited.status == 65, "\(edited.stderr)")
    }

    @Test("an edited audit row is reported (65) naming the entry")
    func editedRow() throws {
        let v = try CLIVault()
        _ = try v.seal()
        try v.database().write { db in
            var body = try #require(
                try Data.fetchOne(db, sql: "SELECT body FROM audit WHERE seq = 3"))
            body[body.count - 2] ^= 0x01
            try db.execute(sql: "UPDATE audit SET body = ? WHERE seq = 3", arguments: [body])
        }
        let r = try v.run(["audit", "verify"])
        #expect(r.status == 65)
        #expect(r.stderr.contains("audit entry 3"))
        #expect(r.stdout.isEmpty)
        let deleted = try CLIVault()
        try deleted.database().write { db in try db.execute(sql: "DELETE FROM audit WHERE seq = 2")
        }
        let d = try deleted.run(["audit", "verify"])
        #expect(d.status == 65)
        #expect(d.stderr.contains("audit entry 2 is missing"))
    }

    @Test("a vault restored from an older copy is refused until an administrator accepts it")
    func restoredCopy() throws {
        let v = try CLIVault()
        let fm = FileManager.default
        let vaultDir = URL(fileURLWithPath: v.vault)
        let copy = v.root.appendingPathComponent("older")
        try fm.copyItem(at: vaultDir, to: copy)
        _ = try v.seal()
        try fm.removeItem(at: vaultDir)
        try fm.copyItem(at: copy, to: vaultDir)
        let refused = try v.run(["records", "list"], as: "hale")
        #expect(refused.status == 65)
        #expect(refused.stderr.contains("accept-restore"))
        #expect(try v.run(["audit", "verify"]).status == 65)
        #expect(try v.run(["audit", "accept-restore"], as: "hale").status == 77)
        let accepted = try v.run(["audit", "accept-restore"], as: "office")
        #expect(accepted.status == 0, "\(accepted.stderr)")
        #expect(try v.run(["records", "list"], as: "hale").status == 0)
        let log = try v.run(["audit", "log", "--json"], as: "hale")
        let entries = try #require(try json(log.stdout)["entries"] as? [[String: Any]])
        #expect(entries.contains { $0["action"] as? String == "accept-restore" })
    }

    @Test("a damaged head pin stops the vault (65) until an administrator accepts it as it is")
    func damagedPin() throws {
        let v = try CLIVault()
        _ = try v.seal()
        let heads = v.root.appendingPathComponent("state/heads")
        let pins = try FileManager.default.contentsOfDirectory(atPath: heads.path)
            .filter { $0.hasSuffix(".pin") }
        #expect(pins.count == 1)
        let file = heads.appendingPathComponent(try #require(pins.first))
        try Data(repeating: 0x5A, count: 1024).write(to: file)
        let refused = try v.run(["records", "list"], as: "hale")
        #expect(refused.status == 65)
        #expect(refused.stderr.contains("unreadable"))
        let accepted = try v.run(["audit", "accept-restore"], as: "office")
        #expect(accepted.status == 0, "\(accepted.stderr)")
        #expect(try v.run(["records", "list"], as: "hale").status == 0)
    }

    @Test(
        "audit log: the record keeper reads it all; a tutor only their records; an admin is refused"
    )
    func logPolicy() throws {
        let v = try CLIVault()
        let record = try v.seal()
        let all = try v.run(["audit", "log"], as: "hale")
        #expect(all.status == 0)
        #expect(all.stdout.contains("enrol"))
        #expect(all.stdout.contains(record))
        let mine = try json(
            try v.run(["audit", "log", "--record", record, "--json"], as: "price").stdout)
        let entries = try #require(mine["entries"] as? [[String: Any]])
        #expect(!entries.isEmpty && entries.allSatisfy { $0["subject"] as? String == record })
        #expect(try v.run(["audit", "log", "--record", record], as: "jones").status == 77)
        #expect(try v.run(["audit", "log"], as: "office").status == 77)
    }

    @Test(
        "fail closed: when the audit entry cannot be written the open exits 75 and prints nothing")
    func failClosed() throws {
        let v = try CLIVault()
        let record = try v.seal(marker: "must-not-leak")
        var config = Configuration()
        config.allowsUnsafeTransactions = true
        let other = try DatabaseQueue(
            path: v.root.appendingPathComponent("vault/vault.sqlite").path, configuration: config)
        try other.writeWithoutTransaction { db in try db.execute(sql: "BEGIN EXCLUSIVE") }
        let r = try v.run(
            ["tutorial", "open", record], as: "price", environment: ["TUTELA_BUSY_TIMEOUT": "0.3"])
        try other.writeWithoutTransaction { db in try db.execute(sql: "ROLLBACK") }
        #expect(r.status == 75, "\(r.stderr)")
        #expect(r.stdout.isEmpty)
        #expect(!r.stderr.contains("must-not-leak"))
        // Either the open could not start (a fresh process must write to open a WAL that was
        // checkpointed away) or its audit entry could not be written: in both cases nothing is shown.
        #expect(r.stderr.contains("nothing was released") || r.stderr.contains("busy"))
        #expect(
            try v.run(["tutorial", "open", record], as: "price").stdout.contains("must-not-leak"))
    }
}
