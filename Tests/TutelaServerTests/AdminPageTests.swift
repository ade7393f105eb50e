import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import Tutela
import TutelaTesting

@testable import TutelaServer

@Suite("Web pages: enrolling and revoking people, learners, the policy and explain-why")
struct AdminPageTests {
    @Test func anAdministratorEnrolsSomeoneAfterConfirmingItIsThemAndTheCodeSetsUpTheAccount()
        async throws
    {
        let h = try await Harness.make()
        try await h.run { api in
            let office = try await api.browse(as: "office")
            #expect(try await api.page("/people", as: office).text.contains("<td>price</td>"))
            // Signed in a while ago: the form asks for the passphrase again.
            h.clock.advance(minutes: 11)
            let fields = [("id", "patel"), ("name", "Ms Patel"), ("roles", "tutor")]
            let unconfirmed = try await api.form("/people", fields, as: office)
            #expect(unconfirmed.status == .badRequest)
            #expect(unconfirmed.text.contains("Enter your passphrase to confirm it is you"))
            let wrong = try await api.form(
                "/people", fields + [("confirmPassphrase", "not my passphrase at all")], as: office)
            #expect(wrong.text.contains("That passphrase and code are not right"))
            let code = try #require(try h.authenticators.code(for: "office"))
            let enrolled = try await api.form(
                "/people",
                fields + [("confirmPassphrase", API.passphrase("office")), ("confirmCode", code)],
                as: office)
            #expect(enrolled.status == .ok)
            let shown = String(
                try #require(
                    enrolled.text.firstMatch(of: /Enrolment code<\/dt><dd><strong>([^<]+)</)?.1))
            // A tutor may not enrol anyone.
            let price = try await api.browse(as: "price")
            let refused = try await api.form("/people", fields, as: price)
            #expect(refused.status != .ok || !refused.text.contains("Enrolment code"))

            // The person sets up their account with it, and signs in.
            let short = try await api.form(
                "/activate",
                [("principal", "patel"), ("code", shown), ("new", "short"), ("again", "short")],
                as: nil)
            #expect(short.status == .badRequest)
            let wrongCode = try await api.form(
                "/activate",
                [
                    ("principal", "patel"), ("code", "AAAA-BBBB-CCCC-DDDD"),
                    ("new", "patel's own long passphrase"),
                    ("again", "patel's own long passphrase"),
                ], as: nil)
            #expect(wrongCode.status == .unauthorized)
            let activated = try await api.form(
                "/activate",
                [
                    ("principal", "patel"), ("code", shown),
                    ("new", "patel's own long passphrase"),
                    ("again", "patel's own long passphrase"),
                ], as: nil)
            #expect(activated.text.contains("Your account is set up"))
            let signIn = try await api.form(
                "/sign-in",
                [("principal", "patel"), ("passphrase", "patel's own long passphrase")],
                as: nil)
            #expect(signIn.status == .seeOther)
        }
    }

    @Test func revokingWarnsOfRecordsThatWouldLoseEveryReaderBeforeAnythingIsDone() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let jones = try await api.signedIn("jones")
            let note = try await api.call(
                .post, "/api/v1/notes", as: .bearer(jones),
                body: #"{"learner": "alex", "date": "2026-11-20", "summary": "talked about exams"}"#
            )
            let record = try #require(try note.json()["record"] as? String)
            let office = try await api.browse(as: "office")
            let warned = try await api.form("/people/jones/revoke", [], as: office)
            #expect(warned.status == .conflict)
            #expect(warned.text.contains(record))
            #expect(warned.text.contains("Tick to revoke anyway"))
            // Nothing was revoked: jones still works.
            #expect(
                try await api.call(.get, "/api/v1/records", as: .bearer(jones)).status == .ok)
            let revoked = try await api.form(
                "/people/jones/revoke", [("confirm", "yes")], as: office)
            #expect(revoked.status == .seeOther)
            #expect(
                try await api.call(.get, "/api/v1/records", as: .bearer(jones)).status
                    == .unauthorized)
            #expect(try await api.page("/people", as: office).text.contains("revoked"))
        }
    }

    @Test func learnersAreAddedMovedAndMarkedLeftAndThePolicyExplainsItsDecisions()
        async throws
    {
        try await Harness.make().run { api in
            let office = try await api.browse(as: "office")
            let missing = try await api.form("/learners", [("id", "kim")], as: office)
            #expect(missing.status == .badRequest)
            #expect(missing.text.contains("Enter the learner&#39;s name"))
            #expect(missing.text.contains("Choose the learner&#39;s tutor"))
            let added = try await api.form(
                "/learners",
                [
                    ("id", "kim"), ("name", "Kim Lee"), ("tutor", "jones"), ("dob", "2010-05-01"),
                    ("programme", "Diploma"),
                ], as: office)
            #expect(added.status == .seeOther)
            #expect(try await api.page("/learners", as: office).text.contains("Kim Lee"))
            let moved = try await api.form("/learners/kim/tutor", [("tutor", "price")], as: office)
            #expect(moved.status == .seeOther)
            let price = try await api.browse(as: "price")
            #expect(try await api.page("/tutees", as: price).text.contains("Kim Lee"))
            let left = try await api.form(
                "/learners/kim/leave", [("date", "2026-11-20")], as: office)
            #expect(left.status == .seeOther)
            #expect(try await api.page("/learners", as: office).text.contains("2026-11-20"))

            let record = try await api.seal(as: try await api.signedIn("price"), marker: "x")
            let policy = try await api.page("/policy?record=\(record)&action=open", as: office)
            #expect(policy.status == .ok)
            #expect(policy.text.contains("Refused"))
            #expect(policy.text.contains("Who may do what"))
        }
    }
}
