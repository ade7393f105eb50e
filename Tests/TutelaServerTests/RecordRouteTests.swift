import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import Tutela
import TutelaTesting

@testable import TutelaServer

/// Sealing, listing, opening and flagging over HTTP: the CLI's decisions and JSON, audited first,
/// and errors mapped as the contract says — with no content where it must not be.
@Suite struct RecordRouteTests {
    @Test func aTutorSealsListsAndOpensAndTheOpenIsAudited() async throws {
        let h = try await Harness.make()
        let record = try await h.run { api in
            let price = try await api.signedIn("price")
            let record = try await api.seal(as: price, marker: "reads fluently now")
            let list = try await api.call(.get, "/api/v1/records?learner=sam", as: .bearer(price))
            #expect(list.status == .ok)
            let rows = try list.json()["records"] as? [[String: Any]] ?? []
            #expect(rows.map { $0["record"] as? String } == [record])
            #expect(!list.text.contains("reads fluently"), "a list is labels only")
            let opened = try await api.call(.get, "/api/v1/records/\(record)", as: .bearer(price))
            #expect(opened.status == .ok)
            let form = try opened.json()["form"] as? [String: Any]
            #expect(form?["comments"] as? String == "reads fluently now")
            #expect(opened.headers[.cacheControl] == "no-store")
            return record
        }
        let log = try await h.centre.session("hale").auditLog(record: try RecordID(record))
        #expect(log.map(\.entry.action).contains(.open))
        #expect(log.filter { $0.entry.action == .open }.allSatisfy { $0.entry.actor == "price" })
    }

