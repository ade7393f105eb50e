import Foundation
import Testing

/// `plan`, `cadence` and `ilr export` (#25), through the built binary, on today's clock.
@Suite("CLI: planned tutorials, cadence, the ILR record")
struct CLIPlanTests {
    /// A day `days` from today (UTC), as typed.
    static func day(_ days: Int) -> String {
        let date = Date().addingTimeInterval(TimeInterval(days * 86_400))
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "Europe/London")
        f.dateFormat = "yyyy-MM-dd"
        return f.string(from: date)
    }

    @Test("a tutor plans, changes and cancels; the diary file and the cadence; others refused")
    func plan() throws {
        let v = try CLIVault()
        let added = try v.run(
            [
                "plan", "add", "--learner", "sam", "--on", Self.day(10), "--at", "10:30",
                "--place", "Room 4",
            ], as: "price")
        #expect(added.status == 0, "\(added.stderr)")
        let id = added.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.hasPrefix("TP-"))
        #expect(!added.stderr.contains("Short notice"))
        let short = try v.run(
            ["plan", "add", "--learner", "sam", "--on", Self.day(2), "--json"], as: "price")
        #expect(short.status == 0, "\(short.stderr)")
        let shortJSON = try JSONSerialization.jsonObject(with: Data(short.stdout.utf8))
        #expect((shortJSON as? [String: Any])?["shortNotice"] as? Bool == true)
        let badTime = try v.run(
            ["plan", "add", "--learner", "sam", "--on", Self.day(10), "--at", "25:00"],
            as: "price")
        #expect(badTime.status == 64 && badTime.stderr.contains("HH:MM"))
        let keeper = try v.run(
            ["plan", "add", "--learner", "sam", "--on", Self.day(10)], as: "hale")
        #expect(keeper.status == 77)

        let moved = try v.run(
            ["plan", "change", id, "--place", "Library", "--reason", "room booked"], as: "price")
        #expect(moved.status == 0, "\(moved.stderr)")
        let nothing = try v.run(["plan", "change", id, "--reason", "x"], as: "price")
        #expect(nothing.status == 64)
        let listed = try v.run(["plan", "list", "--json"], as: "price")
        #expect(listed.stdout.contains(id) && listed.stdout.contains("Library"))

        let diary = v.root.appendingPathComponent("price.ics").path
        let written = try v.run(["plan", "calendar", "--out", diary], as: "price")
        #expect(written.status == 0, "\(written.stderr)")
        let ics = try String(contentsOfFile: diary, encoding: .utf8)
        #expect(ics.hasPrefix("BEGIN:VCALENDAR\r\n") && ics.contains("UID:\(id)@tutela"))
        #expect(ics.contains("LOCATION:Library") && !ics.contains("Sam Taylor"))
        let others = try v.run(["plan", "calendar", "--tutor", "price"], as: "jones")
        #expect(others.status == 77)

        let cancelled = try v.run(["plan", "cancel", id, "--reason", "tutor ill"], as: "price")
        #expect(cancelled.status == 0, "\(cancelled.stderr)")
        let again = try v.run(["plan", "cancel", id, "--reason", "twice"], as: "price")
        #expect(again.status == 73)

        let cadence = try v.run(["cadence"], as: "price")
        #expect(cadence.status == 0, "\(cadence.stderr)")
        #expect(cadence.stdout.contains("sam") || cadence.stdout.contains("No learner"))
        #expect(try v.run(["cadence"], as: "hale").status == 77)
    }

    @Test("a tutorial sealed for its plan marks it held; the ILR export is the data officer's")
    func heldAndILR() throws {
        let v = try CLIVault()
        let planned = try v.run(
            ["plan", "add", "--learner", "sam", "--on", Self.day(0)], as: "price")
        let id = planned.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let todays = CLIVault.form(marker: "PRIVATE-MARKER").replacingOccurrences(
            of: "2026-11-20", with: Self.day(0))
        let form = try v.write("form.json", CLIVault.form(marker: "PRIVATE-MARKER"))
        // A plan the form cannot hold is refused before anything is sealed: no record is left
        // to seal again.
        let wrongDay = try v.run(["tutorial", "seal", form, "--plan", id], as: "price")
        #expect(wrongDay.status == 64 && wrongDay.stderr.contains("change the plan's day"))
        let unknown = try v.run(
            ["tutorial", "seal", form, "--plan", "TP-0000-0000-0000"], as: "price")
        #expect(unknown.status == 66)
        #expect(
            try v.run(["records", "list", "--json"], as: "price").stdout.contains("R-") == false)
        let moved = try v.run(
            ["plan", "change", id, "--on", "2026-11-20", "--reason", "held early"], as: "price")
        #expect(moved.status == 64)  // a day past cannot be planned; plan on the form's day instead
        let sealed = try v.run(
            ["tutorial", "seal", try v.write("today.json", todays), "--plan", id], as: "price")
        #expect(sealed.status == 0, "\(sealed.stderr)")
        #expect(sealed.stderr.contains("\(id) is held"))
        let record = sealed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        #expect(try v.run(["ilr", "export"], as: "hale").status == 77)
        let enrolled = try v.run(
            ["principal", "add", "data", "--name", "Dee Data", "--role", "ilr-officer"],
            as: "office", newPassphrase: "data")
        #expect(enrolled.status == 0, "\(enrolled.stderr)")
        let export = try v.run(["ilr", "export"], as: "data")
        #expect(export.status == 0, "\(export.stderr)")
        #expect(
            export.stdout
                == "learner,date,kind,who,record\nsam,\(Self.day(0)),tutorial,price,\(record)\n")
        #expect(!export.stdout.contains("PRIVATE-MARKER"))
    }
}
