// Over 400 lines: sessions and the hardening the red team asked for (throttle, CSRF, origin,
// caps, proxies, loopback) share the same harness and read best side by side.
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import Tutela
import TutelaTesting

@testable import TutelaServer

/// Signing in and out, tokens, cookies, CSRF, expiry, revocation and the throttle.
@Suite struct SessionTests {
    @Test func signInGivesATokenACookieAndACSRFToken() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let response = try await api.signIn("price")
            #expect(response.status == .created)
            let json = try response.json()
            #expect(json["principal"] as? String == "price")
            #expect(json["roles"] as? [String] == ["tutor"])
            let token = try #require(json["token"] as? String)
            #expect(token.count >= 43)
            #expect((json["csrf"] as? String)?.count ?? 0 >= 43)
            let cookie = try #require(response.headers[.setCookie])
            #expect(cookie.hasPrefix("tutela_session=\(token);"))
            #expect(cookie.contains("HttpOnly"))
            #expect(cookie.contains("SameSite=Strict"))
            #expect(!cookie.contains("Secure"), "no Secure attribute over plain HTTP")
            #expect(response.headers[.cacheControl] == "no-store")
            let who = SignedIn(token: token, csrf: "", cookie: token)
            let me = try await api.call(.get, "/api/v1/session", as: .bearer(who))
            #expect(me.status == .ok)
            #expect(try me.json()["principal"] as? String == "price")
            #expect(try me.json()["token"] == nil, "a token is shown once, at sign-in")
        }
        // Kept only as a hash: the table holds no token that signs in.
        #expect(await h.server.state.sessions.count == 1)
    }

    @Test func everyRefusedSignInLooksTheSame() async throws {
        let h = try await Harness.make()
        _ = try await h.centre.session("office").administration.revoke("jones", confirmed: true)
        try await h.run { api in
            let wrong = try await api.signIn("price", passphrase: "not the passphrase at all")
            let unknown = try await api.signIn("nobody", passphrase: "not the passphrase at all")
            let revoked = try await api.signIn("jones")
            for response in [wrong, unknown, revoked] {
                #expect(response.status == .unauthorized)
                #expect(response.code == "unauthenticated")
                #expect(response.text == wrong.text)
                #expect(response.headers[.setCookie] == nil)
            }
        }
    }

    @Test func failedSignInsAreThrottledPerAccount() async throws {
        let h = try await Harness.make { $0.failuresPerAccount = 3 }
        try await h.run { api in
            for _ in 0..<3 {
                let r = try await api.signIn("price", passphrase: "not the passphrase at all")
                #expect(r.status == .unauthorized)
            }
            // Locked: even the right passphrase waits, and no Argon2id runs for it.
            let locked = try await api.signIn("price")
            #expect(locked.status == .tooManyRequests)
            #expect(locked.code == "too-many")
            let wait = try #require(locked.headers[.retryAfter].flatMap { Int($0) })
            #expect(wait > 0 && wait <= 15 * 60)
            // Another account from the same address is not locked out by price's failures.
            #expect(try await api.signIn("jones").status == .created)
            h.clock.advance(minutes: 16)
            #expect(try await api.signIn("price").status == .created)
        }
    }

    @Test func failedSignInsAreThrottledPerAddress() async throws {
        let h = try await Harness.make { $0.failuresPerAddress = 4 }
        try await h.run { api in
            for id in ["price", "jones", "hale", "dsl"] {
                _ = try await api.signIn(id, passphrase: "not the passphrase at all")
            }
            let r = try await api.signIn("head")
            #expect(r.status == .tooManyRequests)
            #expect(r.headers[.retryAfter] != nil)
        }
    }

    @Test func aCookieNeedsTheCSRFTokenToChangeAnything() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let price = try await api.signedIn("price")
            let form = API.form(marker: "csrf check")
            let bare = try await api.call(
                .post, "/api/v1/tutorials", as: .cookie(price, csrf: false), body: form)
            #expect(bare.status == .forbidden)
            #expect(bare.code == "denied")
            let wrong = SignedIn(
                token: price.token, csrf: String(repeating: "A", count: 43), cookie: price.cookie)
            #expect(
                try await api.call(.post, "/api/v1/tutorials", as: .cookie(wrong), body: form)
                    .status
                    == .forbidden)
            #expect(
                try await api.call(.post, "/api/v1/tutorials", as: .cookie(price), body: form)
                    .status
                    == .created)
            // Reading with the cookie needs it too (an open is a read, audited under their name);
            // a Bearer token (a script's) needs none.
            #expect(
                try await api.call(.get, "/api/v1/records", as: .cookie(price, csrf: false)).status
                    == .forbidden)
            #expect(try await api.call(.get, "/api/v1/records", as: .cookie(price)).status == .ok)
            #expect(
                try await api.call(.post, "/api/v1/tutorials", as: .bearer(price), body: form)
                    .status
                    == .created)
        }
        // Only the two accepted seals reached the vault.
        let labels = try await h.centre.session("price").finding.records(RecordQuery())
        #expect(labels.total == 2)
    }

    @Test func signingOutEndsTheSession() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let price = try await api.signedIn("price")
            let out = try await api.call(.delete, "/api/v1/session", as: .cookie(price))
            #expect(out.status == .noContent)
            #expect(out.headers[.setCookie]?.contains("Max-Age=0") == true)
            #expect(
                try await api.call(.get, "/api/v1/session", as: .bearer(price)).status
                    == .unauthorized)
            #expect(
                try await api.call(.get, "/api/v1/records", as: .bearer(price)).code
                    == "unauthenticated")
        }
        #expect(await h.server.state.sessions.count == 0)
    }

    @Test func anIdleSessionEndsAfterFifteenMinutes() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let price = try await api.signedIn("price")
            h.clock.advance(minutes: 14)
            #expect(try await api.call(.get, "/api/v1/session", as: .bearer(price)).status == .ok)
            h.clock.advance(minutes: 14)  // 14 minutes since last used: still signed in
            #expect(try await api.call(.get, "/api/v1/session", as: .bearer(price)).status == .ok)
            h.clock.advance(minutes: 15.1)
            #expect(
                try await api.call(.get, "/api/v1/session", as: .bearer(price)).status
                    == .unauthorized)
        }
        #expect(await h.server.state.sessions.count == 0)
    }

    @Test func aBusySessionEndsAfterEightHours() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let price = try await api.signedIn("price")
            for _ in 0..<47 {  // every 10 minutes for 7 h 50 min
                h.clock.advance(minutes: 10)
                #expect(
                    try await api.call(.get, "/api/v1/session", as: .bearer(price)).status == .ok)
            }
            h.clock.advance(minutes: 10.1)
            #expect(
                try await api.call(.get, "/api/v1/session", as: .bearer(price)).status
                    == .unauthorized)
        }
    }

    @Test func theSweepEndsSessionsNoOneCameBackTo() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            _ = try await api.signedIn("price")
            _ = try await api.signedIn("jones")
        }
        #expect(await h.server.state.sessions.count == 2)
        h.clock.advance(minutes: 16)
        await h.server.state.sessions.sweep()
        #expect(await h.server.state.sessions.count == 0)
    }

    @Test func aRevokedPersonIsSignedOutAtTheirNextRequest() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let jones = try await api.signedIn("jones")
            #expect(try await api.call(.get, "/api/v1/records", as: .bearer(jones)).status == .ok)
            _ = try await h.centre.session("office").administration.revoke("jones", confirmed: true)
            let after = try await api.call(.get, "/api/v1/records", as: .bearer(jones))
            #expect(after.status == .unauthorized)
            #expect(after.code == "unauthenticated")
            #expect(
                try await api.call(.get, "/api/v1/session", as: .bearer(jones)).status
                    == .unauthorized)
        }
        #expect(await h.server.state.sessions.count == 0)
    }

    @Test func signingInNeverKeepsATokenItWasSent() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let first = try await api.signedIn("price")
            let again = try await api.signIn("price", cookie: first.token)
            #expect(again.status == .created)
            let second = try #require(try again.json()["token"] as? String)
            #expect(second != first.token)
            #expect(
                try await api.call(.get, "/api/v1/session", as: .bearer(first)).status
                    == .unauthorized)
            // A token made up by an attacker and planted in a browser signs in no one.
            let planted = SignedIn(
                token: "attacker-chosen-token", csrf: "", cookie: "attacker-chosen-token")
            #expect(
                try await api.call(.get, "/api/v1/session", as: .bearer(planted)).status
                    == .unauthorized)
        }
    }

    @Test func signInsBeyondTheQueueAreRefusedAtOnce() async throws {
        let gate = SignInGate(parallel: 1, queue: 1)
        try await gate.enter()
        let waiting = Task { try await gate.enter() }
        while await gate.waitingCount == 0 { await Task.yield() }
        let third = await #expect(throws: TutelaError.self) { try await gate.enter() }
        #expect(third?.kind == .tryAgain)
        await gate.leave()
        try await waiting.value
        await gate.leave()
        try await gate.enter()
    }
}

