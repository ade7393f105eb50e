import Foundation
import Testing

@Suite("tutela retention, destroy and backup")
struct CLIRetentionTests {
    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test("check, hold, destroy with a certificate, open afterwards 66, backups")
    func lifecycle() throws {
        let v = try CLIVault()
        // Kim was born in 2000 and left in 2010: her records are due (dob + 25 = 2025).
        #expect(
            try v.run(
                [
                    "learner", "add", "kim", "--name", "Kim", "--tutor", "price", "--dob",
                    "2000-01-01",
                ], as: "office"
            ).status == 0)
        #expect(
            try v.run(["learner", "leave", "kim", "--date", "2010-07-20"], as: "office").status == 0
        )
        let file = try v.write("kim.json", CLIVault.form(learner: "kim"))
        let sealed = try v.run(["tutorial", "seal", file, "--json"], as: "price")
        let record = try #require(try json(sealed.stdout)["record"] as? String)
        let check = try json(try v.run(["retention", "check", "--json"], as: "hale").stdout)
        let due = try #require(check["due"] as? [[String: Any]])
        #expect(due.first?["record"] as? String == record)
        #expect(due.first?["dueOn"] as? String == "2025-01-01")
        #expect(check["asOf"] as? String != nil && check["held"] != nil && check["upcoming"] != nil)
        let csv = v.root.appendingPathComponent("retention.csv").path
        #expect(try v.run(["retention", "check", "--csv", csv], as: "hale").status == 0)
        #expect(try String(contentsOfFile: csv, encoding: .utf8).contains(record))
        #expect(try v.run(["retention", "check"], as: "price").status == 77)
        let backup = v.root.appendingPathComponent("vault-backup.sqlite").path
        #expect(try v.run(["backup", "--out", backup]).status == 0)
        #expect(try v.run(["backup", "--out", backup]).status == 73)
        #expect(try v.run(["retention", "hold", record], as: "hale").status == 64)
        #expect(
            try v.run(["retention", "hold", record, "--reason", "inquiry"], as: "hale").status == 0)
        #expect(try v.run(["records", "destroy", record], as: "hale").status == 77)
        #expect(try v.run(["retention", "release", record], as: "hale").status == 0)
        #expect(try v.run(["records", "destroy", record], as: "price").status == 77)
        let destroyed = try v.run(["records", "destroy", record, "--json"], as: "hale")
        #expect(destroyed.status == 0, "\(destroyed.stderr)")
        let result = try json(destroyed.stdout)
        #expect(result["record"] as? String == record)
        let certificate = try #require(result["certificate"] as? [String: Any])
        #expect(certificate["authorisedBy"] as? String == "hale")
        #expect((certificate["signature"] as? String)?.count == 128)
        let open = try v.run(["tutorial", "open", record], as: "price")
        #expect(open.status == 66)
        #expect(open.stderr.contains("destroyed on"))
        #expect(try v.run(["audit", "verify"]).status == 0)
        let list = try v.run(["records", "list"], as: "hale")
        #expect(list.stdout.contains(record))
    }
}