    @Test func whatPolicyRefusesIsRefusedAndAudited() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let price = try await api.signedIn("price")
            let jones = try await api.signedIn("jones")
            let sam = try await api.signedIn("sam")
            let record = try await api.seal(as: price, marker: "MARKER-7Q2Z", confidential: true)
            let refused = try await api.call(.get, "/api/v1/records/\(record)", as: .bearer(jones))
            #expect(refused.status == .forbidden)
            #expect(refused.code == "denied")
            #expect(!refused.text.contains("MARKER-7Q2Z"))
            // Flagged, it becomes a record a learner may not know of: 404, as for no record.
            let flag = try await api.call(
                .post, "/api/v1/records/\(record)/flag", as: .bearer(price),
                body: #"{"reason": "ref SG-12"}"#)
            #expect(flag.status == .created)
            let hidden = try await api.call(.get, "/api/v1/records/\(record)", as: .bearer(sam))
            #expect(hidden.status == .notFound)
            let none = try await api.call(
                .get, "/api/v1/records/R-AAAA-BBBB-CCCC", as: .bearer(sam))
            #expect(
                hidden.text.replacingOccurrences(of: record, with: "R-AAAA-BBBB-CCCC") == none.text)
            let listed = try await api.call(.get, "/api/v1/records", as: .bearer(sam))
            #expect(!listed.text.contains(record))
            #expect(!listed.text.lowercased().contains("flag"))
        }
        let denied = try await h.centre.session("hale").auditLog(record: nil).filter {
            $0.entry.outcome == .denied && $0.entry.actor == "jones"
        }
        #expect(denied.count == 1)
        #expect(!h.logs.all.contains("MARKER-7Q2Z"), "the server's log holds no content")
    }

    @Test func errorsMapToTheContractsStatusesAndCodes() async throws {
        let h = try await Harness.make { $0.maximumBody = 4096 }
        try await h.run { api in
            let price = try await api.signedIn("price")
            let anonymous = try await api.call(.get, "/api/v1/records", as: .none)
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.code == "unauthenticated")
            let missing = try await api.call(
                .get, "/api/v1/records/R-AAAA-BBBB-CCCC", as: .bearer(price))
            #expect(missing.status == .notFound)
            #expect(missing.code == "not-found")
            let badID = try await api.call(.get, "/api/v1/records/-bad", as: .bearer(price))
            #expect(badID.status == .badRequest)
            let mistyped = try await api.call(
                .post, "/api/v1/tutorials?confidential=yes", as: .bearer(price),
                body: API.form(marker: "never sealed"))
            #expect(mistyped.status == .badRequest, "a mistyped flag never seals as ordinary")
            let badForm = try await api.call(
                .post, "/api/v1/tutorials", as: .bearer(price),
                body: #"{"learner": "sam", "date": "2026-13-45", "course": "x"}"#)
            #expect(badForm.status == .unprocessableContent)
            #expect(badForm.code == "invalid-input")
            #expect(badForm.text.contains("date"), "the message names the field")
            let notJSON = try await api.call(
                .post, "/api/v1/records/R-AAAA-BBBB-CCCC/flag", as: .bearer(price), body: "{")
            #expect(notJSON.status == .badRequest)
            #expect(notJSON.code == "invalid-input")
            let missingField = try await api.call(
                .post, "/api/v1/records/R-AAAA-BBBB-CCCC/flag", as: .bearer(price), body: "{}")
            #expect(missingField.text.contains("'reason' is missing"))
            let huge = try await api.call(
                .post, "/api/v1/tutorials", as: .bearer(price),
                body: String(repeating: " ", count: 5000))
            #expect(huge.status == .contentTooLarge)
            let nowhere = try await api.call(.get, "/api/v1/nowhere", as: .bearer(price))
            #expect(nowhere.status == .notFound)
            #expect(nowhere.code == "not-found")
            for response in [anonymous, missing, badForm, huge, nowhere] {
                #expect(
                    response.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'")
                        == true)
                #expect(response.headers[.cacheControl] == "no-store")
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
            }
        }
    }

    @Test func aTamperedRecordIs500TamperedAndReleasesNothing() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let price = try await api.signedIn("price")
            let record = try RecordID(try await api.seal(as: price, marker: "MARKER-T4MP"))
            await h.centre.store.tamper(record: record) {
                var sealed = $0.sealedBytes
                sealed[sealed.count - 1] ^= 1
                return StoredRecord(
                    record: $0.record, labelBytes: $0.labelBytes, sealedBytes: sealed,
                    slots: $0.slots)
            }
            let opened = try await api.call(.get, "/api/v1/records/\(record)", as: .bearer(price))
            #expect(opened.status == .internalServerError)
            #expect(opened.code == "tampered")
            #expect(!opened.text.contains("MARKER-T4MP"))
        }
    }

    @Test func anAuditEntryThatCannotBeWrittenReleasesNothing() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let price = try await api.signedIn("price")
            let record = try await api.seal(as: price, marker: "MARKER-BUSY")
            await h.centre.store.failTransactions(
                with: TutelaError(.tryAgain, "the disk is full"))
            let opened = try await api.call(.get, "/api/v1/records/\(record)", as: .bearer(price))
            await h.centre.store.failTransactions(with: nil)
            #expect(opened.status == .serviceUnavailable)
            #expect(opened.code == "busy")
            #expect(opened.headers[.retryAfter] != nil)
            #expect(!opened.text.contains("MARKER-BUSY"))
        }
    }

    @Test func manyPeopleAtOnceLoseAndReorderNothing() async throws {
        let h = try await Harness.make()
        let (before, sealed, opens) = try await h.run { api in
            let price = try await api.signedIn("price")
            let jones = try await api.signedIn("jones")
            // Signing in does their queued work (escrow, grants), which writes entries of its own.
            let before = try await h.centre.vault.verifyAudit(checkpoint: nil).entries
            let records = try await withThrowingTaskGroup(of: String.self) { group in
                for i in 0..<8 {
                    group.addTask {
                        i % 2 == 0
                            ? try await api.seal(as: price, marker: "p\(i)")
                            : try await api.seal(as: jones, learner: "alex", marker: "j\(i)")
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            let opened = try await withThrowingTaskGroup(of: Int.self) { group in
                for record in records {
                    for who in [price, jones] {
                        group.addTask {
                            try await api.call(.get, "/api/v1/records/\(record)", as: .bearer(who))
                                .status == .ok ? 1 : 0
                        }
                    }
                }
                return try await group.reduce(0, +)
            }
            return (before, records.count, opened)
        }
        #expect(sealed == 8)
        #expect(opens == 8, "each tutor opens their own four")
        let report = try await h.centre.vault.verifyAudit(checkpoint: nil)
        // A seal, and an open allowed or denied, each leave exactly one entry.
        #expect(report.entries == before + 8 + 16)
    }
}

/// `/metrics`: counts and latencies for a monitor, never an id, a name or contents.
@Suite struct MetricsTests {
    @Test func metricsCountByRoutePatternAndNameNoOne() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let price = try await api.signedIn("price")
            _ = try await api.signIn("price", passphrase: "not the passphrase at all")
            let record = try await api.seal(as: price, marker: "MARKER-METRICS")
            _ = try await api.call(.get, "/api/v1/records/\(record)", as: .bearer(price))
            let metrics = try await api.call(.get, "/metrics", as: .none)
            #expect(metrics.status == .ok)
            let text = metrics.text
            #expect(
                text.contains(
                    #"tutela_http_requests_total{route="/api/v1/records/{id}",status="200"} 1"#))
            #expect(text.contains(#"tutela_sign_ins_attempts_total{outcome="refused"} 1"#))
            #expect(text.contains("tutela_sessions_held 1"))
            #expect(text.contains("tutela_http_request_duration_seconds_bucket"))
            for secret in [record, "price", "MARKER-METRICS", "sam"] {
                #expect(!text.contains(secret))
            }
            // Through a proxy (anyone but a monitor on this machine) it is not there: counts by
            // route would tell a family when a flag or a break-glass happened.
            let proxied = try await api.call(
                .get, "/metrics", as: .none, headers: [HTTPField.Name("X-Real-IP")!: "10.0.0.9"])
            #expect(proxied.status == .notFound)
        }
    }
}