/// What the red team found in the first server (`SecurityHardeningTests`): each attack that
/// landed, as a test that failed before its fix.
@Suite struct SecurityHardeningTests {
    @Test func activationRefusalsTellNothingAndAreThrottled() async throws {
        let h = try await Harness.make { $0.failuresPerAccount = 3 }
        _ = try await h.centre.session("office").administration.invite(
            "kim", name: "Kim Lee", roles: [.tutor])
        try await h.run { api in
            func activate(_ id: String, code: String) async throws -> TestResponse {
                try await api.call(
                    .post, "/api/v1/principals/\(id)/activate", as: .none,
                    body: #"{"code": "\#(code)", "passphrase": "a long enough passphrase"}"#)
            }
            let unknown = try await activate("nobody", code: "AAAA-BBBB-CCCC")
            let enrolled = try await activate("price", code: "AAAA-BBBB-CCCC")
            let pending = try await activate("kim", code: "AAAA-BBBB-CCCC")
            let malformed = try await activate("kim", code: "x")
            for r in [unknown, enrolled, pending, malformed] {
                #expect(r.status == .unauthorized)
                #expect(r.text == unknown.text)
            }
            // Kim's account has had three failures (pending, malformed, and now a third): locked.
            _ = try await activate("KIM", code: "x")
            #expect(try await activate("kim", code: "x").status == .tooManyRequests)
            // A short passphrase is said plainly, before anyone is looked up.
            let short = try await api.call(
                .post, "/api/v1/principals/zed/activate", as: .none,
                body: #"{"code": "x", "passphrase": "short"}"#)
            #expect(short.status == .badRequest)
        }
    }

    @Test func anIdTypedInAnotherCaseIsTheSameAccountToTheThrottle() async throws {
        let h = try await Harness.make { $0.failuresPerAccount = 3 }
        try await h.run { api in
            for id in ["price", "PRICE", "Price"] {
                let r = try await api.signIn(id, passphrase: "not the passphrase at all")
                #expect(r.status == .unauthorized)
            }
            let locked = try await api.signIn("pRiCe")
            #expect(locked.status == .tooManyRequests)
        }
    }

    @Test func attemptsUnderWayCountAgainstTheAllowance() async throws {
        var configuration = ServerConfiguration()
        configuration.failuresPerAccount = 3
        let throttle = SignInThrottle(configuration: configuration, now: { 100 })
        for _ in 0..<3 {
            #expect(await throttle.begin(account: "price", address: "10.0.0.1") == nil)
        }
        // Three guesses in flight at once: a fourth waits, however many the gate could take.
        #expect(await throttle.begin(account: "price", address: "10.0.0.2") != nil)
        await throttle.end(account: "price", address: "10.0.0.1", outcome: .succeeded)
        #expect(await throttle.begin(account: "price", address: "10.0.0.2") == nil)
    }

    @Test func aBusyAnswerNeverClearsAnAccountsFailures() async {
        var configuration = ServerConfiguration()
        configuration.failuresPerAccount = 2
        let throttle = SignInThrottle(configuration: configuration, now: { 100 })
        #expect(await throttle.begin(account: "price", address: "10.0.0.1") == nil)
        await throttle.end(account: "price", address: "10.0.0.1", outcome: .failed)
        // The gate full: "busy". Counted as neither, the failure before it still stands.
        #expect(await throttle.begin(account: "price", address: "10.0.0.2") == nil)
        await throttle.end(account: "price", address: "10.0.0.2", outcome: .undecided)
        #expect(await throttle.begin(account: "price", address: "10.0.0.3") == nil)
        await throttle.end(account: "price", address: "10.0.0.3", outcome: .failed)
        #expect(await throttle.begin(account: "price", address: "10.0.0.4") != nil)
    }

    @Test func aRequestFromAnotherSiteIsRefused() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            for site in ["cross-site", "same-site"] {
                let r = try await api.signIn(
                    "price", headers: [HTTPField.Name("Sec-Fetch-Site")!: site])
                #expect(r.status == .forbidden)
                #expect(r.headers[.setCookie] == nil)
            }
            #expect(
                try await api.signIn(
                    "price", headers: [HTTPField.Name("Sec-Fetch-Site")!: "same-origin"]
                )
                .status == .created)
            // A body that is not declared JSON (what a form on another page sends) is refused.
            let form = try await api.client.execute(
                uri: "/api/v1/session", method: .post,
                headers: [.contentType: "text/plain"],
                body: ByteBuffer(string: #"{"principal": "price", "passphrase": "x"}"#))
            #expect(form.status == .unsupportedMediaType)
        }
    }

    @Test func onePersonHoldsAtMostFiveSessions() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let first = try await api.signedIn("price")
            for _ in 0..<5 { _ = try await api.signedIn("price") }
            #expect(
                try await api.call(.get, "/api/v1/session", as: .bearer(first)).status
                    == .unauthorized)
        }
        #expect(await h.server.state.sessions.count == 5)
    }

    @Test func onlyWholeLogReadersVerifyTheLogAndItIsAudited() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let sam = try await api.signedIn("sam")
            let hale = try await api.signedIn("hale")
            let refused = try await api.call(.get, "/api/v1/audit/verify", as: .bearer(sam))
            #expect(refused.status == .forbidden)
            #expect(!refused.text.contains("entries"))
            #expect(
                try await api.call(.get, "/api/v1/audit/verify", as: .bearer(hale)).status == .ok)
        }
        let reads = try await h.centre.session("hale").auditLog(record: nil).filter {
            $0.entry.action == .auditRead
        }
        #expect(reads.contains { $0.entry.actor == "sam" && $0.entry.outcome == .denied })
    }

    @Test func behindAProxyTheClientsAddressIsTheProxysWord() async throws {
        let h = try await Harness.make {
            $0.behindProxy = true
            $0.failuresPerAddress = 2
        }
        try await h.run { api in
            let from = { (ip: String) -> HTTPFields in [HTTPField.Name("X-Real-IP")!: ip] }
            for id in ["price", "jones"] {
                _ = try await api.signIn(
                    id, passphrase: "not the passphrase", headers: from("10.0.0.1"))
            }
            #expect(
                try await api.signIn("hale", headers: from("10.0.0.1")).status == .tooManyRequests)
            #expect(try await api.signIn("hale", headers: from("10.0.0.2")).status == .created)
            // Not an address: ignored (the connection's own address counts instead).
            #expect(try await api.signIn("dsl", headers: from("x; DROP")).status == .created)
        }
        var loose = ServerConfiguration()
        loose.behindProxy = true
        loose.host = "0.0.0.0"
        loose.insecureHTTP = true
        var refused = false
        do { try loose.validate() } catch { refused = error.kind == .usage }
        #expect(refused)
    }

    @Test func onlyAnAddressIn127IsLoopback() {
        var c = ServerConfiguration()
        for (host, loopback) in [
            ("127.0.0.1", true), ("127.1.2.3", true), ("localhost", true), ("::1", true),
            ("127.evil.example", false), ("127.0.0.1.example", false), ("0.0.0.0", false),
            ("10.0.0.1", false),
        ] {
            c.host = host
            #expect(c.isLoopback == loopback, "\(host)")
        }
    }
}

