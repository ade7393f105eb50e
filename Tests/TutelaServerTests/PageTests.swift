import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import Tutela
import TutelaCrypto

@testable import TutelaServer

/// A browser signed in through the pages: its session cookie and the CSRF token its forms carry.
struct BrowserSession: Sendable {
    let cookie: String
    let csrf: String
}

extension API {
    /// Posts a form (`application/x-www-form-urlencoded`), as a browser does.
    func form(
        _ uri: String, _ fields: [(String, String)], as browser: BrowserSession?,
        csrf: Bool = true
    ) async throws -> TestResponse {
        var all = fields
        if let browser, csrf { all.append(("csrf", browser.csrf)) }
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        let body = all.map { name, value in
            "\(name)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
        }.joined(separator: "&")
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        if let browser { headers[.cookie] = "tutela_session=\(browser.cookie)" }
        return try await client.execute(
            uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    /// Posts a form and, as a browser does, follows its 303 to the page that says what was done.
    /// - Returns: that page, and where it was.
    func submit(_ uri: String, _ fields: [(String, String)], as browser: BrowserSession)
        async throws -> TestResponse
    {
        let posted = try await form(uri, fields, as: browser)
        guard posted.status == .seeOther, let location = posted.headers[.location] else {
            return posted
        }
        return try await page(location, as: browser)
    }

    /// A page, as a browser with `browser`'s cookie fetches it.
    func page(_ uri: String, as browser: BrowserSession?) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let browser { headers[.cookie] = "tutela_session=\(browser.cookie)" }
        return try await client.execute(uri: uri, method: .get, headers: headers)
    }

    /// Signs `id` in through the sign-in page.
    func browse(as id: String) async throws -> BrowserSession {
        var fields = [("principal", id), ("passphrase", API.passphrase(id))]
        if let code = try authenticators.code(for: id) { fields.append(("code", code)) }
        let response = try await form("/sign-in", fields, as: nil)
        guard response.status == .seeOther,
            let cookie = response.headers[.setCookie]?.split(separator: ";").first?
                .split(separator: "=", maxSplits: 1).last
        else { throw TutelaError(.permissionDenied, "\(id) could not sign in: \(response.text)") }
        let home = try await page("/", as: BrowserSession(cookie: String(cookie), csrf: ""))
        let csrf = try #require(home.text.firstMatch(of: /name="csrf" value="([^"]+)"/)?.1)
        return BrowserSession(cookie: String(cookie), csrf: String(csrf))
    }
}

@Suite("Web pages: headers, sessions, CSRF, forms, escaping, what each role sees")
struct PageTests {
    static let tutorial: [(String, String)] = [
        ("learner", "sam"), ("date", "2026-11-20"), ("course", "Level 2 Diploma in Construction"),
        ("lessons", "40"), ("absences", "3"), ("punctuality", "good"), ("copiesTo", "learner"),
        ("confidential", "no"),
    ]

    @Test func everyPageCarriesAStrictPolicyAndIsNeverCached() async throws {
        try await Harness.make().run { api in
            let page = try await api.page("/sign-in", as: nil)
            #expect(page.status == .ok)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            let csp = try #require(page.headers[.contentSecurityPolicy])
            #expect(csp.contains("default-src 'self'"))
            #expect(csp.contains("frame-ancestors 'none'"))
            #expect(csp.contains("form-action 'self'"))
            #expect(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"))
            #expect(page.headers[.cacheControl] == "no-store")
            #expect(page.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer")
            #expect(!page.text.contains("<script>") && !page.text.contains("style="))
            let css = try await api.page(Assets.stylesheetPath, as: nil)
            #expect(css.headers[.contentType]?.hasPrefix("text/css") == true)
            // The API keeps its own, stricter policy: no active content at all.
            let apiPolicy = try await api.call(.get, "/api/v1/session", as: .none)
            #expect(
                apiPolicy.headers[.contentSecurityPolicy]?.hasPrefix("default-src 'none'") == true)
        }
    }

