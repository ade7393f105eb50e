import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import Tutela
import TutelaTesting

@testable import TutelaServer

/// Each role's everyday journey over the API, as the command line's tests walk it.
@Suite struct FlowRouteTests {
    @Test func aConcernFlaggedQueuedDisclosedAndReviewed() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let price = try await api.signedIn("price")
            let dsl = try await api.signedIn("dsl")
            let head = try await api.signedIn("head")
            let record = try await api.seal(as: price, marker: "MARKER-SG", confidential: true)
            #expect(
                try await api.call(
                    .post, "/api/v1/records/\(record)/flag", as: .bearer(price),
                    body: #"{"reason": "CPOMS 4411"}"#
                ).status == .created)
            let queue = try await api.call(.get, "/api/v1/safeguarding/queue", as: .bearer(dsl))
            let items = try queue.json()["queue"] as? [[String: Any]] ?? []
            #expect(items.map { $0["record"] as? String } == [record])
            #expect(items.first?["flaggedBy"] as? String == "price")
            // A tutor is not the safeguarding team.
            #expect(
                try await api.call(.get, "/api/v1/safeguarding/queue", as: .bearer(price)).status
                    == .forbidden)
            let noReason = try await api.call(
                .post, "/api/v1/records/\(record)/disclose", as: .bearer(dsl),
                body: #"{"reason": " "}"#)
            #expect(noReason.status == .badRequest)
            let opened = try await api.call(
                .post, "/api/v1/records/\(record)/disclose", as: .bearer(dsl),
                body: #"{"reason": "following up CPOMS 4411"}"#)
            #expect(opened.status == .ok)
            #expect(opened.text.contains("MARKER-SG"))
            let inbox = try await api.call(.get, "/api/v1/inbox", as: .bearer(head))
            #expect(inbox.text.contains("disclose"))
            let reviews = try await api.call(
                .get, "/api/v1/safeguarding/reviews?pending=true", as: .bearer(head))
            let pending = try reviews.json()["reviews"] as? [[String: Any]] ?? []
            let review = try #require(pending.first?["review"] as? String)
            let done = try await api.call(
                .post, "/api/v1/safeguarding/reviews/\(review)", as: .bearer(head),
                body: #"{"outcome": "justified", "note": "proportionate"}"#)
            #expect(done.status == .created)
            let after = try await api.call(
                .get, "/api/v1/safeguarding/reviews?pending=true", as: .bearer(head))
            #expect((try after.json()["reviews"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func breakGlassNeedsItsQuorumAndOpensOnce() async throws {
        let h = try await Harness.make()
        try await h.centre.session("office").administration.enrol(
            "dsl2", name: "Deputy DSL", roles: [.safeguardingOfficer],
            passphrase: Centre<MemoryVaultStore>.passphrase("dsl2"))
        _ = try await h.centre.vault.unlock(
            "dsl", passphrase: Centre<MemoryVaultStore>.passphrase("dsl")
        )
        .lifecycle.syncGroup(.safeguardingOfficer)
        try await h.run { api in
            let price = try await api.signedIn("price")
            let dsl = try await api.signedIn("dsl")
            let dsl2 = try await api.signedIn("dsl2")
            let head = try await api.signedIn("head")
            let record = try await api.seal(as: price, marker: "MARKER-BG")
            let made = try await api.call(
                .post, "/api/v1/break-glass", as: .bearer(dsl),
                body: #"{"record": "\#(record)", "reason": "missing learner, police asking"}"#)
            #expect(made.status == .created)
            let request = try #require(try made.json()["request"] as? String)
            let early = try await api.call(
                .post, "/api/v1/break-glass/\(request)/open", as: .bearer(dsl))
            #expect(early.status == .forbidden)
            #expect(!early.text.contains("MARKER-BG"))
            let shown = try await api.call(
                .get, "/api/v1/break-glass/\(request)", as: .bearer(head))
            #expect(shown.status == .ok)
            #expect(try (shown.json()["label"] as? [String: Any])?["record"] as? String == record)
            #expect(!shown.text.contains("MARKER-BG"))
            #expect(
                try await api.call(
                    .post, "/api/v1/break-glass/\(request)/approve", as: .bearer(dsl)
                )
                .status == .forbidden, "never the requester")
            for approver in [head, dsl2] {
                let r = try await api.call(
                    .post, "/api/v1/break-glass/\(request)/approve", as: .bearer(approver))
                #expect(r.status == .ok)
            }
            let opened = try await api.call(
                .post, "/api/v1/break-glass/\(request)/open", as: .bearer(dsl))
            #expect(opened.status == .ok)
            #expect(opened.text.contains("MARKER-BG"))
            let again = try await api.call(
                .post, "/api/v1/break-glass/\(request)/open", as: .bearer(dsl))
            #expect(again.status != .ok, "once")
        }
    }

    @Test func anAdministratorEnrolsAndThePersonActivatesAndSignsIn() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let office = try await api.signedIn("office")
            let price = try await api.signedIn("price")
            let body = #"{"id": "kim", "name": "Kim Lee", "roles": ["tutor"]}"#
            #expect(
                try await api.call(.post, "/api/v1/principals", as: .bearer(price), body: body)
                    .status
                    == .forbidden)
            let invited = try await api.call(
                .post, "/api/v1/principals", as: .bearer(office), body: body)
            #expect(invited.status == .created)
            let code = try #require(try invited.json()["enrolmentCode"] as? String)
            let wrong = try await api.call(
                .post, "/api/v1/principals/kim/activate", as: .none,
                body: #"{"code": "AAAA-BBBB", "passphrase": "kim's own long passphrase"}"#)
            #expect(wrong.status != .created)
            let activated = try await api.call(
                .post, "/api/v1/principals/kim/activate", as: .none,
                body: #"{"code": "\#(code)", "passphrase": "kim's own long passphrase"}"#)
            #expect(activated.status == .created, "\(activated.text)")
            let kim = try await api.signIn("kim", passphrase: "kim's own long passphrase")
            #expect(kim.status == .created)
            // A learner joins Kim's caseload; a leaver's date is recorded.
            let learner = try await api.call(
                .post, "/api/v1/learners", as: .bearer(office),
                body: #"{"id": "jo", "name": "Jo Patel", "tutor": "kim", "programme": "Diploma"}"#)
            #expect(learner.status == .created)
            let left = try await api.call(
                .post, "/api/v1/learners/jo/leave", as: .bearer(office),
                body: #"{"date": "2026-11-01"}"#)
            #expect(left.status == .ok)
            // Revoked, Kim's session ends at once.
            let kimIn = SignedIn(
                token: try kim.json()["token"] as? String ?? "", csrf: "", cookie: "")
            #expect(try await api.call(.get, "/api/v1/records", as: .bearer(kimIn)).status == .ok)
            #expect(
                try await api.call(
                    .delete, "/api/v1/principals/kim?confirm=true", as: .bearer(office)
                )
                .status == .noContent)
            #expect(
                try await api.call(.get, "/api/v1/records", as: .bearer(kimIn)).status
                    == .unauthorized)
        }
    }

    @Test func retentionHoldsAndTheAuditLogOverTheAPI() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let price = try await api.signedIn("price")
            let hale = try await api.signedIn("hale")
            let record = try await api.seal(as: price, marker: "MARKER-RT")
            let check = try await api.call(
                .get, "/api/v1/retention?asOf=2026-12-01", as: .bearer(hale))
            #expect(check.status == .ok)
            #expect(try check.json()["asOf"] as? String == "2026-12-01")
            #expect(
                try await api.call(.get, "/api/v1/retention", as: .bearer(price)).status
                    == .forbidden)
            let held = try await api.call(
                .post, "/api/v1/records/\(record)/hold", as: .bearer(hale),
                body: #"{"reason": "subject access request"}"#)
            #expect(held.status == .created)
            let listed = try await api.call(.get, "/api/v1/retention", as: .bearer(hale))
            let rows = try listed.json()["held"] as? [[String: Any]] ?? []
            #expect(rows.map { $0["record"] as? String } == [record])
            #expect(
                try await api.call(
                    .delete, "/api/v1/records/\(record)/hold?reason=closed", as: .bearer(hale)
                ).status == .noContent)
            // Not due: destruction is refused and the record stays.
            let destroy = try await api.call(
                .post, "/api/v1/records/\(record)/destroy", as: .bearer(hale))
            #expect(destroy.status == .forbidden)
            #expect(
                try await api.call(.get, "/api/v1/records/\(record)", as: .bearer(price)).status
                    == .ok)
            let log = try await api.call(.get, "/api/v1/audit?record=\(record)", as: .bearer(hale))
            let actions = (try log.json()["entries"] as? [[String: Any]] ?? []).compactMap {
                $0["action"] as? String
            }
            #expect(actions.contains("hold") && actions.contains("open"))
            let checkpoint = try await api.call(
                .post, "/api/v1/audit/checkpoint", as: .bearer(hale))
            #expect(checkpoint.status == .created)
            #expect(checkpoint.headers[.contentType]?.hasPrefix("text/plain") == true)
            let verify = try await api.call(.get, "/api/v1/audit/verify", as: .bearer(hale))
            #expect(try verify.json()["ok"] as? Bool == true)
        }
    }

    @Test func signingInDoesTheWorkQueuedForThePerson() async throws {
        // The centre before its groups exist: the first officer's first sign-in makes the key.
        let h = try await Harness.make(groups: false)
        try await h.run { api in
            let response = try await api.signIn("dsl")
            #expect(response.status == .created)
            let notes = try response.json()["notes"] as? [String] ?? []
            #expect(notes.contains { $0.contains("safeguarding-officer group's first key") })
        }
        let directory = try await h.centre.vault.verifiedDirectory().1
        #expect(directory.groups[.safeguardingOfficer] != nil)
    }
}

