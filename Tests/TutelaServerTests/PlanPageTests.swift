import Foundation
import HTTPTypes
import Testing
import Tutela
import TutelaTesting

@testable import TutelaServer

/// The planning page: reviews due, tutorials planned, a form to plan one, cancelling, the diary.
@Suite("Web pages: tutorial planning")
struct PlanPageTests {
    /// A served centre in the tests' own calendar (``TestFiles/calendar``).
    static func harness() async throws -> Harness {
        let harness = try await Harness.make()
        _ = try await harness.centre.session("office").administration.applyPolicy(
            TestFiles.policy(tutorials: TestFiles.calendar), source: "school.yaml")
        return harness
    }

    @Test func aTutorPlansFromThePageAndTheLearnerIsToldAndTheDiaryHasIt() async throws {
        let harness = try await Self.harness()
        try await harness.run { api in
            let price = try await api.browse(as: "price")
            let home = try await api.page("/", as: price)
            #expect(home.text.contains(#"href="/plans""#))
            // Nothing is due within the week of 21 November, so no reminder yet.
            #expect(!home.text.contains("to plan (due soon or missed)"))
            let page = try await api.page("/plans", as: price)
            #expect(page.status == .ok)
            #expect(
                page.text.contains("Reviews this term") && page.text.contains("Sam Taylor (sam)"))
            // Mistakes are named beside their boxes, and nothing is planned.
            let wrong = try await api.form(
                "/plans", [("learner", "sam"), ("day", ""), ("time", "25:00"), ("minutes", "30")],
                as: price)
            #expect(wrong.status == .unprocessableContent)
            #expect(wrong.text.contains("Enter the day") && wrong.text.contains("like 14:30"))
            // A day past is named beside the day's box, not another.
            let past = try await api.form(
                "/plans", [("learner", "sam"), ("day", "2026-11-01"), ("minutes", "30")],
                as: price)
            #expect(past.status == .unprocessableContent)
            let dayError = try #require(
                past.text.firstMatch(of: /id="f-day-error"[^>]*>(.*?)<\/p>/)?.1)
            #expect(dayError.contains("has passed"))
            // Sam signs in, so the page says a notice was sent (see the next test for one who
            // does not).
            let planned = try await api.submit(
                "/plans",
                [
                    ("learner", "sam"), ("day", "2026-12-08"), ("time", "10:00"),
                    ("minutes", "30"), ("place", "Room 4"), ("tellFamily", "no"),
                ], as: price)
            #expect(planned.status == .ok)
            #expect(planned.text.contains("Tutorial planned"))
            #expect(planned.text.contains("The learner has been sent a notice"))
            let id = try #require(planned.text.firstMatch(of: /Planned as (TP-[0-9A-Z-]+)/)?.1)
            #expect(planned.text.contains("Room 4"))
            let diary = try await api.page("/plans/calendar.ics", as: price)
            #expect(diary.status == .ok)
            #expect(diary.headers[.contentType]?.hasPrefix("text/calendar") == true)
            #expect(diary.text.contains("UID:\(id)@tutela") && diary.text.contains("S.T."))
            #expect(!diary.text.contains("Sam Taylor"))
            // Cancelling asks why, and the learner is told.
            let noReason = try await api.form("/plans/\(id)/cancel", [("reason", "")], as: price)
            #expect(noReason.status == .unprocessableContent)
            let cancelled = try await api.submit(
                "/plans/\(id)/cancel", [("reason", "tutor at a course")], as: price)
            #expect(cancelled.text.contains("Tutorial cancelled"))
            let told = try await harness.centre.vault.unlock(
                "sam", passphrase: Centre<MemoryVaultStore>.passphrase("sam")
            ).inbox().map { $0.entry.action }
            #expect(told.contains(.plan) && told.contains(.planCancel))
            // A week before the end of term, Sam's review is due with nothing planned: the home
            // page says so, and the planning page marks it.
            harness.authenticators.vaultClock.advance(days: 21)
            let later = try await api.page("/", as: price)
            #expect(later.text.contains("review to plan (due soon or missed)"))
            #expect(try await api.page("/plans", as: price).text.contains("Due soon"))
        }
    }

    @Test func theNextTutorialAgreedOnTheWebFormBecomesAPlan() async throws {
        let harness = try await Self.harness()
        try await harness.run { api in
            let price = try await api.browse(as: "price")
            let sealed = try await api.submit(
                "/tutorials", PageTests.tutorial + [("nextTutorial", "2026-12-15")], as: price)
            #expect(sealed.text.contains("Record sealed"))
            let plans = try await api.page("/plans", as: price)
            #expect(plans.text.contains("2026-12-15") && plans.text.contains("To agree"))
            let told = try await harness.centre.vault.unlock(
                "sam", passphrase: Centre<MemoryVaultStore>.passphrase("sam")
            ).inbox().compactMap { $0.entry.reason }
            #expect(told.contains { $0.contains("2026-12-15, time to be agreed") })
        }
    }

    @Test func theDataOfficerDownloadsTheILRRecordAndNoOneElseDoes() async throws {
        let harness = try await Harness.make()
        try await harness.run { api in
            let price = try await api.browse(as: "price")
            let marker = "Talked about money worries"
            _ = try await api.submit(
                "/tutorials", PageTests.tutorial + [("comments", marker)], as: price)
            #expect(try await api.page("/ilr.csv", as: price).status == .forbidden)
            try await harness.centre.session("office").administration.enrol(
                "data", name: "Dee Data", roles: [.ilrOfficer],
                passphrase: Centre<MemoryVaultStore>.passphrase("data"))
            let data = try await api.browse(as: "data")
            #expect(try await api.page("/", as: data).text.contains(#"href="/ilr""#))
            #expect(try await api.page("/ilr", as: data).status == .ok)
            let csv = try await api.page("/ilr.csv?from=2026-11-01&to=", as: data)
            #expect(csv.status == .ok)
            #expect(csv.headers[.contentType]?.hasPrefix("text/csv") == true)
            #expect(
                csv.text.hasPrefix("learner,date,kind,who,record\nsam,2026-11-20,tutorial,price,R-")
            )
            #expect(!csv.text.contains(marker))
            #expect(try await api.page("/ilr.csv?from=yesterday", as: data).status == .badRequest)
        }
        #expect(!harness.logs.all.contains("Talked about money worries"))
    }

    @Test func aLearnerWithoutASignInIsToBeToldInPerson() async throws {
        let harness = try await Self.harness()
        try await harness.run { api in
            let jones = try await api.browse(as: "jones")
            let planned = try await api.submit(
                "/plans", [("learner", "alex"), ("day", "2026-12-01"), ("minutes", "30")],
                as: jones)
            #expect(planned.text.contains("tell them the day, time and place yourself"))
        }
    }

    @Test func planningIsForTutorsAndHeadsOnly() async throws {
        let harness = try await Harness.make()
        try await harness.run { api in
            for who in ["sam", "hale"] {
                let visitor = try await api.browse(as: who)
                let page = try await api.page("/plans", as: visitor)
                #expect(page.status == .forbidden, "\(who)")
                let home = try await api.page("/", as: visitor)
                #expect(!home.text.contains(#"href="/plans""#), "\(who)")
            }
        }
    }
}
