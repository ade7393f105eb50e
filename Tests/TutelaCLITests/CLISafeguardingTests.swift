import Foundation
import Testing

@Suite("tutela safeguarding and break-glass")
struct CLISafeguardingTests {
    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// The CLI vault (its head of centre and both groups' keys) plus a second officer, given the
    /// officers' key by the first officer's next command.
    func vault() throws -> CLIVault {
        let v = try CLIVault()
        let r = try v.run(
            ["principal", "add", "dsl2", "--name", "dsl2", "--role", "safeguarding-officer"],
            as: "office", newPassphrase: "dsl2")
        #expect(r.status == 0, "\(r.stderr)")
        let synced = try v.run(["group", "list"], as: "dsl")
        #expect(synced.status == 0, "\(synced.stderr)")
        #expect(synced.stderr.contains("Gave the safeguarding-officer group key to dsl2"))
        return v
    }

    @Test("flag, queue, disclosure with a mandatory reason, inbox, review")
    func flagAndDisclose() throws {
        let v = try vault()
        let record = try v.seal(marker: "worrying words")
        #expect(try v.run(["safeguarding", "flag", record], as: "price").status == 64)
        let flag = try v.run(["safeguarding", "flag", record, "--reason", "CPOMS 12"], as: "price")
        #expect(flag.status == 0, "\(flag.stderr)")
        let queue = try json(try v.run(["safeguarding", "queue", "--json"], as: "dsl").stdout)
        let rows = try #require(queue["records"] as? [[String: Any]])
        #expect(rows.first?["record"] as? String == record)
        #expect(rows.first?["label"] as? String == "Confidential tutorial – 2026-11-20")
        #expect(rows.first?["flaggedBy"] as? String == "price")
        let noReason = try v.run(["safeguarding", "open", record], as: "dsl")
        #expect(noReason.status == 64)
        #expect(noReason.stdout.isEmpty)
        let opened = try v.run(
            ["safeguarding", "open", record, "--reason", "follow-up", "--json"], as: "dsl")
        #expect(opened.status == 0, "\(opened.stderr)")
        #expect(try json(opened.stdout)["record"] as? String == record)
        #expect(opened.stdout.contains("worrying words"))
        let inbox = try v.run(["inbox"], as: "head")
        #expect(inbox.stdout.contains("disclose"))
        let reviews = try json(try v.run(["safeguarding", "reviews", "--json"], as: "head").stdout)
        let review = try #require(
            (reviews["reviews"] as? [[String: Any]])?.first?["review"] as? String)
        let done = try v.run(
            [
                "safeguarding", "review", review, "--outcome", "justified", "--note",
                "proportionate",
            ], as: "head")
        #expect(done.status == 0, "\(done.stderr)")
        #expect(
            try v.run(["safeguarding", "open", record, "--reason", "x"], as: "jones").status == 77)
    }

    @Test("a learner's copy never says that anything was withheld from it")
    func exportRevealsNothing() throws {
        let v = try vault()
        let sam = try v.run(
            ["principal", "add", "sam", "--name", "Sam", "--role", "learner"], as: "office",
            newPassphrase: "sam")
        #expect(sam.status == 0, "\(sam.stderr)")
        let kept = try v.seal(confidential: false, marker: "all fine")
        let flagged = try v.seal(confidential: false, marker: "worrying words")
        let flag = try v.run(
            ["safeguarding", "flag", flagged, "--reason", "CPOMS 13"], as: "price")
        #expect(flag.status == 0, "\(flag.stderr)")
        for args in [
            ["records", "export", "--learner", "sam"],
            ["records", "export", "--learner", "sam", "--json"],
        ] {
            let copy = try v.run(args, as: "sam")
            #expect(copy.status == 0, "\(copy.stderr)")
            #expect(copy.stdout.contains("all fine") && copy.stdout.contains(kept))
            let said = (copy.stdout + copy.stderr).lowercased()
            for word in [
                "withheld", "safeguarding", "not included", "worrying", flagged.lowercased(),
            ] {
                #expect(!said.contains(word), "the learner's copy says '\(word)'")
            }
        }
    }

    @Test("break-glass: request, two approvals, open once; refusals are 77")
    func breakGlass() throws {
        let v = try vault()
        let record = try v.seal(marker: "sealed words")
        let request = try v.run(
            ["break-glass", "request", record, "--reason", "missing child", "--json"], as: "dsl")
        #expect(request.status == 0, "\(request.stderr)")
        let id = try #require(try json(request.stdout)["request"] as? String)
        #expect(try v.run(["break-glass", "approve", id], as: "dsl").status == 77)
        // The approver is shown who asks, for which record, and why, before approving.
        let approved = try v.run(["break-glass", "approve", id], as: "head")
        #expect(approved.status == 0)
        #expect(approved.stderr.contains("asks to open \(record)"))
        #expect(approved.stderr.contains("(dsl)") && approved.stderr.contains("missing child"))
        #expect(try v.run(["break-glass", "approve", id], as: "head").status == 77)
        #expect(try v.run(["break-glass", "open", id], as: "dsl").status == 77)
        #expect(try v.run(["break-glass", "approve", id], as: "dsl2").status == 0)
        let opened = try v.run(["break-glass", "open", id, "--json"], as: "dsl")
        #expect(opened.status == 0, "\(opened.stderr)")
        #expect(opened.stdout.contains("sealed words"))
        let again = try v.run(["break-glass", "open", id], as: "dsl")
        #expect(again.status == 77)
        #expect(again.stdout.isEmpty)
    }

    @Test("group keys: a member makes them; a leaver's rotation is shown until a member's command")
    func groupKeysByMembers() throws {
        let v = try vault()
        // The office holds neither role: it cannot make or replace either key.
        let office = try v.run(["group", "rotate", "safeguarding-officer"], as: "office")
        #expect(office.status == 77, "\(office.stderr)")
        #expect(office.stderr.contains("only a holder of the safeguarding-officer role"))
        let twice = try v.run(["group", "create", "head-of-centre"], as: "head")
        #expect(twice.status == 73 && twice.stderr.contains("already has a key"))
        #expect(try v.run(["group", "sync", "safeguarding-officer"], as: "dsl").status == 0)
        let revoked = try v.run(["principal", "revoke", "dsl2"], as: "office")
        #expect(revoked.status == 0, "\(revoked.stderr)")
        #expect(revoked.stdout.contains("safeguarding-officer group key is due to be replaced"))
        let due = try json(try v.run(["group", "list", "--json"], as: "office").stdout)
        let rows = try #require(due["groups"] as? [[String: Any]])
        let officers = try #require(rows.first { $0["role"] as? String == "safeguarding-officer" })
        #expect(officers["version"] as? Int == 1 && officers["rotationDue"] as? Bool == true)
        // The officer's next command, whatever it is, makes the new key and says so.
        let queue = try v.run(["safeguarding", "queue"], as: "dsl")
        #expect(queue.status == 0, "\(queue.stderr)")
        #expect(queue.stderr.contains("Made a new safeguarding-officer group key"))
        let list = try v.run(["group", "list"], as: "office")
        #expect(list.stdout.contains("safeguarding-officer") && list.stdout.contains("current"))
        #expect(!list.stdout.contains("due to be replaced"), "\(list.stdout)")
        let after = try json(try v.run(["group", "list", "--json"], as: "office").stdout)
        let now = try #require(
            (after["groups"] as? [[String: Any]])?.first {
                $0["role"] as? String == "safeguarding-officer"
            })
        #expect(now["version"] as? Int == 2 && now["rotationDue"] as? Bool == false)
        let again = try v.run(["safeguarding", "queue"], as: "dsl")
        #expect(!again.stderr.contains("Made a new"))
        // An explicit rotation makes exactly one version, and a reissue says what is now due.
        #expect(try v.run(["group", "rotate", "safeguarding-officer"], as: "dsl").status == 0)
        let rows3 = try json(try v.run(["group", "list", "--json"], as: "office").stdout)
        #expect(
            (rows3["groups"] as? [[String: Any]])?.first {
                $0["role"] as? String == "safeguarding-officer"
            }?["version"] as? Int == 3)
        let reissued = try v.run(["principal", "rekey", "head"], as: "office")
        #expect(reissued.status == 0, "\(reissued.stderr)")
        #expect(reissued.stdout.contains("head-of-centre group key is due to be replaced"))
        #expect(reissued.stderr.contains("no one holds the head-of-centre role"))
    }
}
