import Foundation
import Testing

@testable import Tutela

/// A term lived with an injected clock and the shipped calendar: reviews met, missed and planned,
/// reminders at the right moments to the right tutors.
@Suite("Review cadence over a term")
struct CadenceTests {
    /// Each learner's standing for each period `who` sees, as "learner period standing".
    func standings(_ c: PlanningCentre, _ who: PrincipalID, tutor: PrincipalID? = nil)
        async throws -> [String]
    {
        try await c.session(who).planning.cadence(tutor: tutor).map {
            "\($0.learner) \($0.period.name) \($0.standing.rawValue)"
        }.sorted()
    }

    @Test("a term: due, missed, planned, due soon, done — each tutor sees their own, a head all")
    func aTerm() async throws {
        let c = try await PlanningCentre.make(on: "2026-11-21")
        // Kim (NEET prevention) is reviewed every half-term and missed the first; Sam (Young
        // Apprenticeship) and Alex (Diploma) every term.
        #expect(
            try await standings(c, "price") == [
                "kim Autumn 2026, first half overdue", "kim Autumn 2026, second half due",
                "sam Autumn 2026 due",
            ])
        #expect(try await standings(c, "jones") == ["alex Autumn 2026 due"])
        #expect(try await standings(c, "head").count == 4)
        #expect(try await standings(c, "head", tutor: "jones") == ["alex Autumn 2026 due"])
        await expectError(.permissionDenied) { try await c.session("hale").planning.cadence() }
        await expectError(.permissionDenied) { try await c.session("sam").planning.cadence() }

        let price = try await c.session("price")
        _ = try await price.planning.plan(
            PlanRequest(learner: "kim", day: #require(CalendarDate("2026-12-01")), startMinute: 600)
        )
        #expect(try await standings(c, "price").contains("kim Autumn 2026, second half planned"))
        // No reminder yet: nothing falls due within the week.
        #expect(try await price.planning.reminders().map(\.learner) == ["kim"])  // the missed half

        // A week before the end of term: Sam's review is due soon with nothing planned; Kim's
        // planned tutorial passed without a record.
        c.hands.move(to: "2026-12-12")
        let reminders = try await c.session("price").planning.reminders()
        #expect(
            reminders.map { "\($0.learner) \($0.standing.rawValue)" }.sorted() == [
                "kim due-soon", "kim overdue", "sam due-soon",
            ])
        #expect(try await c.session("jones").planning.reminders().map(\.learner) == ["alex"])
        // Reminders are for tutors only.
        #expect(try await c.session("head").planning.reminders().isEmpty)

        // Sam's review is sealed; Kim's too, as a confidential tutorial. Alex's is sealed and
        // voided (the wrong learner): it does not count.
        let samReview = try await c.session("price").seal(
            PlanningCentre.form("sam", on: "2026-12-12"), confidential: false)
        _ = try await c.session("price").seal(
            PlanningCentre.form("kim", on: "2026-12-10"), confidential: true)
        let jones = try await c.session("jones")
        let wrong = try await jones.seal(
            PlanningCentre.form("alex", on: "2026-12-11"), confidential: false)
        try await jones.corrections.void(wrong.record, reason: "wrong learner")
        let now = try await c.session("price").planning.cadence()
        #expect(
            now.map { "\($0.learner) \($0.period.name) \($0.standing.rawValue)" }.sorted() == [
                "kim Autumn 2026, first half overdue", "kim Autumn 2026, second half done",
                "sam Autumn 2026 done",
            ])
        #expect(now.first { $0.learner == "sam" }?.record == samReview.record)
        #expect(try await standings(c, "jones") == ["alex Autumn 2026 due-soon"])

        // The holiday: Alex's term ended without a review.
        c.hands.move(to: "2027-01-02")
        #expect(try await standings(c, "jones") == ["alex Autumn 2026 overdue"])
        // Spring term: Sam's done autumn is not shown again; Alex's missed one still is.
        c.hands.move(to: "2027-01-11")
        #expect(try await standings(c, "price").contains("sam Spring 2027 due"))
        #expect(!(try await standings(c, "price").contains("sam Autumn 2026 done")))
        #expect(
            try await standings(c, "jones") == ["alex Autumn 2026 overdue", "alex Spring 2027 due"])
    }

    @Test("a learner who has left, or has no programme with a cadence, is not followed")
    func leftAndUnfollowed() async throws {
        let c = try await PlanningCentre.make(on: "2026-11-21")
        let office = try c.f.session("office")
        try await office.administration.learnerLeft(
            "alex", on: #require(CalendarDate("2026-11-20")))
        try await office.administration.addLearner(
            "lee", name: "Lee Park", tutor: "jones", dateOfBirth: nil, programme: "A levels")
        #expect(try await standings(c, "jones").isEmpty)
    }
}

