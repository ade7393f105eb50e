import Foundation
import Testing

@Suite("tutela retention, destroy and backup")
struct CLIRetentionTests {
    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// The CLI vault with Kim, born in 2000 and left in 2010: her records are due (dob + 25 =
    /// 2025).
    static func vaultWithKim() throws -> CLIVault {
        let v = try CLIVault()
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
        return v
    }

    /// Two tutorials about Kim, sealed by Price: their record ids.
    func sealTwoForKim(_ v: CLIVault) throws -> [String] {
        var records: [String] = []
        for marker in ["first", "second"] {
            let file = try v.write("\(marker).json", CLIVault.form(marker: marker, learner: "kim"))
            let sealed = try v.run(["tutorial", "seal", file, "--json"], as: "price")
            records.append(try #require(try json(sealed.stdout)["record"] as? String))
        }
        return records
    }

    /// Enrols a second record keeper: every destruction takes two people.
    static func addSecondKeeper(_ v: CLIVault) throws {
        #expect(
            try v.run(
                ["principal", "add", "keeper2", "--name", "K2", "--role", "record-keeper"],
                as: "office", newPassphrase: "keeper2"
            ).status == 0)
    }

    @Test(
        "destroy --due by one keeper proposes every due record; a second person's run destroys them"
    )
    func dueByTwo() throws {
        let v = try Self.vaultWithKim()
        let records = try sealTwoForKim(v)
        try Self.addSecondKeeper(v)
        // Every due record at once takes a confirmation: there is no terminal here to ask on.
        let unconfirmed = try v.run(["records", "destroy", "--due"], as: "keeper2")
        #expect(unconfirmed.status == 64)
        #expect(unconfirmed.stderr.contains("2 records of 1 learner (kim)"))
        #expect(unconfirmed.stderr.contains("--yes"))
        let proposed = try v.run(["records", "destroy", "--due", "--yes"], as: "keeper2")
        #expect(proposed.status == 0, "\(proposed.stderr)")
        #expect(proposed.stdout.contains("0 records destroyed; 2 proposed"))
        // A second run by the proposer leaves their own proposals waiting, and says so.
        let again = try v.run(["records", "destroy", "--due", "--yes"], as: "keeper2")
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("Nothing to do now"))
        #expect(again.stdout.contains("2 waiting for a second person"))
        let againJSON = try json(
            try v.run(["records", "destroy", "--due", "--json"], as: "keeper2").stdout)
        #expect((againJSON["waiting"] as? [String]).map(Set.init) == Set(records))
        // The proposer cannot agree with themselves; the second keeper's run destroys both.
        #expect(try v.run(["records", "destroy", records[0]], as: "keeper2").status == 77)
        let done = try v.run(["records", "destroy", "--due", "--json", "--yes"], as: "hale")
        #expect(done.status == 0, "\(done.stderr)")
        let results = try #require(try json(done.stdout)["destroyed"] as? [[String: Any]])
        #expect(results.count == 2 && results.allSatisfy { $0["certificate"] is [String: Any] })
        for record in records {
            #expect(try v.run(["tutorial", "open", record], as: "price").status == 66)
        }
        // Only an administrator corrects the clock, and only when it is behind the log.
        #expect(try v.run(["audit", "correct-clock"], as: "hale").status == 77)
        #expect(try v.run(["audit", "correct-clock"], as: "office").status == 64)
        #expect(try v.run(["audit", "verify"]).status == 0)
    }

    @Test("destroy --due --dry-run says what each due record would come to and changes nothing")
    func dueDryRun() throws {
        let v = try Self.vaultWithKim()
        let records = try sealTwoForKim(v)
        try Self.addSecondKeeper(v)
        #expect(
            try v.run(["records", "destroy", records[0], "--dry-run"], as: "hale").status == 64)
        let before = try v.run(["records", "destroy", "--due", "--dry-run"], as: "hale")
        #expect(before.status == 0, "\(before.stderr)")
        #expect(before.stdout.contains("2 records of 1 learner (kim) are due"))
        #expect(before.stdout.contains("would be proposed"))
        #expect(before.stdout.contains("Nothing was changed"))
        // A dry run proposes nothing: hale's own run afterwards proposes afresh.
        #expect(try v.run(["tutorial", "open", records[0]], as: "price").status == 0)
        #expect(
            try v.run(["records", "destroy", records[0]], as: "hale").stdout.contains("Proposed"))
        let after = try json(
            try v.run(["records", "destroy", "--due", "--dry-run", "--json"], as: "keeper2").stdout)
        #expect(after["dryRun"] as? Bool == true)
        let due = try #require(after["due"] as? [[String: Any]])
        let byRecord = Dictionary(
            uniqueKeysWithValues: due.compactMap { d in (d["record"] as? String).map { ($0, d) } })
        #expect(byRecord[records[0]]?["action"] as? String == "destroy")
        #expect(byRecord[records[0]]?["proposedBy"] as? String == "hale")
        #expect(byRecord[records[1]]?["action"] as? String == "propose")
        #expect(byRecord[records[1]]?["learner"] as? String == "kim")
        let mine = try v.run(["records", "destroy", "--due", "--dry-run"], as: "hale")
        #expect(mine.stdout.contains("proposed by you"))
        // Still nothing destroyed.
        for record in records {
            #expect(try v.run(["tutorial", "open", record], as: "price").status == 0)
        }
        // A held record is not due: the dry run does not list it, and the run leaves it be.
        #expect(
            try v.run(["retention", "hold", records[1], "--reason", "inquiry"], as: "hale").status
                == 0)
        let held = try json(
            try v.run(["records", "destroy", "--due", "--dry-run", "--json"], as: "keeper2").stdout)
        let rows = try #require(held["due"] as? [[String: Any]])
        #expect(!rows.contains { $0["record"] as? String == records[1] })
        let run = try v.run(["records", "destroy", "--due", "--yes", "--json"], as: "keeper2")
        #expect(run.status == 0, "\(run.stderr)")
        let result = try json(run.stdout)
        #expect((result["destroyed"] as? [[String: Any]])?.count == 1)
        #expect(try v.run(["tutorial", "open", records[0]], as: "price").status == 66)
        #expect(try v.run(["tutorial", "open", records[1]], as: "price").status == 0)
    }

    @Test("check, hold, destroy with a certificate, open afterwards 66, backups")
    func lifecycle() throws {
        let v = try Self.vaultWithKim()
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
        // Two people: a second keeper proposes, Hale agrees.
        try Self.addSecondKeeper(v)
        let proposed = try v.run(["records", "destroy", record, "--json"], as: "keeper2")
        #expect(proposed.status == 0, "\(proposed.stderr)")
        let pending = try #require(try json(proposed.stdout)["pending"] as? [String: Any])
        #expect(pending["proposedBy"] as? String == "keeper2")
        #expect(try v.run(["tutorial", "open", record], as: "price").status == 0)
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
        let list = try v.run(["records", "list", "--json"], as: "hale")
        #expect(list.stdout.contains(record))
        #expect(list.stdout.contains(#""destroyed""#))
        // The certificate is kept: listed, and printed again with the label and learner, verified.
        let certificates = try v.run(["retention", "certificates"], as: "hale")
        #expect(certificates.status == 0 && certificates.stdout.contains(record))
        let again = try v.run(["records", "certificate", record], as: "hale")
        #expect(again.status == 0, "\(again.stderr)")
        #expect(
            again.stdout.contains("authorised-by: hale") && again.stdout.contains("learner: kim"))
        #expect(again.stdout.contains("label: Tutorial"))
    }

    @Test(
        "report files are new files only the owner can read, never half-written, never over another file"
    )
    func outputFiles() throws {
        let v = try CLIVault()
        let record = try v.seal()
        func mode(_ path: String) throws -> Int {
            try #require(
                try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        }
        // The CSV has a line for every record, after its header, and is the owner's alone.
        let csv = v.root.appendingPathComponent("standing.csv").path
        let check = try v.run(["retention", "check", "--csv", csv], as: "hale")
        #expect(check.status == 0, "\(check.stderr)")
        let lines = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")
        #expect(lines.first == "record,label,class,learner,standing,due_on,flagged,rule,note")
        #expect(lines.count == 2 && lines.last?.hasPrefix(record + ",") == true)
        #expect(try mode(csv) == 0o600)
        // An existing file is never replaced: 73, and it is as it was.
        let kept = try v.write("kept.csv", "someone's own file\n")
        let again = try v.run(["retention", "check", "--csv", kept], as: "hale")
        #expect(again.status == 73 && again.stderr.contains("exists already"))
        #expect(try String(contentsOfFile: kept, encoding: .utf8) == "someone's own file\n")
        // A check that is refused, or cannot unlock, leaves no file behind.
        let refused = v.root.appendingPathComponent("refused.csv").path
        #expect(try v.run(["retention", "check", "--csv", refused], as: "price").status == 77)
        #expect(!FileManager.default.fileExists(atPath: refused))
        let locked = v.root.appendingPathComponent("checkpoint.txt").path
        let wrong = try v.run(
            ["audit", "checkpoint", "--out", locked], as: "hale", passphrase: "not the passphrase")
        #expect(wrong.status != 0 && !FileManager.default.fileExists(atPath: locked))
        // A folder that is not there is named.
        let nowhere = v.root.appendingPathComponent("no-such-folder/standing.csv").path
        let missing = try v.run(["retention", "check", "--csv", nowhere], as: "hale")
        #expect(missing.status == 66 && missing.stderr.contains("must exist"))
        #expect(try v.run(["audit", "checkpoint", "--out", locked], as: "hale").status == 0)
        #expect(try mode(locked) == 0o600)
    }
}
