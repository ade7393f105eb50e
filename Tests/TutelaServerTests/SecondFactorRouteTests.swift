import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import Tutela
import TutelaCrypto
import TutelaTesting

@testable import TutelaServer

/// A second factor over the API: enrolment first for those the policy requires it of, a code at
/// every sign-in after, each code once, recovery codes once, wrong codes throttled like wrong
/// passphrases and refused with the same answer.
@Suite struct SecondFactorRouteTests {
    static func body(_ fields: [String: String]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: fields), as: UTF8.self)
    }

    @Test func aRequiredRoleMustEnrolBeforeAnythingElse() async throws {
        let h = try await Harness.make(secondFactors: false)
        try await h.run { api in
            let signIn = try await api.signIn("dsl", code: "")
            #expect(signIn.status == .created)
            #expect(try signIn.json()["secondFactor"] as? String == "required")
            let token = try #require(try signIn.json()["token"] as? String)
            let dsl = SignedIn(
                token: token, csrf: try signIn.json()["csrf"] as? String ?? "", cookie: token)
            let queue = try await api.call(.get, "/api/v1/safeguarding/queue", as: .bearer(dsl))
            #expect(queue.status == .forbidden)
            #expect(queue.code == "second-factor-required")
            let shown = try await api.call(.get, "/api/v1/session", as: .bearer(dsl))
            #expect(try shown.json()["secondFactor"] as? String == "required")
            // Confirming before a key is offered, or with a code not from the key: refused.
            let early = try await api.call(
                .post, "/api/v1/session/second-factor/confirm", as: .bearer(dsl),
                body: try Self.body(["passphrase": API.passphrase("dsl"), "code": "123456"]))
            #expect(early.status == .conflict)
            let offer = try await api.call(.post, "/api/v1/session/second-factor", as: .bearer(dsl))
            #expect(offer.status == .created)
            let secret = try #require(try offer.json()["secret"] as? String)
            let uri = try #require(try offer.json()["uri"] as? String)
            #expect(uri.hasPrefix("otpauth://totp/Tutela:dsl?secret=\(secret)&issuer=Tutela"))
            #expect(secret.count == 32, "160 bits")
            let key = try SecretBytes(copying: try #require(Base32.decode(secret)))
            let now = h.authenticators.vaultClock.nextStep()
            let wrong = try await api.call(
                .post, "/api/v1/session/second-factor/confirm", as: .bearer(dsl),
                body: try Self.body([
                    "passphrase": API.passphrase("dsl"),
                    "code": try OneTimeCode.totp(key: key, time: now - 600),
                ]))
            #expect(wrong.status == .badRequest)
            let code = try OneTimeCode.totp(key: key, time: now)
            let badPassphrase = try await api.call(
                .post, "/api/v1/session/second-factor/confirm", as: .bearer(dsl),
                body: try Self.body(["passphrase": "not the officer's passphrase", "code": code]))
            #expect(badPassphrase.status == .unauthorized)
            let confirmed = try await api.call(
                .post, "/api/v1/session/second-factor/confirm", as: .bearer(dsl),
                body: try Self.body(["passphrase": API.passphrase("dsl"), "code": code]))
            #expect(confirmed.status == .created)
            let recovery = try confirmed.json()["recoveryCodes"] as? [String] ?? []
            #expect(recovery.count == 10)
            // The same session may now do all an officer may.
            #expect(
                try await api.call(.get, "/api/v1/safeguarding/queue", as: .bearer(dsl)).status
                    == .ok)
            // The key never reaches the server's log.
            #expect(!h.logs.all.contains(secret))
            #expect(!recovery.contains { h.logs.all.contains($0) })
        }
    }

    @Test func anEnrolledPersonNeedsACodeEveryTimeAndEachCodeOnce() async throws {
        let h = try await Harness.make { $0.failuresPerAccount = 20 }
        try await h.run { api in
            let refusal = try await api.signIn("dsl", passphrase: "wrong passphrase, long enough")
            #expect(refusal.status == .unauthorized)
            // Three wrong codes (a fourth would lock the codes out for a while).
            for code in ["", "000000", "not a code at all"] {
                let r = try await api.signIn("dsl", code: code)
                #expect(r.status == .unauthorized)
                #expect(r.text == refusal.text, "one answer, whatever part was wrong")
            }
            let code = try #require(try h.authenticators.code(for: "dsl"))
            #expect(try await api.signIn("dsl", code: code).status == .created)
            let replay = try await api.signIn("dsl", code: code)
            #expect(replay.status == .unauthorized)
            #expect(replay.text == refusal.text)
        }
    }

    @Test func aRecoveryCodeSignsInOnce() async throws {
        let h = try await Harness.make(secondFactors: false)
        try await h.run { api in
            let head = try await api.signedIn("head")
            let offer = try await api.call(
                .post, "/api/v1/session/second-factor", as: .bearer(head))
            let key = try SecretBytes(
                copying: try #require(Base32.decode(try offer.json()["secret"] as? String ?? "")))
            // Enrolling again replaces the first key (the harness enrolled one).
            let code = try OneTimeCode.totp(key: key, time: h.authenticators.vaultClock.nextStep())
            let withoutOld = try await api.call(
                .post, "/api/v1/session/second-factor/confirm", as: .bearer(head),
                body: try Self.body(["passphrase": API.passphrase("head"), "code": code]))
            #expect(withoutOld.status == .unauthorized, "replacing needs a code from the old app")
            let oldKey = try #require(h.authenticators.keys.withLock { $0["head"] })
            let confirmed = try await api.call(
                .post, "/api/v1/session/second-factor/confirm", as: .bearer(head),
                body: try Self.body([
                    "passphrase": API.passphrase("head"), "code": code,
                    "currentCode": try OneTimeCode.totp(
                        key: oldKey, time: h.authenticators.vaultClock.nextStep()),
                ]))
            let recovery = try #require(try confirmed.json()["recoveryCodes"] as? [String])
            // The code that confirmed it never signs in.
            #expect(try await api.signIn("head", code: code).status == .unauthorized)
            let first = try await api.signIn("head", code: recovery[0])
            #expect(first.status == .created)
            #expect(try first.json()["secondFactor"] as? String == "enrolled")
            #expect(try await api.signIn("head", code: recovery[0]).status == .unauthorized)
            let old = try #require(try h.authenticators.code(for: "head"))
            #expect(
                try await api.signIn("head", code: old).status == .unauthorized,
                "the replaced key's codes no longer sign in")
            #expect(try await api.signIn("head", code: recovery[1]).status == .created)
        }
    }

    @Test func wrongCodesAreThrottledLikeWrongPassphrases() async throws {
        let h = try await Harness.make { $0.failuresPerAccount = 3 }
        try await h.run { api in
            for _ in 0..<3 {
                #expect(try await api.signIn("head", code: "000000").status == .unauthorized)
            }
            let locked = try await api.signIn("head")
            #expect(locked.status == .tooManyRequests)
            #expect(locked.headers[.retryAfter] != nil)
        }
    }

    @Test func wrongCodesAfterTheRightPassphraseLockTheCodeOutAndAreAudited() async throws {
        let h = try await Harness.make { $0.failuresPerAccount = 50 }
        try await h.run { api in
            let refusal = try await api.signIn("dsl", code: "000001")
            #expect(refusal.status == .unauthorized)
            for _ in 0..<3 {
                #expect(try await api.signIn("dsl", code: "000001").status == .unauthorized)
            }
            // Four wrong codes: for a while not even the right one counts, and the answer is the
            // same refusal (it says nothing of the passphrase being right).
            let locked = try await api.signIn("dsl")
            #expect(locked.status == .unauthorized)
            #expect(locked.text == refusal.text)
            let hale = try await api.signedIn("hale")
            let log = try await api.call(.get, "/api/v1/audit", as: .bearer(hale))
            let refused = (try log.json()["entries"] as? [[String: Any]] ?? []).filter {
                $0["action"] as? String == "second-factor" && $0["outcome"] as? String == "denied"
            }
            #expect(refused.count == 5)
        }
    }

    @Test func enrollingEndsThePersonsOtherSessions() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let price = try await api.signedIn("price")
            let other = try await api.signedIn("price")
            try await api.enrol("price", price)
            #expect(
                try await api.call(.get, "/api/v1/session", as: .bearer(other)).status
                    == .unauthorized)
            #expect(try await api.call(.get, "/api/v1/session", as: .bearer(price)).status == .ok)
        }
    }

    @Test func everyRouteThatChangesWhoMayNeedsARecentSignIn() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let office = try await api.signedIn("office")
            h.clock.advance(minutes: 11)
            let yaml = String(decoding: try TestFiles.shippedPolicy().text, as: UTF8.self)
            let calls: [(HTTPRequest.Method, String, String?, HTTPFields)] = [
                (
                    .post, "/api/v1/principals",
                    #"{"id": "kim", "name": "Kim", "roles": ["tutor"]}"#, [:]
                ),
                (.post, "/api/v1/principals/price/rekey", nil, [:]),
                (.put, "/api/v1/principals/jones/roles", #"{"roles": ["tutor"]}"#, [:]),
                (.delete, "/api/v1/principals/jones", nil, [:]),
                (.put, "/api/v1/policy", yaml, [.contentType: "application/yaml"]),
                (.post, "/api/v1/learners/sam/contacts", #"{"parents": []}"#, [:]),
                (
                    .post, "/api/v1/learners/reassign", #"{"learners": ["sam"], "tutor": "jones"}"#,
                    [:]
                ),
                (.post, "/api/v1/recovery", #"{"principal": "price", "reason": "lost it"}"#, [:]),
                (.post, "/api/v1/recovery/IR-AAAA-AAAA-AAAA/approve", nil, [:]),
            ]
            for (method, uri, body, headers) in calls {
                let r = try await api.call(
                    method, uri, as: .bearer(office), body: body, headers: headers)
                #expect(r.code == "reauthenticate", "\(method) \(uri): \(r.text)")
            }
        }
    }

    @Test func aStolenTokenWithoutThePassphraseCannotLockThePersonOut() async throws {
        let h = try await Harness.make { $0.failuresPerAccount = 50 }
        try await h.run { api in
            let stolen = try await api.signedIn("dsl")
            _ = try await api.call(.post, "/api/v1/session/second-factor", as: .bearer(stolen))
            for _ in 0..<6 {
                let r = try await api.call(
                    .post, "/api/v1/session/second-factor/confirm", as: .bearer(stolen),
                    body: try Self.body([
                        "passphrase": "the thief does not know it", "code": "000000",
                        "currentCode": "000000",
                    ]))
                #expect(r.status == .unauthorized)
            }
            #expect(
                try await api.signIn("dsl").status == .created, "no code lock, no false entries")
            let hale = try await api.signedIn("hale")
            let log = try await api.call(.get, "/api/v1/audit", as: .bearer(hale))
            let refused = (try log.json()["entries"] as? [[String: Any]] ?? []).filter {
                $0["action"] as? String == "second-factor" && $0["outcome"] as? String == "denied"
            }
            #expect(refused.isEmpty)
        }
    }

    @Test func aLockedOutPersonIsFreedByReissuedKeys() async throws {
        let h = try await Harness.make { $0.failuresPerAccount = 50 }
        try await h.run { api in
            for _ in 0..<4 {
                #expect(try await api.signIn("head", code: "000000").status == .unauthorized)
            }
            #expect(try await api.signIn("head").status == .unauthorized, "locked")
            let office = try await api.signedIn("office")
            let rekeyed = try await api.call(
                .post, "/api/v1/principals/head/rekey", as: .bearer(office))
            let code = try #require(try rekeyed.json()["enrolmentCode"] as? String)
            let activated = try await api.call(
                .post, "/api/v1/principals/head/activate", as: .none,
                body: try Self.body(["code": code, "passphrase": "the head's fresh passphrase"]))
            #expect(activated.status == .created)
            let signIn = try await api.signIn(
                "head", passphrase: "the head's fresh passphrase", code: "")
            #expect(signIn.status == .created)
            #expect(try signIn.json()["secondFactor"] as? String == "required")
        }
    }

    @Test func oneRecoveryCodeRacedTwiceSignsInOnce() async throws {
        let h = try await Harness.make(secondFactors: false) { $0.parallelSignIns = 2 }
        try await h.run { api in
            let head = try await api.signedIn("head")
            let offer = try await api.call(
                .post, "/api/v1/session/second-factor", as: .bearer(head))
            // The harness enrolled head as they signed in; replaced here, for codes we know.
            let current = try #require(try h.authenticators.code(for: "head"))
            let newKey = try SecretBytes(
                copying: try #require(Base32.decode(try offer.json()["secret"] as? String ?? "")))
            let confirmed = try await api.call(
                .post, "/api/v1/session/second-factor/confirm", as: .bearer(head),
                body: try Self.body([
                    "passphrase": API.passphrase("head"),
                    "code": try OneTimeCode.totp(
                        key: newKey, time: h.authenticators.vaultClock.nextStep()),
                    "currentCode": current,
                ]))
            let recovery = try #require(try confirmed.json()["recoveryCodes"] as? [String])
            async let first = api.signIn("head", code: recovery[0])
            async let second = api.signIn("head", code: recovery[0])
            let statuses = [try await first.status, try await second.status]
            #expect(statuses.filter { $0 == .created }.count == 1, "\(statuses)")
        }
    }

    @Test func anEnrolOnlySessionReachesNoNewRoute() async throws {
        let h = try await Harness.make(secondFactors: false)
        try await h.run { api in
            let signIn = try await api.signIn("dsl", code: "")
            let token = try #require(try signIn.json()["token"] as? String)
            let dsl = SignedIn(token: token, csrf: "", cookie: token)
            for uri in [
                "/api/v1/principals", "/api/v1/learners", "/api/v1/policy", "/api/v1/groups",
                "/api/v1/recovery", "/api/v1/policy/regrant",
            ] {
                let r = try await api.call(.get, uri, as: .bearer(dsl))
                #expect(r.code == "second-factor-required", "\(uri)")
            }
        }
    }

    @Test func removingIsForThoseThePolicyDoesNotRequireItOf() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let dsl = try await api.signedIn("dsl")
            let refused = try await api.call(
                .delete, "/api/v1/session/second-factor", as: .bearer(dsl),
                body: try Self.body(["passphrase": API.passphrase("dsl"), "code": "000000"]))
            #expect(refused.status == .forbidden)
            let price = try await api.signedIn("price")
            #expect(
                try await api.call(.get, "/api/v1/session", as: .bearer(price)).json()[
                    "secondFactor"] as? String == "optional")
            try await api.enrol("price", price)
            #expect(try await api.signIn("price", code: "").status == .unauthorized)
            #expect(try await api.signIn("price").status == .created)
            let noCode = try await api.call(
                .delete, "/api/v1/session/second-factor", as: .bearer(price),
                body: try Self.body(["passphrase": API.passphrase("price"), "code": "000000"]))
            #expect(noCode.status == .unauthorized)
            let removed = try await api.call(
                .delete, "/api/v1/session/second-factor", as: .bearer(price),
                body: try Self.body([
                    "passphrase": API.passphrase("price"),
                    "code": try #require(try h.authenticators.code(for: "price")),
                ]))
            #expect(removed.status == .noContent)
            #expect(try await api.signIn("price", code: "").status == .created)
        }
    }
}
