import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import Tutela
import TutelaTesting

@testable import TutelaServer

@Suite("Web pages: the record keeper's retention dashboard, holds, destruction by two people")
struct RetentionPageTests {
    @Test func aRecordIsHeldReleasedAndDestroyedByTwoPeopleWithItsCertificate() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let record = try await api.seal(as: try await api.signedIn("price"), marker: "to go")
            try await h.centre.session("office").administration.learnerLeft(
                "sam", on: try #require(CalendarDate("2026-11-21")))
            // A break-glass request on it, long expired by the time it is destroyed.
            let dsl = try await api.browse(as: "dsl")
            _ = try await api.form(
                "/records/\(record)/break-glass", [("reason", "police asking")], as: dsl)
            let hale = try await api.browse(as: "hale")
            let board = try await api.page("/retention?asOf=2035-04-01", as: hale)
            #expect(board.status == .ok)
            #expect(board.text.contains("As of 2035-04-01"))
            #expect(board.text.contains("/records/\(record)/destroy"))
            #expect(!board.text.contains("to go"))
            let csv = try await api.page("/retention.csv?asOf=2035-04-01", as: hale)
            #expect(csv.headers[.contentType] == "text/csv; charset=utf-8")
            #expect(csv.headers[.contentDisposition]?.contains("attachment") == true)
            #expect(csv.text.hasPrefix(RetentionStatus.csvHeader))
            #expect(csv.text.contains("\(record),"))
            #expect(csv.text.contains(",due,"))
            // A tutor has no dashboard.
            let price = try await api.browse(as: "price")
            #expect(try await api.page("/retention", as: price).status == .forbidden)

            // Held: no one may destroy it; the reason is required.
            #expect(
                try await api.form("/records/\(record)/hold", [("reason", "")], as: hale).status
                    == .badRequest)
            let held = try await api.form(
                "/records/\(record)/hold", [("reason", "subject access request 9")], as: hale)
            #expect(held.status == .seeOther)
            let whileHeld = try await api.page("/retention?asOf=2035-04-01", as: hale)
            #expect(whileHeld.text.contains("/records/\(record)/release"))
            h.authenticators.vaultClock.advance(days: 365 * 9)
            let refused = try await api.form("/records/\(record)/destroy", [], as: hale)
            #expect(refused.status == .forbidden)
            _ = try await api.form(
                "/records/\(record)/release", [("reason", "request answered")], as: hale)

            // Two people: the keeper proposes, and may not agree with themselves.
            let proposed = try await api.submit("/records/\(record)/destroy", [], as: hale)
            #expect(proposed.text.contains("Destruction proposed"))
            let alone = try await api.form("/records/\(record)/destroy", [], as: hale)
            #expect(alone.status == .forbidden)
            let head = try await api.browse(as: "head")
            let agreed = try await api.form("/records/\(record)/destroy", [], as: head)
            #expect(agreed.status == .seeOther)
            #expect(agreed.headers[.location] == "/certificates/\(record)")
            let certificate = try await api.page("/certificates/\(record)", as: hale)
            #expect(certificate.text.contains(record))
            #expect(certificate.text.contains("hale") && certificate.text.contains("head"))
            let file = try await api.page("/certificates/\(record)/download", as: hale)
            #expect(
                file.headers[.contentDisposition]?.contains("certificate-\(record).txt") == true)
            #expect(try await api.page("/certificates", as: hale).text.contains(record))
            let gone = try await api.form("/records/\(record)/open", [], as: price)
            #expect(gone.status != .ok)
            // Its request is left out of every list; the head's home page still works.
            #expect(try await api.page("/", as: head).status == .ok)
            let requests = try await api.page("/break-glass", as: head)
            #expect(requests.status == .ok)
            #expect(!requests.text.contains(record))
        }
    }
}
