import Foundation
import Testing

@Suite("tutela safeguarding and break-glass")
struct CLISafeguardingTests {
    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// The CLI vault plus a head of centre and a second officer, and both groups' keys.
    func vault() throws -> CLIVault {
        let v = try CLIVault()
        for (id, role) in [("head", "head-of-centre"), ("dsl2", "safeguarding-officer")] {
            let r = try v.run(
                ["principal", "add", id, "--name", id, "--role", role], as: "office",
                newPassphrase: id)
            #expect(r.status == 0, "\(r.stderr)")
        }
        for role in ["safeguarding-officer", "head-of-centre"] {
            let r = try v.run(["group", "create", role], as: "office")
            #expect(r.status == 0, "\(r.stderr)")
        }
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
}
