import Foundation
import HTTPTypes
import Hummingbird
import Tutela
import TutelaCrypto

/// The web pages (`../shared/DESIGN.md`, "Serving"): server-rendered HTML over the same services
/// as the API, for people who never use the command line.
///
/// How a page is protected: the session cookie is HTTP-only and same-site only; every form posts
/// the session's CSRF token in a hidden field and is refused without it (``post(_:_:)`` is the
/// only way a page route reads a form); a page reached by a link (a GET) only lists what the
/// person may see and never opens, releases or changes a record — opening a record is a form,
/// so a link from elsewhere cannot make an audited opening under someone's name (the library
/// may still write an entry refusing someone who asks for a list they may not see, as it does
/// for the API). A form that changes something answers with a redirect (``Done``), so reloading
/// never sends it twice. No record's contents go in a URL, a title or a log line: ids only.
struct PageRoutes {
    let server: ServerState

    func add(to router: Router<TutelaRequestContext>) {
        Assets.add(to: router)
        let open = router.group().add(middleware: PageErrors())
        open.get("/sign-in", use: signInForm)
        open.post("/sign-in", use: signIn)
        open.get("/activate", use: activateForm)
        open.post("/activate", use: activate)
        let enrolling = router.group().add(middleware: PageErrors()).add(
            middleware: Authenticator(sessions: server.sessions, allowsEnrolOnly: true, pages: true)
        )
        enrolling.post("/sign-out", use: post(enrolling: true, signOut))
        SecondFactorPages(server: server).add(to: enrolling, post: { post(enrolling: true, $0) })
        let pages = router.group().add(middleware: PageErrors()).add(
            middleware: Authenticator(sessions: server.sessions, pages: true))
        pages.get("/", use: home)
        // The script's keep-alive while someone is writing a long form: a signed-in request like
        // any other (it counts as use), answering nothing.
        pages.get("/keep-alive") { _, _ in Response(status: .noContent) }
        pages.get("/passphrase", use: passphraseForm)
        pages.post("/passphrase", use: post(changePassphrase))
        pages.post("/inbox/read", use: post(markRead))
        RecordPages(server: server).add(to: pages, post: { post($0) })
        TutorPages(server: server).add(to: pages, post: { post($0) })
        PlanPages(server: server).add(to: pages, post: { post($0) })
        ILRPages().add(to: pages)
        SafeguardingPages(server: server).add(to: pages, post: { post($0) })
        RetentionPages(server: server).add(to: pages, post: { post($0) })
        AdminPages(server: server).add(to: pages, post: { post($0) })
    }

    /// What a page's form handler is given: the form, already checked to carry the session's
    /// CSRF token, and who sent it.
    typealias FormHandler =
        @Sendable (PageForm, Visitor, Request, TutelaRequestContext)
        async throws -> Response

    /// The CSRF-checking wrapper a journey's `add(to:post:)` is given for its form handlers.
    typealias Wrapper = (@escaping FormHandler) ->
        @Sendable (Request, TutelaRequestContext)
        async throws -> Response

    /// A form handler that runs only for a form carrying this session's CSRF token.
    func post(enrolling: Bool = false, _ handler: @escaping FormHandler)
        -> @Sendable (Request, TutelaRequestContext) async throws -> Response
    {
        { [server] request, context in
            let visitor = Visitor(signedIn: try context.requireSignedIn())
            let form = try await PageForm.read(request, server: server)
            let sent = Array(form["csrf"].utf8)
            let expected = Array(visitor.csrf.utf8)
            guard sent.count == expected.count, constantTimeEquals(sent, expected) else {
                throw APIError(
                    .forbidden, "denied", "this form came from an old or another page",
                    hint: "go back, reload the page and send it again")
            }
            return try await handler(form, visitor, request, context)
        }
    }

    // MARK: Signing in and out

    @Sendable func signInForm(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        signInPage(id: nil, problems: .init()).response(for: nil)
    }

    func signInPage(
        id: String?, problems: Field.Problems, status: HTTPResponse.Status = .ok,
        notice: String? = nil
    ) -> Page {
        Page(
            "Sign in", status: status,
            [
                H.h1("Sign in"),
                notice.map { H.p($0, [("class", "notice"), ("role", "status")]) } ?? .empty,
                Field.summary(problems),
                Field.form(
                    action: "/sign-in", csrf: nil, submit: "Sign in",
                    [
                        Field.input(
                            "principal", label: "Your Tutela id", value: id,
                            hint: "The id you were enrolled with, such as price.",
                            error: problems["principal"], required: true,
                            autocomplete: "username"),
                        Field.input(
                            "passphrase", label: "Passphrase", error: problems["passphrase"],
                            type: "password", required: true, autocomplete: "current-password"),
                        Field.input(
                            "code", label: "Code from your authenticator app (if you have one)",
                            hint: "The 6 digits your app shows now, or one of your recovery "
                                + "codes. Leave it empty if you have not set up an app.",
                            error: problems["code"], autocomplete: "off",
                            width: "short"),
                    ]),
                H.p(
                    [],
                    [
                        HTML("New to Tutela, with an enrolment code? "),
                        H.link("Set up your account", to: "/activate"),
                    ]),
            ])
    }

