import Foundation
import Testing

/// A week in a school (#21), through the built binary and only what the README and `--help` say:
/// a tutor writes from the template and imports twice, flags a concern; the safeguarding officer
/// is told, opens it with a reason and lists what is flagged; the head reviews the opening and the
/// queue closes; the record keeper checks retention and the log; the learner sees their own records
/// and never the flagged one; the office lists who is who.
@Suite("CLI: a week in a school")
struct CLIWeekTests {
    func json(_ result: CLIResult) throws -> [String: Any] {
        #expect(result.status == 0, "\(result.stderr)")
        return try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    func ok(_ result: CLIResult, _ what: String) {
        #expect(result.status == 0, "\(what): \(result.stderr)")
    }

    @Test("every role's everyday jobs, start to finish")
    func week() throws {
        let v = try CLIVault()
        ok(
            try v.run(
                ["principal", "add", "sam", "--name", "Sam Taylor", "--role", "learner"],
                as: "office", newPassphrase: "sam"), "the learner enrols")

        // Monday, the tutor: a tutorial from the template, an informal note, a nightly import.
        let review = v.root.appendingPathComponent("monday.yaml").path
        ok(try v.run(["tutorial", "new", "--learner", "sam", "--out", review], as: "price"), "new")
        var text = try String(contentsOfFile: review, encoding: .utf8)
        text = text.replacingOccurrences(of: "\ncomments:", with: "\ncomments: settling in #")
        text = text.replacingOccurrences(of: "\n  lessons:", with: "\n  lessons: 20 #")
        text = text.replacingOccurrences(of: "\n  absences:", with: "\n  absences: 1 #")
        try text.write(toFile: review, atomically: false, encoding: .utf8)
        let monday = try json(try v.run(["tutorial", "seal", review, "--json"], as: "price"))
        let mondayRecord = try #require(monday["record"] as? String)
        let note = v.root.appendingPathComponent("note.yaml").path
        ok(try v.run(["note", "new", "--learner", "sam", "--out", note], as: "price"), "note new")
        let noteText = try String(contentsOfFile: note, encoding: .utf8)
            .replacingOccurrences(of: "\nsummary:", with: "\nsummary: a quick word about the bus #")
        try noteText.write(toFile: note, atomically: false, encoding: .utf8)
        ok(try v.run(["note", "seal", note], as: "price"), "note seal")
        let lines = ["one", "two"].map {
            CLIVault.form(marker: "nightly \($0)").replacingOccurrences(of: "\n", with: " ")
        }
        let nightly = try v.write("nightly.jsonl", lines.joined(separator: "\n") + "\n")
        ok(try v.run(["import", nightly], as: "price"), "import")
        let rerun = try v.run(["import", nightly], as: "price")
        #expect(
            rerun.status == 0 && rerun.stdout.contains("2 forms were sealed before and skipped"))
        let mine = try json(try v.run(["records", "list", "--json"], as: "price"))
        #expect(mine["total"] as? Int == 4)
        #expect(try v.run(["learner", "list"], as: "price").stdout.contains("Sam Taylor"))

        // Tuesday: a concern. The tutor flags; the officer is told, opens it, lists the flagged.
        ok(
            try v.run(
                ["safeguarding", "flag", mondayRecord, "--reason", "CPOMS 4411"], as: "price"),
            "flag")
        let told = try v.run(["inbox", "--unread", "--mark-read"], as: "dsl")
        #expect(told.status == 0 && told.stdout.contains("NEW") && told.stdout.contains("flag"))
        let queue = try v.run(["safeguarding", "queue"], as: "dsl")
        #expect(queue.stdout.contains(mondayRecord) && queue.stdout.contains("not yet"))
        let opened = try v.run(
            ["safeguarding", "open", mondayRecord, "--reason", "strategy meeting"], as: "dsl")
        #expect(opened.status == 0 && opened.stdout.contains("settling in"))
        let flagged = try json(try v.run(["records", "list", "--flagged", "--json"], as: "dsl"))
        #expect((flagged["records"] as? [[String: Any]])?.count == 1)

        // Wednesday, the head: told of the opening, reviews it; the queue closes.
        #expect(try v.run(["inbox"], as: "head").stdout.contains("disclose"))
        let reviews = try json(try v.run(["safeguarding", "reviews", "--json"], as: "head"))
        let item = try #require(
            (reviews["reviews"] as? [[String: Any]])?.first?["review"] as? String)
        ok(
            try v.run(
                [
                    "safeguarding", "review", item, "--outcome", "justified", "--note",
                    "proportionate",
                ], as: "head"), "review")
        #expect(
            try v.run(["safeguarding", "queue"], as: "dsl").stdout.contains(
                "No flagged records waiting"))

        // Thursday, the record keeper: retention, the log of one record, the whole log verified.
        ok(try v.run(["retention", "check"], as: "hale"), "retention check")
        let log = try v.run(["audit", "log", "--record", mondayRecord], as: "hale")
        #expect(log.status == 0 && log.stdout.contains("disclose"))
        ok(try v.run(["audit", "verify"]), "audit verify")

        // Friday, the learner: their own records, never the flagged one, nor a sign of it.
        let sams = try json(try v.run(["records", "list", "--json"], as: "sam"))
        let records = try #require(sams["records"] as? [[String: Any]])
        #expect(!records.contains { $0["record"] as? String == mondayRecord })
        #expect(!String(describing: sams).contains("flag"))
        let copy = try v.run(["records", "export", "--learner", "sam"], as: "sam")
        #expect(copy.status == 0 && !copy.stdout.contains("settling in"))
        #expect(try v.run(["safeguarding", "queue"], as: "sam").status == 77)

        // And the office: who is who.
        let people = try v.run(["principal", "list"], as: "office")
        #expect(people.stdout.contains("safeguarding-officer") && people.stdout.contains("learner"))
    }
}
