import Testing
import TutelaTesting

@testable import Tutela

/// Dates as they can be (#21): nothing sealed about a day still to come or before the learner was
/// born, no leaver recorded before birth, no date of birth to come. The fixture's clock reads
/// 2026-11-21 (UTC).
@Suite("Dates against reality")
struct RealDatesTests {
    func form(date: String, learner: String = "sam") throws -> ProgressReview {
        let json = #"{"learner": "\#(learner)", "date": "\#(date)", "course": "Maths"}"#
        return try ProgressReview.parse(Array(json.utf8), source: "test form")
    }

    @Test(
        "a tutorial dated after tomorrow or before the learner's birth is refused, nothing sealed")
    func sealDates() async throws {
        let f = try await Fixture.make()
        let price = try await f.session("price")
        let before = try await f.store.labels(learner: nil).count
        let future = await expectError(.invalidInput) {
            try await price.seal(try form(date: "2026-11-23"), confidential: true)
        }
        #expect(
            future?.message == "field 'date': 2026-11-23 is in the future (today is 2026-11-21)")
        let unborn = await expectError(.invalidInput) {
            try await price.seal(try form(date: "2010-03-13"), confidential: true)
        }
        #expect(unborn?.message.contains("before sam's date of birth (2010-03-14)") == true)
        // One bad form stops the whole batch.
        await expectError(.invalidInput) {
            try await price.sealBatch([
                (try form(date: "2026-11-20"), true), (try form(date: "2027-01-01"), true),
            ])
        }
        #expect(try await f.store.labels(learner: nil).count == before)
        // Today, and tomorrow (a centre east of UTC is a day ahead for some hours), are allowed;
        // so is any date for a learner whose birth date is not recorded.
        _ = try await price.seal(try form(date: "2026-11-21"), confidential: true)
        _ = try await price.seal(try form(date: "2026-11-22"), confidential: true)
        _ = try await price.seal(try form(date: "1990-01-01", learner: "alex"), confidential: true)
    }

    @Test(
        "a leaving date before the learner's birth is refused; one ahead (a course's end) is kept")
    func leavingDates() async throws {
        let f = try await Fixture.make()
        let office = try await f.session("office")
        let unborn = await expectError(.invalidInput) {
            try await office.administration.learnerLeft(
                "sam", on: try #require(CalendarDate("2009-07-20")))
        }
        #expect(unborn?.message.contains("before sam's date of birth") == true)
        let notYetBorn = await expectError(.invalidInput) {
            try await office.administration.addLearner(
                "kit", name: "Kit", tutor: "price",
                dateOfBirth: try #require(CalendarDate("2031-03-14")), programme: nil)
        }
        #expect(notYetBorn?.message.contains("is in the future") == true)
        try await office.administration.learnerLeft(
            "sam", on: try #require(CalendarDate("2027-07-20")))
        #expect(
            try await f.session("office").directory.learners["sam"]?.leftOn?.description
                == "2027-07-20")
    }
}
