import Foundation
import Testing

/// `records list` filters and pages, `learner list` and `principal list` (#21 item 4).
@Suite("CLI: finding records, learners and people")
struct CLIFindingTests {
    func json(_ result: CLIResult) throws -> [String: Any] {
        #expect(result.status == 0, "\(result.stderr)")
        return try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    @Test("records list: newest first with names, filters, pages, and the officers' flagged list")
    func recordsList() throws {
        let v = try CLIVault()
        let first = try v.seal(confidential: false)
        let second = try v.seal(confidential: true)
        let flag = try v.run(
            ["safeguarding", "flag", second, "--reason", "CPOMS 7002"], as: "price")
        #expect(flag.status == 0, "\(flag.stderr)")

        let human = try v.run(["records", "list", "--per-page", "1"], as: "hale")
        #expect(human.status == 0, "\(human.stderr)")
        #expect(human.stdout.contains("Sam Taylor (sam)"))
        #expect(human.stdout.contains("2 records, page 1 of 2 (--page 2 for more)."))
        #expect(!human.stdout.contains("flagged"))

        let page = try json(
            try v.run(["records", "list", "--json", "--page", "2", "--per-page", "1"], as: "hale"))
        #expect(
            page["total"] as? Int == 2 && page["pages"] as? Int == 2 && page["page"] as? Int == 2)
        let class1 = try json(
            try v.run(["records", "list", "--json", "--class", "tutorial"], as: "hale"))
        let rows = try #require(class1["records"] as? [[String: Any]])
        #expect(rows.map { $0["record"] as? String } == [first])
        #expect(rows.first?["learnerName"] as? String == "Sam Taylor")
        let none = try json(
            try v.run(["records", "list", "--json", "--from", "2026-11-21"], as: "hale"))
        #expect((none["records"] as? [Any])?.isEmpty == true)

        // The safeguarding officer lists the flagged one, marked; others may not ask.
        let officer = try json(try v.run(["records", "list", "--flagged", "--json"], as: "dsl"))
        let flagged = try #require(officer["records"] as? [[String: Any]])
        #expect(flagged.map { $0["record"] as? String } == [second])
        #expect(flagged.first?["marks"] as? [String] == ["flagged"])
        let refused = try v.run(["records", "list", "--flagged"], as: "price")
        #expect(refused.status == 77)

        // Learners' and people's ids in any case.
        let shouted = try json(
            try v.run(
                ["records", "list", "--json", "--learner", "SAM", "--tutor", "Price"], as: "hale"))
        #expect(shouted["total"] as? Int == 2)

        let badClass = try v.run(["records", "list", "--class", "letters"], as: "hale")
        #expect(badClass.status == 64 && badClass.stderr.contains("--class must be one of"))
        let badRange = try v.run(
            ["records", "list", "--from", "2026-11-02", "--to", "2026-10-01"], as: "hale")
        #expect(badRange.status == 64 && badRange.stderr.contains("ends"))
    }

    @Test("learner list and principal list show what the policy allows")
    func directoryLists() throws {
        let v = try CLIVault()
        let keeper = try v.run(["learner", "list"], as: "hale")
        #expect(keeper.status == 0, "\(keeper.stderr)")
        #expect(keeper.stdout.contains("Sam Taylor") && keeper.stdout.contains("Price (price)"))
        #expect(
            keeper.stdout.contains("Young Apprenticeship") && keeper.stdout.contains("1 learner."))
        let tutees = try json(try v.run(["learner", "list", "--json"], as: "price"))
        let learners = try #require(tutees["learners"] as? [[String: Any]])
        #expect(learners.map { $0["id"] as? String } == ["sam"])
        #expect(learners.first?["tutorName"] as? String == "Price")
        #expect(try v.run(["learner", "list"], as: "jones").stdout.contains("No learners"))

        let people = try json(try v.run(["principal", "list", "--json"], as: "price"))
        let list = try #require(people["principals"] as? [[String: Any]])
        #expect(list.count == 6)
        let dsl = list.first { $0["id"] as? String == "dsl" }
        #expect(dsl?["roles"] as? [String] == ["safeguarding-officer"])
        #expect(dsl?["standing"] as? String == "active")
        let text = try v.run(["principal", "list"], as: "head")
        #expect(text.stdout.contains("record-keeper") && text.stdout.contains("6 people."))
    }

    @Test("inbox: new notices marked, --mark-read, --unread")
    func inbox() throws {
        let v = try CLIVault()
        let record = try v.seal()
        #expect(
            try v.run(["safeguarding", "flag", record, "--reason", "CPOMS 1"], as: "price").status
                == 0)
        let first = try v.run(["inbox", "--mark-read"], as: "dsl")
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("NEW") && first.stdout.contains("flag"))
        // In the centre's time zone (the shipped policy's default, Europe/London).
        #expect(first.stdout.contains(" GMT") || first.stdout.contains(" BST"))
        let again = try json(try v.run(["inbox", "--json"], as: "dsl"))
        let notices = try #require(again["notices"] as? [[String: Any]])
        #expect(notices.count == 1 && notices[0]["unread"] as? Bool == false)
        #expect(notices[0]["action"] as? String == "flag")
        let fresh = try v.run(["inbox", "--unread"], as: "dsl")
        #expect(fresh.stdout.contains("No new notices."))
    }
}