/// Corrections, copies for a learner and certificates over the API.
@Suite struct CorrectionRouteTests {
    @Test func anAddendumAVoidAndALearnersOwnCopy() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let price = try await api.signedIn("price")
            let sam = try await api.signedIn("sam")
            let kept = try await api.seal(as: price, marker: "MARKER-KEPT")
            let flagged = try await api.seal(as: price, marker: "MARKER-FLAGGED")
            let mistaken = try await api.seal(as: price, marker: "MARKER-MISTAKE")
            let addendum = try await api.call(
                .post, "/api/v1/records/\(kept)/addenda", as: .bearer(price),
                body: #"{"text": "Absences were 4, not 3."}"#)
            #expect(addendum.status == .created)
            #expect(try addendum.json()["amends"] as? String == kept)
            let voided = try await api.call(
                .post, "/api/v1/records/\(mistaken)/void", as: .bearer(price),
                body: #"{"reason": "sealed for the wrong learner"}"#)
            #expect(voided.status == .created)
            _ = try await api.call(
                .post, "/api/v1/records/\(flagged)/flag", as: .bearer(price),
                body: #"{"reason": "CPOMS 9"}"#)
            // Staff must say who a copy is for; the learner gets their own.
            #expect(
                try await api.call(.get, "/api/v1/learners/sam/copy", as: .bearer(price)).status
                    == .badRequest)
            let copy = try await api.call(.get, "/api/v1/learners/sam/copy", as: .bearer(sam))
            #expect(copy.status == .ok)
            #expect(copy.text.contains("MARKER-KEPT"))
            #expect(copy.text.contains("Absences were 4"))
            for hidden in ["MARKER-FLAGGED", "MARKER-MISTAKE", flagged, mistaken] {
                #expect(!copy.text.contains(hidden))
            }
            #expect(!copy.text.lowercased().contains("flag"))
            let certificates = try await api.call(.get, "/api/v1/certificates", as: .bearer(price))
            #expect(certificates.status == .ok)
            #expect((try certificates.json()["certificates"] as? [Any])?.isEmpty == true)
            let none = try await api.call(
                .get, "/api/v1/records/\(kept)/certificate", as: .bearer(price))
            #expect(none.status == .notFound)
        }
    }