    @Sendable func signIn(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let form = try await PageForm.read(request, server: server)
        let idText = form["principal"].trimmingCharacters(in: .whitespaces)
        var problems = Field.Problems()
        if idText.isEmpty { problems.add("principal", "Enter your Tutela id") }
        if form["passphrase"].isEmpty { problems.add("passphrase", "Enter your passphrase") }
        guard problems.isEmpty else {
            return signInPage(id: idText, problems: problems, status: .badRequest)
                .response(for: nil)
        }
        let code = form["code"].trimmingCharacters(in: .whitespaces)
        let established: ServerState.Established
        do {
            established = try await server.establish(
                try PrincipalID(idText), passphrase: try Passphrase(form["passphrase"]),
                code: code.isEmpty ? nil : code, request: request, context: context)
        } catch {
            let mapped = Errors.map(error)
            guard [.unauthorized, .badRequest, .tooManyRequests].contains(mapped.status) else {
                throw error
            }
            problems.add(
                "passphrase",
                mapped.status == .tooManyRequests
                    ? "Too many failed attempts. Wait a few minutes before trying again"
                    : "That id, passphrase and code do not match an account. Check them and "
                        + "try again")
            return signInPage(id: idText, problems: problems, status: mapped.status)
                .response(for: nil)
        }
        var response = Page.redirect(
            to: established.standing == .required ? "/second-factor" : "/")
        response.setCookie(server.sessionCookie(established.token, lasts: established.lasts))
        return response
    }

    @Sendable func signOut(
        _ form: PageForm, _ visitor: Visitor, _ request: Request, _ context: TutelaRequestContext
    ) async throws -> Response {
        await server.sessions.end(visitor.signedIn)
        var response = signInPage(id: nil, problems: .init(), notice: "You have signed out.")
            .response(for: nil)
        response.setCookie(server.endedCookie)
        return response
    }

    // MARK: Home

    @Sendable func home(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        let waiting = try await HomeSummary.of(visitor.session)
        return HomePage.page(waiting, visitor: visitor).response(for: visitor)
    }

    @Sendable func markRead(
        _ form: PageForm, _ visitor: Visitor, _ request: Request, _ context: TutelaRequestContext
    ) async throws -> Response {
        guard let through = Int64(form["through"]) else {
            throw APIError(.badRequest, "usage", "the form did not say which notices were read")
        }
        try await visitor.session.markInboxRead(through: through)
        return Page.redirect(to: "/")
    }

}

/// Turns a page's failure into a page: not signed in (or signed out since) goes to the sign-in
/// page; one who must set up an authenticator app first goes there; anything else is a page
/// that says what went wrong in plain words, with the API's status.
struct PageErrors: RouterMiddleware {
    typealias Context = TutelaRequestContext

    func handle(
        _ request: Request, context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let mapped = Errors.map(error)
            if mapped.status == .unauthorized { return Page.redirect(to: "/sign-in") }
            if mapped.code == "second-factor-required" {
                return Page.redirect(to: "/second-factor")
            }
            if mapped.code == "internal" {
                context.logger.error(
                    "request failed inside Tutela", metadata: ["error": "\(type(of: error))"])
            }
            return Page.problem(mapped, visitor: nil).response(for: nil)
        }
    }
}

/// A posted form (`application/x-www-form-urlencoded`), its boxes by name.
struct PageForm: Sendable {
    private let values: [String: [String]]

    /// The first value of box `name`, or "" when the form has none.
    subscript(name: String) -> String { values[name]?.first ?? "" }

    /// Every value of box `name` (ticked boxes of one group, the rows of a list).
    func all(_ name: String) -> [String] { values[name] ?? [] }

    /// Reads the request's form, refused past the configured size or when it is not a form.
    static func read(_ request: Request, server: ServerState) async throws -> PageForm {
        let bytes = try await server.body(
            of: request, type: "application/x-www-form-urlencoded")
        return try PageForm(bytes)
    }

    init(_ bytes: [UInt8]) throws {
        var values: [String: [String]] = [:]
        for pair in bytes.split(separator: UInt8(ascii: "&")) {
            let parts = pair.split(
                separator: UInt8(ascii: "="), maxSplits: 1,
                omittingEmptySubsequences: false)
            func decode(_ part: ArraySlice<UInt8>) throws -> String {
                let spaced = String(
                    decoding: part.map { $0 == UInt8(ascii: "+") ? 0x20 : $0 },
                    as: UTF8.self)
                guard let text = spaced.removingPercentEncoding else {
                    throw APIError(.badRequest, "invalid-input", "the form could not be read")
                }
                // Browsers send line ends as CRLF; the record keeps them as the tutor typed them.
                return text.replacingOccurrences(of: "\r\n", with: "\n")
            }
            let name = try decode(parts[0])
            let value = parts.count > 1 ? try decode(parts[1]) : ""
            values[name, default: []].append(value)
        }
        self.values = values
    }
}
