import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import Tutela
import TutelaTesting

@testable import TutelaServer

@Suite("Web pages: break-glass, declining, reviews after the fact")
struct SafeguardingPageTests {
    @Test func aBreakGlassRequestIsShownToItsApproversDeclinedWithAReasonAndOpenedOnce()
        async throws
    {
        let h = try await Harness.make()
        try await h.centre.session("office").administration.enrol(
            "dsl2", name: "Deputy DSL", roles: [.safeguardingOfficer],
            passphrase: Centre<MemoryVaultStore>.passphrase("dsl2"))
        _ = try await h.centre.vault.unlock(
            "dsl", passphrase: Centre<MemoryVaultStore>.passphrase("dsl")
        ).lifecycle.syncGroup(.safeguardingOfficer)
        try await h.run { api in
            let record = try await api.seal(
                as: try await api.signedIn("price"), marker: "MARKER-BG-PAGE")
            let dsl = try await api.browse(as: "dsl")
            let records = try await api.page("/records?learner=sam", as: dsl)
            #expect(records.text.contains("/records/\(record)/break-glass"))
            let bare = try await api.form(
                "/records/\(record)/break-glass", [("reason", "")], as: dsl)
            #expect(bare.status == .badRequest)
            let sent = try await api.submit(
                "/records/\(record)/break-glass", [("reason", "police asking, case 12")], as: dsl)
            #expect(sent.text.contains("Request sent"))
            let request = String(
                try #require(sent.text.firstMatch(of: /Request (BG-[0-9A-Z-]+)/)?.1))
            #expect(
                try await api.page("/break-glass", as: dsl).text.contains("Waiting for approval"))

            // The head sees who asks, for which record, and why — and may not approve twice.
            let head = try await api.browse(as: "head")
            let home = try await api.page("/", as: head)
            #expect(home.text.contains("1</strong>break-glass request for you"))
            let asked = try await api.page("/break-glass", as: head)
            #expect(asked.text.contains("Dee Sloane (dsl)") || asked.text.contains("(dsl)"))
            #expect(asked.text.contains("police asking, case 12"))
            #expect(asked.text.contains("/break-glass/\(request)/approve"))
            #expect(!asked.text.contains("MARKER-BG-PAGE"))
            let unreasoned = try await api.form(
                "/break-glass/\(request)/decline", [("reason", " ")], as: head)
            #expect(unreasoned.status == .badRequest)
            let declined = try await api.submit(
                "/break-glass/\(request)/decline", [("reason", "ask the family first")], as: head)
            #expect(declined.text.contains("Request declined"))
            let told = try await api.page("/", as: dsl)
            #expect(told.text.contains("declined a break-glass request"))

            // A tutor is asked nothing and may approve nothing.
            let price = try await api.browse(as: "price")
            #expect(!(try await api.page("/break-glass", as: price).text.contains(request)))
            let refused = try await api.form("/break-glass/\(request)/approve", [], as: price)
            #expect(refused.status == .forbidden)

            // Declining is one approver's say: two others may still approve, and it opens once.
            _ = try await h.centre.vault.unlock(
                "dsl2", passphrase: Centre<MemoryVaultStore>.passphrase("dsl2")
            ).breakGlass.approve(try Tutela.RequestID(request))
            let approved = try await api.submit("/break-glass/\(request)/approve", [], as: head)
            #expect(approved.text.contains("2 of the 2 approvals"))
            let ready = try await api.page("/break-glass", as: dsl)
            #expect(ready.text.contains("Approved: you may open it"))
            let opened = try await api.form("/break-glass/\(request)/open", [], as: dsl)
            #expect(opened.status == .ok)
            #expect(opened.text.contains("MARKER-BG-PAGE"))
            let again = try await api.form("/break-glass/\(request)/open", [], as: dsl)
            #expect(again.status == .forbidden)
            #expect(!again.text.contains("MARKER-BG-PAGE"))

            // The head reviews the opening after the fact.
            let reviews = try await api.page("/reviews", as: head)
            let item = String(
                try #require(reviews.text.firstMatch(of: /Opening (RV-[0-9A-Z-]+)/)?.1))
            let incomplete = try await api.form(
                "/reviews/\(item)", [("note-\(item)", "no outcome given")], as: head)
            #expect(incomplete.status == .badRequest)
            #expect(incomplete.text.contains("Choose justified or not justified"))
            let reviewed = try await api.form(
                "/reviews/\(item)",
                [("outcome-\(item)", "justified"), ("note-\(item)", "police case was live")],
                as: head)
            #expect(reviewed.status == .seeOther)
            let after = try await api.page("/reviews", as: head)
            #expect(after.text.contains("police case was live"))
        }
    }

    @Test func theAPIListsRequestsAndDeclinesThemToo() async throws {
        try await Harness.make().run { api in
            let record = try await api.seal(as: try await api.signedIn("price"), marker: "steady")
            let dsl = try await api.signedIn("dsl")
            let made = try await api.call(
                .post, "/api/v1/break-glass", as: .bearer(dsl),
                body: #"{"record": "\#(record)", "reason": "police asking"}"#)
            let request = try #require(try made.json()["request"] as? String)
            let head = try await api.signedIn("head")
            let listed = try await api.call(.get, "/api/v1/break-glass", as: .bearer(head))
            #expect(listed.text.contains(#""mayApprove":true"#))
            #expect(!listed.text.contains("steady"))
            let declined = try await api.call(
                .post, "/api/v1/break-glass/\(request)/decline", as: .bearer(head),
                body: #"{"reason": "ask the family"}"#)
            #expect(declined.status == .ok)
            let own = try await api.call(
                .post, "/api/v1/break-glass/\(request)/decline",
                as: .bearer(dsl), body: #"{"reason": "changed my mind"}"#)
            #expect(own.status == .forbidden)
            let sam = try await api.signedIn("sam")
            let nothing = try await api.call(.get, "/api/v1/break-glass", as: .bearer(sam))
            #expect(nothing.text == #"{"requests":[]}"#)
        }
    }

    @Test func aLearnerIsNeverToldOfABreakGlassOnTheirRecord() async throws {
        try await Harness.make().run { api in
            let record = try await api.seal(as: try await api.signedIn("price"), marker: "steady")
            let dsl = try await api.browse(as: "dsl")
            _ = try await api.form(
                "/records/\(record)/break-glass", [("reason", "police asking")], as: dsl)
            let sam = try await api.browse(as: "sam")
            for path in ["/", "/records", "/break-glass"] {
                let page = try await api.page(path, as: sam)
                #expect(!page.text.lowercased().contains("police"), "\(path)")
                #expect(!page.text.contains("BG-"), "\(path)")
            }
        }
    }
}
