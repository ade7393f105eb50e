import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import Tutela
import TutelaCrypto
import TutelaTesting

@testable import TutelaServer

/// The routes for the rest of the command line: a person's own passphrase, the directory's lists
/// and changes, groups, the policy, identity recovery, retention reviews and checkpoints — each
/// the same decision and JSON as its command.
@Suite struct AdministrationRouteTests {
    static func body(_ fields: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: fields), as: UTF8.self)
    }

    @Test func aPassphraseChangeKeepsTheSecondFactorAndEndsEverySession() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let dsl = try await api.signedIn("dsl")
            let other = try await api.signedIn("dsl")
            let new = "the officer's brand new passphrase"
            let wrong = try await api.call(
                .post, "/api/v1/session/passphrase", as: .bearer(dsl),
                body: try Self.body([
                    "passphrase": "not the passphrase at all", "newPassphrase": new,
                ]))
            #expect(wrong.status == .unauthorized)
            let short = try await api.call(
                .post, "/api/v1/session/passphrase", as: .bearer(dsl),
                body: try Self.body(["passphrase": API.passphrase("dsl"), "newPassphrase": "short"])
            )
            #expect(short.status == .badRequest)
            let noCode = try await api.call(
                .post, "/api/v1/session/passphrase", as: .bearer(dsl),
                body: try Self.body(["passphrase": API.passphrase("dsl"), "newPassphrase": new]))
            #expect(noCode.status == .unauthorized, "a code from the app too")
            let changed = try await api.call(
                .post, "/api/v1/session/passphrase", as: .bearer(dsl),
                body: try Self.body([
                    "passphrase": API.passphrase("dsl"), "newPassphrase": new,
                    "code": try #require(try h.authenticators.code(for: "dsl")),
                ]))
            #expect(changed.status == .ok)
            #expect(try changed.json()["passphraseChanged"] as? Bool == true)
            for session in [dsl, other] {
                #expect(
                    try await api.call(.get, "/api/v1/session", as: .bearer(session)).status
                        == .unauthorized)
            }
            #expect(try await api.signIn("dsl").status == .unauthorized, "the old passphrase")
            #expect(
                try await api.signIn("dsl", passphrase: new, code: "").status == .unauthorized,
                "the second factor came with the new keys")
            let again = try await api.signIn("dsl", passphrase: new)
            #expect(again.status == .created)
            #expect(try again.json()["secondFactor"] as? String == "enrolled")
        }
    }

    @Test func theDirectoryIsListedAndChangedAsTheCommandsDo() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let office = try await api.signedIn("office")
            let price = try await api.signedIn("price")
            let people = try await api.call(.get, "/api/v1/principals", as: .bearer(office))
            let ids = (try people.json()["principals"] as? [[String: Any]] ?? []).compactMap {
                $0["id"] as? String
            }
            #expect(ids.contains("price") && ids.contains("dsl"))
            let tutees = try await api.call(.get, "/api/v1/learners", as: .bearer(price))
            let learners = try tutees.json()["learners"] as? [[String: Any]] ?? []
            #expect(learners.compactMap { $0["id"] as? String } == ["sam"], "a tutor, their own")
            #expect(learners.first?["tutorName"] as? String == "Price")
            let refused = try await api.call(
                .post, "/api/v1/learners/sam/contacts", as: .bearer(price),
                body: try Self.body(["parents": [String]()]))
            #expect(refused.status == .forbidden)
            let moved = try await api.call(
                .post, "/api/v1/learners/reassign", as: .bearer(office),
                body: try Self.body(["learners": ["alex"], "tutor": "price"]))
            #expect(moved.status == .ok)
            #expect(try moved.json()["moved"] as? [String] == ["alex"])
            let both = try await api.call(
                .post, "/api/v1/learners/reassign", as: .bearer(office),
                body: try Self.body(["learners": ["alex"], "from": "jones", "tutor": "price"]))
            #expect(both.status == .badRequest)
            _ = try await api.call(
                .post, "/api/v1/learners/sam/leave", as: .bearer(office),
                body: #"{"date": "2026-07-20"}"#)
            let corrected = try await api.call(
                .post, "/api/v1/learners/sam/correct-leaving", as: .bearer(office),
                body: try Self.body(["notLeft": true, "reason": "entered for the wrong learner"]))
            #expect(corrected.status == .ok)
            #expect(try corrected.json()["left"] as? Bool == false)
            let roles = try await api.call(
                .put, "/api/v1/principals/jones/roles", as: .bearer(office),
                body: try Self.body(["roles": ["tutor", "record-keeper"]]))
            #expect(roles.status == .ok)
            #expect(try roles.json()["roles"] as? [String] == ["tutor", "record-keeper"])
        }
    }

    @Test func thePolicyIsShownCheckedAppliedAndExplained() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let office = try await api.signedIn("office")
            let price = try await api.signedIn("price")
            let shown = try await api.call(.get, "/api/v1/policy", as: .bearer(price))
            #expect(shown.status == .ok)
            let version = try #require(try shown.json()["version"] as? Int)
            #expect(
                try shown.json()["secondFactorRoles"] as? [String] == [
                    "admin", "head-of-centre", "safeguarding-officer",
                ])
            let yaml = String(decoding: try TestFiles.shippedPolicy().text, as: UTF8.self)
            let headers: HTTPFields = [.contentType: "application/yaml"]
            let checked = try await api.call(
                .post, "/api/v1/policy/check", as: .bearer(price), body: yaml, headers: headers)
            #expect(checked.status == .ok)
            #expect(try checked.json()["valid"] as? Bool == true)
            let broken = try await api.call(
                .post, "/api/v1/policy/check", as: .bearer(price), body: yaml + "\nnonsense: [",
                headers: headers)
            #expect(broken.status == .badRequest)
            let asJSON = try await api.call(
                .post, "/api/v1/policy/check", as: .bearer(price), body: "{}")
            #expect(asJSON.status == .unsupportedMediaType)
            #expect(
                try await api.call(
                    .put, "/api/v1/policy", as: .bearer(price), body: yaml, headers: headers
                ).status == .forbidden)
            let applied = try await api.call(
                .put, "/api/v1/policy?source=school.yaml", as: .bearer(office), body: yaml,
                headers: headers)
            #expect(applied.status == .created)
            #expect(try applied.json()["version"] as? Int == version + 1)
            let record = try await api.seal(as: price, marker: "MARKER-EXPLAIN")
            let explained = try await api.call(
                .get, "/api/v1/records/\(record)/explain?action=open", as: .bearer(price))
            #expect(explained.status == .ok)
            #expect(try explained.json()["decision"] as? String == "allow")
            #expect(!explained.text.contains("MARKER-EXPLAIN"))
            let badAction = try await api.call(
                .get, "/api/v1/records/\(record)/explain?action=fly", as: .bearer(price))
            #expect(badAction.status == .badRequest)
            let pending = try await api.call(.get, "/api/v1/policy/regrant", as: .bearer(price))
            #expect(try pending.json()["pending"] as? [String] == [])
        }
    }

    @Test func aPolicyThatShortensSessionsBindsFromTheNextRequest() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let price = try await api.signedIn("price")
            let office = try await api.signedIn("office")
            let yaml =
                String(decoding: try TestFiles.shippedPolicy().text, as: UTF8.self)
                + "\nsessions:\n  idle-minutes: 5\n"
            let applied = try await api.call(
                .put, "/api/v1/policy?source=school.yaml", as: .bearer(office), body: yaml,
                headers: [.contentType: "application/yaml"])
            #expect(applied.status == .created)
            // Price's next request verifies the new policy; six idle minutes then end it.
            #expect(try await api.call(.get, "/api/v1/session", as: .bearer(price)).status == .ok)
            h.clock.advance(minutes: 6)
            #expect(
                try await api.call(.get, "/api/v1/session", as: .bearer(price)).status
                    == .unauthorized)
        }
    }

    @Test func issuingCredentialsNeedsARecentSignIn() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let office = try await api.signedIn("office")
            let price = try await api.signedIn("price")
            h.clock.advance(minutes: 11)
            #expect(try await api.call(.get, "/api/v1/session", as: .bearer(office)).status == .ok)
            let stale = try await api.call(
                .post, "/api/v1/principals/price/rekey", as: .bearer(office))
            #expect(stale.status == .forbidden)
            #expect(stale.code == "reauthenticate")
            let wrong = try await api.call(
                .post, "/api/v1/session/confirm", as: .bearer(office),
                body: try Self.body(["passphrase": "not the office passphrase"]))
            #expect(wrong.status == .unauthorized)
            let confirmed = try await api.call(
                .post, "/api/v1/session/confirm", as: .bearer(office),
                body: try Self.body([
                    "passphrase": API.passphrase("office"),
                    "code": try #require(try h.authenticators.code(for: "office")),
                ]))
            #expect(confirmed.status == .noContent)
            // A role that needs a second factor, given mid-session, binds at the next request.
            let roles = try await api.call(
                .put, "/api/v1/principals/price/roles", as: .bearer(office),
                body: try Self.body(["roles": ["tutor", "safeguarding-officer"]]))
            #expect(roles.status == .ok)
            let restricted = try await api.call(.get, "/api/v1/records", as: .bearer(price))
            #expect(restricted.code == "second-factor-required")
        }
    }

    @Test func aCodeSpentAtSignInDoesNotAlsoReplaceTheApp() async throws {
        let h = try await Harness.make { $0.failuresPerAccount = 50 }
        try await h.run { api in
            let code = try #require(try h.authenticators.code(for: "dsl"))
            let signIn = try await api.signIn("dsl", code: code)
            let token = try #require(try signIn.json()["token"] as? String)
            let dsl = SignedIn(token: token, csrf: "", cookie: token)
            let offer = try await api.call(.post, "/api/v1/session/second-factor", as: .bearer(dsl))
            let key = try SecretBytes(
                copying: try #require(Base32.decode(try offer.json()["secret"] as? String ?? "")))
            let newCode = try OneTimeCode.totp(
                key: key, time: h.authenticators.vaultClock.nextStep())
            let replayed = try await api.call(
                .post, "/api/v1/session/second-factor/confirm", as: .bearer(dsl),
                body: try Self.body([
                    "passphrase": API.passphrase("dsl"), "code": newCode, "currentCode": code,
                ]))
            #expect(replayed.status == .unauthorized)
            // Wrong current codes count toward the code lock, as wrong codes at sign-in do.
            for _ in 0..<3 {
                _ = try await api.call(
                    .post, "/api/v1/session/second-factor/confirm", as: .bearer(dsl),
                    body: try Self.body([
                        "passphrase": API.passphrase("dsl"), "code": newCode,
                        "currentCode": "000000",
                    ]))
            }
            #expect(try await api.signIn("dsl").status == .unauthorized, "locked for a while")
        }
    }

    @Test func cancellingOnesOwnRecoveryChecksThePassphraseFirst() async throws {
        let h = try await Harness.make { $0.failuresPerAccount = 50 }
        try await h.run { api in
            let price = try await api.signedIn("price")
            let office = try await api.signedIn("office")
            let asked = try await api.call(
                .post, "/api/v1/recovery", as: .bearer(office),
                body: try Self.body(["principal": "price", "reason": "a call nobody expected"]))
            let request = try #require(try asked.json()["request"] as? String)
            let forged = try await api.call(
                .post, "/api/v1/recovery/\(request)/cancel", as: .bearer(price),
                body: try Self.body(["passphrase": "a passphrase the thief chose"]))
            #expect(forged.status == .unauthorized)
            // Refused before anything: the request is still open, and the old passphrase works.
            let cancelled = try await api.call(
                .post, "/api/v1/recovery/\(request)/cancel", as: .bearer(price),
                body: try Self.body(["passphrase": API.passphrase("price")]))
            #expect(cancelled.status == .ok, "\(cancelled.text)")
            #expect(try await api.signIn("price").status == .created)
        }
    }

    @Test func groupsAreListedRotatedAndRewrapped() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let dsl = try await api.signedIn("dsl")
            let listed = try await api.call(.get, "/api/v1/groups", as: .bearer(dsl))
            let roles = (try listed.json()["groups"] as? [[String: Any]] ?? []).compactMap {
                $0["role"] as? String
            }
            #expect(roles.contains("safeguarding-officer"))
            let rotated = try await api.call(
                .post, "/api/v1/groups/safeguarding-officer/rotate", as: .bearer(dsl))
            #expect(rotated.status == .created)
            #expect(try rotated.json()["version"] as? Int == 2)
            let rewrapped = try await api.call(
                .post, "/api/v1/groups/safeguarding-officer/rewrap?batch=100", as: .bearer(dsl))
            #expect(rewrapped.status == .ok)
            #expect(try rewrapped.json()["group"] as? String == "group:safeguarding-officer#2")
            let synced = try await api.call(
                .post, "/api/v1/groups/safeguarding-officer/sync", as: .bearer(dsl))
            #expect(synced.status == .ok)
            #expect(
                try await api.call(.post, "/api/v1/groups/wizard/rotate", as: .bearer(dsl)).status
                    == .badRequest)
        }
    }

    @Test func aLostPassphraseIsRecoveredByTheQuorumOverTheAPI() async throws {
        let h = try await Harness.make { $0.failuresPerAccount = 20 }
        try await h.run { api in
            // Price's first sign-in keeps their keys in escrow (the catch-up every command does).
            _ = try await api.signedIn("price")
            let office = try await api.signedIn("office")
            let asked = try await api.call(
                .post, "/api/v1/recovery", as: .bearer(office),
                body: try Self.body([
                    "principal": "price", "reason": "asked at the office, in person",
                ]))
            #expect(asked.status == .created)
            let request = try #require(try asked.json()["request"] as? String)
            let code = try #require(try asked.json()["recoveryCode"] as? String)
            #expect(!h.logs.all.contains(code))
            let head = try await api.signedIn("head")
            let listed = try await api.call(.get, "/api/v1/recovery", as: .bearer(head))
            #expect(
                (try listed.json()["requests"] as? [[String: Any]])?.first?["request"] as? String
                    == request)
            let new = "price's passphrase after the holiday"
            let early = try await api.call(
                .post, "/api/v1/principals/price/recover", as: .none,
                body: try Self.body(["code": code, "passphrase": new]))
            #expect(early.status == .unauthorized, "not approved yet")
            for approver in [head, try await api.signedIn("dsl")] {
                let approved = try await api.call(
                    .post, "/api/v1/recovery/\(request)/approve", as: .bearer(approver))
                #expect(approved.status == .ok)
            }
            let wrong = try await api.call(
                .post, "/api/v1/principals/price/recover", as: .none,
                body: try Self.body(["code": "AAAA-BBBB-CCCC-DDDD", "passphrase": new]))
            #expect(wrong.status == .unauthorized)
            #expect(wrong.text == early.text, "one answer for every refusal")
            let recovered = try await api.call(
                .post, "/api/v1/principals/price/recover", as: .none,
                body: try Self.body(["code": code, "passphrase": new]))
            #expect(recovered.status == .created)
            #expect(try recovered.json()["recovered"] as? Bool == true)
            #expect(try await api.signIn("price").status == .unauthorized)
            #expect(try await api.signIn("price", passphrase: new).status == .created)
        }
    }

    @Test func reviewsRekeysAndCheckpointsAnswerAsTheCommandsDo() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let hale = try await api.signedIn("hale")
            let price = try await api.signedIn("price")
            let record = try await api.seal(as: price, marker: "MARKER-REVIEW")
            for bad in [
                ["outcome": "maybe", "reason": "x"], ["outcome": "keep", "reason": "x"],
                ["outcome": "destroy", "until": "2030-01-01", "reason": "x"],
            ] {
                let r = try await api.call(
                    .post, "/api/v1/records/\(record)/review", as: .bearer(hale),
                    body: try Self.body(bad))
                #expect(r.status == .badRequest)
            }
            let early = try await api.call(
                .post, "/api/v1/records/\(record)/review", as: .bearer(hale),
                body: try Self.body(["outcome": "destroy", "reason": "period over"]))
            #expect(early.status != .ok, "a record whose period has not ended is not reviewed")
            #expect(!early.text.contains("MARKER-REVIEW"))
            let checkpoint = try await api.call(
                .post, "/api/v1/audit/checkpoint", as: .bearer(hale))
            let verified = try await api.call(
                .post, "/api/v1/audit/verify", as: .bearer(hale),
                body: try Self.body(["checkpoint": checkpoint.text]))
            #expect(verified.status == .ok)
            #expect(try verified.json()["ok"] as? Bool == true)
            let forged = try await api.call(
                .post, "/api/v1/audit/verify", as: .bearer(hale),
                body: try Self.body([
                    "checkpoint": checkpoint.text.replacingOccurrences(
                        of: "entries", with: "entrees")
                ]))
            #expect(forged.status != .ok)
            let office = try await api.signedIn("office")
            let rekeyed = try await api.call(
                .post, "/api/v1/principals/price/rekey", as: .bearer(office))
            #expect(rekeyed.status == .created)
            let code = try #require(try rekeyed.json()["enrolmentCode"] as? String)
            #expect(
                try await api.call(.get, "/api/v1/session", as: .bearer(price)).status
                    == .unauthorized, "their sessions end")
            let activated = try await api.call(
                .post, "/api/v1/principals/price/activate", as: .none,
                body: try Self.body(["code": code, "passphrase": "price's new keys passphrase"]))
            #expect(activated.status == .created)
            #expect(try activated.json()["active"] as? Bool == true)
        }
    }
}