/// A tutor's plans as an iCalendar file: RFC 5545's grammar, and nothing from any record.
@Suite("Calendars of planned tutorials")
struct PlanCalendarTests {
    /// Checks `file` against RFC 5545's content-line grammar and component structure; returns its
    /// unfolded lines.
    func validated(_ file: String) throws -> [String] {
        let bytes = Array(file.utf8)
        // Every physical line ends with CRLF and holds at most 75 octets.
        var physical: [[UInt8]] = []
        var current: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if bytes[i] == 13 {
                #expect(i + 1 < bytes.count && bytes[i + 1] == 10, "a CR without LF")
                physical.append(current)
                current = []
                i += 2
                continue
            }
            #expect(bytes[i] != 10, "a bare LF")
            current.append(bytes[i])
            i += 1
        }
        #expect(current.isEmpty, "the file does not end with CRLF")
        for line in physical { #expect(line.count <= 75, "a line over 75 octets") }
        // Unfold: a line starting with a space continues the one before.
        var lines: [String] = []
        for line in physical {
            let text = try #require(String(validating: line, as: UTF8.self))
            if text.hasPrefix(" ") {
                lines[lines.count - 1] += text.dropFirst()
            } else {
                lines.append(text)
            }
        }
        let name = "[A-Za-z0-9-]+"
        let param = ";\(name)=(\"[^\"]*\"|[^;:,\"]*)"
        let contentLine = try Regex("^\(name)(\(param))*:[^\\x00-\\x08\\x0A-\\x1F\\x7F]*$")
        var stack: [String] = []
        var properties: [[String]] = []
        for line in lines {
            #expect(line.wholeMatch(of: contentLine) != nil, "not a content line: \(line)")
            if line.hasPrefix("BEGIN:") {
                stack.append(String(line.dropFirst(6)))
                properties.append([])
            } else if line.hasPrefix("END:") {
                #expect(stack.popLast() == String(line.dropFirst(4)), "unbalanced \(line)")
                let names = properties.popLast() ?? []
                if line == "END:VEVENT" {
                    for required in ["UID", "DTSTAMP", "DTSTART"] {
                        #expect(names.filter { $0 == required }.count == 1, "\(required) once")
                    }
                }
                if line == "END:VCALENDAR" {
                    #expect(names.contains("PRODID") && names.contains("VERSION"))
                }
            } else {
                let propertyName = String(line.prefix { $0 != ":" && $0 != ";" })
                properties[properties.count - 1].append(propertyName)
            }
        }
        #expect(stack.isEmpty)
        #expect(lines.first == "BEGIN:VCALENDAR" && lines.last == "END:VCALENDAR")
        return lines
    }