/// The policy's `sessions:` section shortens the server's limits, never lengthens them.
@Suite struct PolicySessionLimitTests {
    static func policy(_ sessions: String) throws -> [UInt8] {
        try TestFiles.shippedPolicy().text + Array("\nsessions:\n\(sessions)\n".utf8)
    }

    @Test func thePolicyShortensTheIdleTime() async throws {
        let h = try await Harness.make()
        _ = try await h.centre.session("office").administration.applyPolicy(
            try Self.policy("  idle-minutes: 5\n  hours: 1"), source: "school.yaml")
        try await h.run { api in
            let price = try await api.signedIn("price")
            h.clock.advance(minutes: 4)
            #expect(try await api.call(.get, "/api/v1/session", as: .bearer(price)).status == .ok)
            h.clock.advance(minutes: 5.5)
            let ended = try await api.call(.get, "/api/v1/session", as: .bearer(price))
            #expect(ended.status == .unauthorized)
        }
    }

    @Test func thePolicyCannotLengthenThem() async throws {
        let h = try await Harness.make()
        _ = try await h.centre.session("office").administration.applyPolicy(
            try Self.policy("  idle-minutes: 60"), source: "school.yaml")
        try await h.run { api in
            let price = try await api.signedIn("price")
            h.clock.advance(minutes: 16)
            let ended = try await api.call(.get, "/api/v1/session", as: .bearer(price))
            #expect(ended.status == .unauthorized)
        }
        var refused = false
        do {
            _ = try await h.centre.session("office").administration.applyPolicy(
                try Self.policy("  idle-minutes: 600"), source: "school.yaml")
        } catch let error as TutelaError { refused = error.kind == .invalidInput }
        #expect(refused, "out of range: named and refused")
    }
}
