import Foundation
import Testing

/// `records addendum` and `records void` (#21 item 2), through the built binary.
@Suite("CLI: addenda and void records")
struct CLICorrectionTests {
    @Test("an author adds an addendum, opening the record lists it; a record is voided once")
    func addendumAndVoid() throws {
        let v = try CLIVault()
        let record = try v.seal(confidential: false)

        let added = try v.run(
            ["records", "addendum", record, "--text", "Attendance was 38 lessons, not 40."],
            as: "price")
        #expect(added.status == 0, "\(added.stderr)")
        let addendum = added.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(added.stderr.contains("an addendum to \(record)"))
        let opened = try v.run(["tutorial", "open", record], as: "price")
        #expect(opened.stdout.contains("Addendum:") && opened.stdout.contains(addendum))
        let openedAddendum = try v.run(["tutorial", "open", addendum, "--json"], as: "price")
        #expect(openedAddendum.status == 0, "\(openedAddendum.stderr)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(openedAddendum.stdout.utf8))
                as? [String: Any])
        #expect(object["amends"] as? String == record)
        #expect(openedAddendum.stdout.contains("38 lessons"))

        let notAuthor = try v.run(["records", "addendum", record, "--text", "x"], as: "jones")
        #expect(notAuthor.status == 77 && notAuthor.stderr.contains("author"))
        let neither = try v.run(["records", "addendum", record], as: "price")
        #expect(neither.status == 64 && neither.stderr.contains("--text"))

        let void = try v.run(
            ["records", "void", record, "--reason", "sealed under the wrong learner"], as: "price")
        #expect(void.status == 0, "\(void.stderr)")
        let again = try v.run(["records", "void", record, "--reason", "twice"], as: "price")
        #expect(again.status == 73, "\(again.stderr)")
        let noReason = try v.run(["records", "void", record], as: "price")
        #expect(noReason.status == 64)
        let shown = try v.run(["tutorial", "open", record], as: "price")
        #expect(shown.stdout.hasPrefix("VOID — sealed by mistake"))
        let listed = try v.run(["records", "list", "--json"], as: "hale")
        #expect(listed.stdout.contains("\"void\""))
        #expect(listed.stdout.contains("\"addendum\""))
        let json = try v.run(["tutorial", "open", record, "--json"], as: "price")
        let voidJSON = try #require(
            try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(
            (voidJSON["void"] as? [String: Any])?["reason"] as? String
                == "sealed under the wrong learner")
    }

    @Test("learner correct-leaving: a signed correction with a reason, refused before birth")
    func correctLeaving() throws {
        let v = try CLIVault()
        let left = try v.run(["learner", "leave", "sam", "--date", "2026-07-20"], as: "office")
        #expect(left.status == 0, "\(left.stderr)")
        let before = try v.run(
            ["learner", "correct-leaving", "sam", "--date", "2001-01-01", "--reason", "typo"],
            as: "office")
        #expect(before.status == 65 && before.stderr.contains("date of birth"), "\(before.stderr)")
        let both = try v.run(
            [
                "learner", "correct-leaving", "sam", "--date", "2026-06-30", "--not-left",
                "--reason", "x",
            ],
            as: "office")
        #expect(both.status == 64)
        let fixed = try v.run(
            ["learner", "correct-leaving", "sam", "--date", "2026-06-30", "--reason", "half term"],
            as: "office")
        #expect(fixed.status == 0, "\(fixed.stderr)")
        #expect(fixed.stdout.contains("sam left on 2026-06-30"))
        let withdrawn = try v.run(
            ["learner", "correct-leaving", "sam", "--not-left", "--reason", "came back", "--json"],
            as: "office")
        #expect(withdrawn.status == 0, "\(withdrawn.stderr)")
        #expect(withdrawn.stdout.contains("false"))
    }
}
