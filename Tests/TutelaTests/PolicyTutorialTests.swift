import Foundation
import Testing

@testable import Tutela

/// The policy's `tutorials:` section: the school calendar and the review cadences, validated.
@Suite("The policy's calendar and review cadences")
struct PolicyTutorialTests {
    /// The shipped school policy with its `tutorials:` section replaced by `section` (nil: none).
    func policy(_ section: String?) throws -> Policy {
        try Policy.parse(
            TestFiles.policy(tutorials: section ?? ""), source: "school.yaml")
    }

    func problem(_ section: String) -> String {
        do {
            _ = try policy(section)
            Issue.record("accepted: \(section)")
        } catch let error as TutelaError {
            #expect(error.kind == .invalidInput)
            return error.message
        } catch { Issue.record("\(error)") }
        return ""
    }

    @Test("the shipped calendar: three terms, each split at half-term; the guidance's cadences")
    func shipped() throws {
        let rules = try policy(nil).tutorials
        #expect(rules.terms.isEmpty && rules.noticeDays == 7)
        #expect(rules.cadence(for: "neet  Prevention")?.every == .halfTerm)
        #expect(rules.cadence(for: "Diploma")?.every == .term)
        #expect(rules.cadence(for: "A levels") == nil)
        let shipped = try Policy.parse(Fixture.shippedPolicy().text, source: "school.yaml")
            .tutorials
        #expect(shipped.terms.map(\.name) == ["Autumn 2026", "Spring 2027", "Summer 2027"])
        let halves = shipped.periods(.halfTerm)
        #expect(halves.count == 6)
        #expect(halves[0].ends == CalendarDate("2026-10-25"))
        #expect(halves[1].starts == CalendarDate("2026-10-31"))
        #expect(shipped.periods(.term).count == 3)
    }

    @Test("reviews given replace the defaults; notice and calendar names are read")
    func edited() throws {
        let rules = try policy(
            """
            tutorials:
              notice-days: 10
              calendar-shows: learner-id
              reviews:
                Foundation Learning: half-term

            """
        ).tutorials
        #expect(rules.noticeDays == 10 && rules.calendarShows == .learnerID)
        #expect(rules.cadences.map(\.programme) == ["Foundation Learning"])
        #expect(rules.cadence(for: "Diploma") == nil)
    }

    @Test("an impossible calendar is refused, naming the line and the problem")
    func refused() {
        let overlap = problem(
            """
            tutorials:
              terms:
                - {name: "Autumn", starts: 2026-09-02, ends: 2026-12-18}
                - {name: "Spring", starts: 2026-12-10, ends: 2027-03-26}

            """)
        #expect(overlap.contains("never overlapping") && overlap.contains("school.yaml:"))
        #expect(
            problem(
                """
                tutorials:
                  terms:
                    - {name: "Autumn", starts: 2026-09-02, ends: 2026-12-18, half-term: [2026-08-01, 2026-08-05]}

                """
            ).contains("must fall inside the term"))
        #expect(
            problem(
                """
                tutorials:
                  terms:
                    - {name: "Autumn", starts: 2026-12-18, ends: 2026-09-02}

                """
            ).contains("must end after it starts"))
        #expect(
            problem(
                """
                tutorials:
                  terms:
                    - {name: "Autumn", starts: 2026-02-30, ends: 2026-12-18}

                """
            ).contains("YYYY-MM-DD"))
        #expect(
            problem(
                """
                tutorials:
                  reviews:
                    Diploma: fortnightly

                """
            ).contains("half-term or term"))
        #expect(
            problem(
                """
                tutorials:
                  reviews:
                    Diploma: term
                    diploma: half-term

                """
            ).contains("listed twice"))
        #expect(problem("tutorials:\n  notice-days: 0\n").contains("between 1 and 28"))
        #expect(problem("tutorials:\n  holidays: []\n").contains("unknown key 'holidays'"))
    }
}