    @Test func signingInThroughTheFormSetsAStrictCookieAndAWrongPassphraseSetsNone() async throws {
        try await Harness.make().run { api in
            let unsigned = try await api.page("/records", as: nil)
            #expect(unsigned.status == .seeOther)
            #expect(unsigned.headers[.location] == "/sign-in")
            let wrong = try await api.form(
                "/sign-in", [("principal", "price"), ("passphrase", "not it at all, no")], as: nil)
            #expect(wrong.status == .unauthorized)
            #expect(wrong.headers[.setCookie] == nil)
            #expect(wrong.text.contains("do not match an account"))
            #expect(wrong.text.contains(#"value="price""#))
            let right = try await api.form(
                "/sign-in", [("principal", "price"), ("passphrase", API.passphrase("price"))],
                as: nil)
            #expect(right.status == .seeOther)
            let cookie = try #require(right.headers[.setCookie])
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
        }
    }

    @Test func aSignInPostedFromAnotherSiteIsRefusedAndFormsKeepNoHistory() async throws {
        try await Harness.make().run { api in
            let body = "principal=price&passphrase=test+passphrase+for+price"
            let foreign = try await api.client.execute(
                uri: "/sign-in", method: .post,
                headers: [
                    .contentType: "application/x-www-form-urlencoded",
                    .origin: "https://evil.example",
                ], body: ByteBuffer(string: body))
            #expect(foreign.status == .forbidden)
            #expect(foreign.headers[.setCookie] == nil)
            let page = try await api.page("/sign-in", as: nil)
            #expect(
                page.text.contains(
                    #"<form method="post" action="/sign-in" novalidate autocomplete="off">"#))
            let price = try await api.browse(as: "price")
            let form = try await api.page("/tutorials/new?learner=sam", as: price)
            #expect(form.text.contains(#"action="/tutorials" novalidate autocomplete="off""#))
            // A marker past the newest notice is refused, not stored to read as tampering later.
            let marked = try await api.form("/inbox/read", [("through", "999999999")], as: price)
            #expect(marked.status == .badRequest)
            #expect(try await api.page("/", as: price).status == .ok)
        }
    }

    @Test func aLinkFromAnotherSiteLandsOnAPageButNothingElseFromThereIsTaken() async throws {
        try await Harness.make().run { api in
            func fetch(_ site: String, _ dest: String, user: Bool) -> HTTPFields {
                var fields: HTTPFields = [
                    HTTPField.Name("Sec-Fetch-Site")!: site,
                    HTTPField.Name("Sec-Fetch-Mode")!: "navigate",
                    HTTPField.Name("Sec-Fetch-Dest")!: dest,
                ]
                if user { fields[HTTPField.Name("Sec-Fetch-User")!] = "?1" }
                return fields
            }
            let link = fetch("cross-site", "document", user: true)
            #expect(
                try await api.client.execute(uri: "/sign-in", method: .get, headers: link).status
                    == .ok)
            // A sibling site framing a page, or loading one without a click, or keeping a
            // session alive: refused, whatever cookie the browser would send.
            let price = try await api.browse(as: "price")
            for (path, fields) in [
                ("/reviews", fetch("same-site", "iframe", user: false)),
                ("/records", fetch("same-site", "document", user: false)),
                ("/keep-alive", fetch("same-site", "document", user: true)),
            ] {
                var headers = fields
                headers[.cookie] = "tutela_session=\(price.cookie)"
                let refused = try await api.client.execute(
                    uri: path, method: .get, headers: headers)
                #expect(refused.status == .forbidden, "\(path)")
            }
            #expect(
                try await api.client.execute(uri: "/api/v1/session", method: .get, headers: link)
                    .status == .forbidden)
            var post = link
            post[.contentType] = "application/x-www-form-urlencoded"
            let posted = try await api.client.execute(
                uri: "/sign-in", method: .post, headers: post,
                body: ByteBuffer(string: "principal=price&passphrase=x"))
            #expect(posted.status == .forbidden)
        }
    }

    @Test func aReasonTheLibraryRefusesComesBackInItsBoxAndAFamilyIsToldNothing() async throws {
        try await Harness.make().run { api in
            let record = try await api.seal(as: try await api.signedIn("price"), marker: "x")
            let price = try await api.browse(as: "price")
            let long = String(repeating: "worried about home ", count: 120)
            let refused = try await api.form(
                "/records/\(record)/flag", [("reason", long)], as: price)
            #expect(refused.status == .badRequest)
            #expect(refused.text.contains(long.trimmingCharacters(in: .whitespaces)))
            #expect(refused.text.contains(#"id="f-reason-error""#))
            #expect(try await api.page("/keep-alive", as: price).status == .noContent)
            let sam = try await api.browse(as: "sam")
            let crafted = try await api.page("/records?done=flagged&id=\(record)", as: sam)
            #expect(!crafted.text.contains("flagged"))
        }
    }

    @Test func overHTTPSTheCookieCannotBePlantedByASiblingSite() async throws {
        try await Harness.make(secondFactors: false, { $0.behindProxy = true }).run { api in
            let right = try await api.form(
                "/sign-in", [("principal", "price"), ("passphrase", API.passphrase("price"))],
                as: nil)
            let cookie = try #require(right.headers[.setCookie])
            #expect(cookie.hasPrefix("__Host-tutela_session="))
            #expect(cookie.contains("Secure") && cookie.contains("Path=/"))
            #expect(!cookie.contains("Domain"))
            // The unprefixed name, as a sibling site could set it, opens nothing.
            let token = cookie.split(separator: ";")[0].split(separator: "=", maxSplits: 1)[1]
            let planted = try await api.page(
                "/", as: BrowserSession(cookie: String(token), csrf: ""))
            #expect(planted.headers[.location] == "/sign-in")
        }
    }

    @Test func aPageIsNeverOpenedByABearerToken() async throws {
        try await Harness.make().run { api in
            let price = try await api.signedIn("price")
            let page = try await api.call(.get, "/records", as: .bearer(price))
            #expect(page.status == .seeOther)
        }
    }

    @Test func aFormWithoutTheSessionsTokenChangesNothing() async throws {
        try await Harness.make().run { api in
            let price = try await api.browse(as: "price")
            // Another first character than the genuine token's (base64url: one in 64 starts with "0").
            let other = price.csrf.first == "0" ? "1" : "0"
            for forged in [nil, other + price.csrf.dropFirst()] {
                var fields = Self.tutorial
                if let forged { fields.append(("csrf", String(forged))) }
                let refused = try await api.form("/tutorials", fields, as: price, csrf: false)
                #expect(refused.status == .forbidden)
                #expect(refused.text.contains("old or another page"))
            }
            let listed = try await api.page("/records", as: price)
            #expect(listed.text.contains("There are no records to show"))
        }
    }

    @Test func aTutorialSealedFromTheFormOpensAsWrittenAndOnlyByAForm() async throws {
        let harness = try await Harness.make()
        let marker = "Talked about a move to Leeds"
        try await harness.run { api in
            let price = try await api.browse(as: "price")
            let sealed = try await api.submit(
                "/tutorials",
                Self.tutorial + [("comments", marker), ("target-1", "Finish unit 3")],
                as: price)
            #expect(sealed.status == .ok)
            #expect(sealed.text.contains("Record sealed"))
            let record = try #require(sealed.text.firstMatch(of: /record (R-[0-9A-Z-]+)/)?.1)
            #expect(!sealed.text.contains(marker))
            // Opening is a form: a link (GET) opens nothing.
            let linked = try await api.page("/records/\(record)/open", as: price)
            #expect(linked.status != .ok)
            let opened = try await api.form("/records/\(record)/open", [], as: price)
            #expect(opened.status == .ok)
            #expect(opened.text.contains(marker))
            #expect(opened.text.contains("Finish unit 3"))
            let title = try #require(opened.text.firstMatch(of: /<title>([^<]*)<\/title>/)?.1)
            #expect(title == "Record \(record) – Tutela")
        }
        #expect(!harness.logs.all.contains(marker))
    }

    @Test func theFormNamesEveryProblemBesideItsBox() async throws {
        try await Harness.make().run { api in
            let price = try await api.browse(as: "price")
            var fields = Self.tutorial.filter {
                !["course", "absences", "confidential"].contains($0.0)
            }
            fields += [
                ("absences", "41"), ("nextTutorial", "2026-11-01"), ("byWhen-2", "2026-12-01"),
            ]
            let page = try await api.form("/tutorials", fields, as: price)
            #expect(page.status == .unprocessableContent)
            for (box, words) in [
                ("course", "Enter the course or subject"),
                ("absences", "cannot be more than the lessons"),
                ("nextTutorial", "cannot be before the tutorial"),
                ("target-2", "Write target 2"),
                ("confidential", "totally confidential"),
            ] {
                #expect(
                    page.text.contains(##"href="#f-\##(box)""##),
                    "\(box) is linked from the summary")
                #expect(page.text.contains(#"id="f-\#(box)-error""#), "\(box) has its message")
                #expect(page.text.contains(words), "\(box): \(words)")
            }
            #expect(page.text.contains(#"aria-describedby="f-absences-error""#))
            // What was typed is kept.
            #expect(page.text.contains(#"value="41""#))
        }
    }

    @Test func whatPeopleTypedIsShownAsTextNeverAsMarkup() async throws {
        try await Harness.make().run { api in
            let tutor = try await api.signedIn("price")
            let record = try await api.seal(as: tutor, marker: "<script>alert(1)</script>")
            let price = try await api.browse(as: "price")
            let opened = try await api.form("/records/\(record)/open", [], as: price)
            #expect(opened.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            #expect(!opened.text.contains("<script>alert"))
        }
    }

    @Test func aLearnersPagesNeverShowAFlaggedRecordNorSayThatOneExists() async throws {
        try await Harness.make().run { api in
            let tutor = try await api.signedIn("price")
            let shown = try await api.seal(as: tutor, marker: "steady progress")
            let flagged = try await api.seal(as: tutor, marker: "worrying")
            let price = try await api.browse(as: "price")
            let flag = try await api.submit(
                "/records/\(flagged)/flag", [("reason", "said something worrying")], as: price)
            #expect(flag.text.contains("Concern flagged"))
            let sam = try await api.browse(as: "sam")
            for path in ["/", "/records"] {
                let page = try await api.page(path, as: sam)
                #expect(page.status == .ok)
                #expect(!page.text.contains(flagged))
                for word in ["flag", "safeguarding", "concern", "disclos"] {
                    #expect(!page.text.lowercased().contains(word), "\(path) says \(word)")
                }
            }
            #expect(try await api.page("/records", as: sam).text.contains(shown))
            let opened = try await api.form("/records/\(flagged)/open", [], as: sam)
            #expect(opened.status != .ok)
            #expect(!opened.text.contains("worrying"))
        }
    }

    @Test func anOfficerOpensAFlaggedRecordOnlyWithAReasonAndIsToldWhoWillKnow() async throws {
        try await Harness.make().run { api in
            let tutor = try await api.signedIn("price")
            let record = try await api.seal(as: tutor, marker: "told me at lunch")
            let price = try await api.browse(as: "price")
            _ = try await api.form("/records/\(record)/flag", [("reason", "worried")], as: price)
            let dsl = try await api.browse(as: "dsl")
            let queue = try await api.page("/records?flagged=true", as: dsl)
            #expect(queue.text.contains("/records/\(record)/disclose"))
            let form = try await api.page("/records/\(record)/disclose", as: dsl)
            #expect(form.text.contains("the head of centre, the record&#39;s author"))
            let bare = try await api.form("/records/\(record)/disclose", [("reason", " ")], as: dsl)
            #expect(bare.status == .badRequest)
            #expect(!bare.text.contains("told me at lunch"))
            let opened = try await api.form(
                "/records/\(record)/disclose", [("reason", "following up CPOMS 4411")], as: dsl)
            #expect(opened.status == .ok)
            #expect(opened.text.contains("told me at lunch"))
            let head = try await api.browse(as: "head")
            let home = try await api.page("/", as: head)
            #expect(home.text.contains("opened a flagged record"))
            #expect(home.text.contains("1</strong>opening to review"))
        }
    }

    @Test func someoneRequiredToHaveAnAppCanDoNothingElseUntilTheySetOneUp() async throws {
        try await Harness.make(secondFactors: false).run { api in
            let signIn = try await api.form(
                "/sign-in", [("principal", "dsl"), ("passphrase", API.passphrase("dsl"))], as: nil)
            #expect(signIn.headers[.location] == "/second-factor")
            let cookie = String(
                try #require(
                    signIn.headers[.setCookie]?.split(separator: ";").first?.split(separator: "=")
                        .last))
            let start = try await api.page(
                "/second-factor", as: BrowserSession(cookie: cookie, csrf: ""))
            let csrf = String(
                try #require(start.text.firstMatch(of: /name="csrf" value="([^"]+)"/)?.1))
            let dsl = BrowserSession(cookie: cookie, csrf: csrf)
            #expect(try await api.page("/records", as: dsl).headers[.location] == "/second-factor")
            let offered = try await api.form("/second-factor/key", [], as: dsl)
            let shown = try #require(
                offered.text.firstMatch(of: /class="key"><strong>([A-Z2-7 ]+)</)?.1)
            let key = try SecretBytes(
                copying: try #require(Base32.decode(shown.replacingOccurrences(of: " ", with: ""))))
            let code = try OneTimeCode.totp(
                key: key, time: api.authenticators.vaultClock.nextStep())
            let wrong = try await api.form(
                "/second-factor/confirm",
                [("code", code), ("passphrase", "not the passphrase at all")], as: dsl)
            #expect(wrong.status == .unauthorized)
            let confirmed = try await api.form(
                "/second-factor/confirm", [("code", code), ("passphrase", API.passphrase("dsl"))],
                as: dsl)
            #expect(confirmed.status == .ok)
            #expect(confirmed.text.matches(of: /<li><strong>[a-z0-9]{5}-[a-z0-9]{5}</).count == 10)
            #expect(try await api.page("/records", as: dsl).status == .ok)
        }
    }

    @Test func signingOutEndsTheSessionAndAChangedPassphraseEndsEveryOne() async throws {
        try await Harness.make().run { api in
            let price = try await api.browse(as: "price")
            let other = try await api.browse(as: "price")
            let mismatched = try await api.form(
                "/passphrase",
                [
                    ("current", API.passphrase("price")), ("new", "a brand new passphrase"),
                    ("again", "a different one entirely"),
                ], as: price)
            #expect(mismatched.status == .badRequest)
            #expect(mismatched.text.contains("not the same"))
            let changed = try await api.form(
                "/passphrase",
                [
                    ("current", API.passphrase("price")), ("new", "a brand new passphrase"),
                    ("again", "a brand new passphrase"),
                ], as: price)
            #expect(changed.text.contains("Your passphrase has changed"))
            #expect(try await api.page("/", as: other).headers[.location] == "/sign-in")
            let again = try await api.form(
                "/sign-in", [("principal", "price"), ("passphrase", "a brand new passphrase")],
                as: nil)
            #expect(again.status == .seeOther)
            let jones = try await api.browse(as: "jones")
            let out = try await api.form("/sign-out", [], as: jones)
            #expect(out.text.contains("You have signed out"))
            #expect(try await api.page("/", as: jones).headers[.location] == "/sign-in")
        }
    }
}