    @Test("a tutor's calendar: initials, place and time in UTC, folded and escaped; nothing else")
    func calendar() async throws {
        let c = try await PlanningCentre.make(on: "2026-11-21")
        let price = try await c.session("price")
        _ = try await price.seal(PlanningCentre.form("sam", on: "2026-11-20"), confidential: false)
        let place = "Room 4, Block B; upstairs — café side \\ " + String(repeating: "é", count: 60)
        let summer = try await price.planning.plan(
            PlanRequest(
                learner: "sam", day: #require(CalendarDate("2027-06-10")), startMinute: 600,
                minutes: 45, place: place)
        ).plan
        let later = try await price.planning.plan(
            PlanRequest(learner: "kim", day: #require(CalendarDate("2026-12-03")))
        ).plan
        _ = try await price.planning.cancel(later.id, reason: "moved to the spring")
        let file = try await price.planning.calendar()
        let lines = try validated(file)
        #expect(!file.contains("PRIVATE-CONTENT-MARKER"))
        #expect(!file.contains("Sam Taylor") && !file.contains("Kim Lee"))
        #expect(lines.contains("UID:\(summer.id.text)@tutela"))
        // 10:00 in London in June is 09:00 UTC; 45 minutes.
        #expect(lines.contains("DTSTART:20270610T090000Z"))
        #expect(lines.contains("DTEND:20270610T094500Z"))
        #expect(lines.contains("SUMMARY:Tutorial – S.T."))
        #expect(
            lines.contains {
                $0.hasPrefix("LOCATION:Room 4\\, Block B\\; upstairs — café side \\\\ é")
            })
        // No time agreed: a day's entry; cancelled, and said so with a later sequence.
        #expect(lines.contains("DTSTART;VALUE=DATE:20261203"))
        #expect(lines.contains("STATUS:CANCELLED") && lines.contains("SEQUENCE:1"))
        // Another tutor may not read it; a head may.
        await expectError(.permissionDenied) {
            try await c.session("jones").planning.calendar(of: "price")
        }
        #expect(try await c.session("head").planning.calendar(of: "price") == file)
    }

    @Test("a calendar names the learner by id when the policy says learner-id")
    func names() async throws {
        let c = try await PlanningCentre.make()
        let directory = try c.f.session("office").directory
        #expect(ICalendar.name("sam", directory: directory, shows: .initials) == "S.T.")
        #expect(ICalendar.name("sam", directory: directory, shows: .learnerID) == "sam")
    }
}

/// The ILR minimum record: learner, date, kind, who — no content, for the data officer only.
@Suite("The ILR minimum record")
struct ILRExportTests {
    @Test("the data officer exports tutorials and informal notes, no content; others are refused")
    func export() async throws {
        let c = try await PlanningCentre.make(on: "2026-11-21")
        let price = try await c.session("price")
        let jones = try await c.session("jones")
        let tutorial = try await price.seal(
            PlanningCentre.form("sam", on: "2026-11-18"), confidential: false)
        let confidential = try await price.seal(
            PlanningCentre.form("kim", on: "2026-11-19"), confidential: true)
        let note = try await jones.seal(
            .informalNote(
                InformalNote.parse(
                    Array(
                        #"{"learner": "alex", "date": "2026-11-20", "summary": "PRIVATE-CONTENT-MARKER"}"#
                            .utf8), source: "note")), as: .informalNote)
        let wrong = try await jones.seal(
            PlanningCentre.form("alex", on: "2026-11-20"), confidential: false)
        try await jones.corrections.void(wrong.record, reason: "wrong learner")
        let ilr = try await c.session("ilr")
        let lines = try await ilr.planning.ilrExport(from: nil, to: nil)
        #expect(
            lines.map { "\($0.learner) \($0.date) \($0.kind) \($0.who) \($0.record)" } == [
                "sam 2026-11-18 tutorial price \(tutorial.record)",
                "kim 2026-11-19 tutorial price \(confidential.record)",
                "alex 2026-11-20 informal-support jones \(note.record)",
            ])
        let csv = ILRLine.csvHeader + lines.map(\.csvLine).joined()
        #expect(!csv.contains("PRIVATE-CONTENT-MARKER") && !csv.contains("onfidential"))
        #expect(csv.hasPrefix("learner,date,kind,who,record\n"))
        #expect(
            try await ilr.planning.ilrExport(from: CalendarDate("2026-11-19"), to: nil).count == 2)
        let last = try #require(try await c.f.store.links(.audit).last)
        let entry = try AuditEntry.parse(last.body, context: "entry")
        #expect(entry.action == .export && entry.actor == "ilr" && entry.outcome == .allowed)
        // Anyone else is refused, and the refusal is audited.
        for who: PrincipalID in ["price", "hale", "head", "sam"] {
            await expectError(.permissionDenied) {
                try await c.session(who).planning.ilrExport(from: nil, to: nil)
            }
            let refused = try AuditEntry.parse(
                try #require(try await c.f.store.links(.audit).last).body, context: "entry")
            #expect(refused.action == .export && refused.outcome == .denied && refused.actor == who)
        }
    }
}