    @Test func contactsRegrantsAndANewGroupAnswerAsTheirCommands() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let office = try await api.signedIn("office")
            let contacts = try await api.call(
                .post, "/api/v1/learners/sam/contacts", as: .bearer(office),
                body: #"{"parents": [], "homeSchool": null}"#)
            #expect(contacts.status == .ok)
            #expect(try contacts.json()["learner"] as? String == "sam")
            #expect(try contacts.json()["parents"] as? [String] == [])
            let unknown = try await api.call(
                .post, "/api/v1/learners/sam/contacts", as: .bearer(office),
                body: #"{"parents": ["nobody-here"]}"#)
            #expect(unknown.status != .ok)
            let price = try await api.signedIn("price")
            let regranted = try await api.call(.post, "/api/v1/policy/regrant", as: .bearer(price))
            #expect(regranted.status == .ok)
            #expect(try regranted.json()["regranted"] as? [String] == [])
            // The officers' group has its key already: made once, never twice.
            let dsl = try await api.signedIn("dsl")
            let again = try await api.call(
                .post, "/api/v1/groups/safeguarding-officer", as: .bearer(dsl))
            #expect(again.status == .conflict)
        }
    }
}

/// `POST /api/v1/imports`: many forms in one request, as `tutela import` seals a file.
@Suite struct ImportRouteTests {
    @Test func formsAreCheckedWholeThenSealedOnceEach() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let price = try await api.signedIn("price")
            let ndjson: HTTPFields = [.contentType: "application/x-ndjson"]
            let lines = (0..<3).map {
                API.form(marker: "import \($0)").replacingOccurrences(of: "\n", with: " ")
            }
            // A bad line anywhere stores nothing, and is named.
            let bad = try await api.call(
                .post, "/api/v1/imports", as: .bearer(price),
                body: lines.joined(separator: "\n") + "\n{\"learner\": \"sam\"}\n", headers: ndjson)
            #expect(bad.status == .unprocessableContent)
            #expect(bad.text.contains("line 4"))
            #expect(try await h.centre.session("price").finding.records(RecordQuery()).total == 0)
            let first = try await api.call(
                .post, "/api/v1/imports", as: .bearer(price), body: lines.joined(separator: "\n"),
                headers: ndjson)
            #expect(first.status == .created)
            #expect((try first.json()["records"] as? [String])?.count == 3)
            // Sent again, nothing is sealed twice.
            let again = try await api.call(
                .post, "/api/v1/imports", as: .bearer(price), body: lines.joined(separator: "\n"),
                headers: ndjson)
            #expect((try again.json()["records"] as? [String])?.isEmpty == true)
            #expect((try again.json()["skipped"] as? [Any])?.count == 3)
            // Declared as anything else, it is refused before it is read.
            let plain = try await api.call(
                .post, "/api/v1/imports", as: .bearer(price), body: lines[0])
            #expect(plain.status == .unsupportedMediaType)
        }
        #expect(try await h.centre.session("price").finding.records(RecordQuery()).total == 3)
    }
}
