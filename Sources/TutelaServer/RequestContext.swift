import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Tutela
import TutelaCrypto

/// What a request carries through the server: who is signed in, how they proved it, where the
/// request came from.
struct TutelaRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The signed-in person, once ``Authenticator`` has checked the request.
    var signedIn: SignedInSessions.SignedIn?
    /// The client's address (IP only), for throttling; "unknown" when the channel has none.
    let address: String

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        address = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    /// The id a route names in its path (`…/records/{id}`), parsed as the id of its kind.
    func pathID<Kind: IDKind>() throws(TutelaError) -> ID<Kind> {
        try ID<Kind>(parameters.get("id") ?? "")
    }

    /// The signed-in person; a route behind ``Authenticator`` always has one.
    func requireSignedIn() throws -> SignedInSessions.SignedIn {
        guard let signedIn else { throw APIError.unauthenticated }
        return signedIn
    }
}

/// A body that gives a reason (a flag, a hold, a disclosure, a void): one shape for every route.
struct ReasonBody: Decodable {
    let reason: String
}

extension HTTPField.Name {
    static let csrf = named("X-Tutela-CSRF")
    static let requestID = named("X-Request-ID")
    static let referrer = named("Referrer-Policy")
    static let frameOptions = named("X-Frame-Options")
    static let realIP = named("X-Real-IP")
    static let forwardedFor = named("X-Forwarded-For")
    static let fetchSite = named("Sec-Fetch-Site")
    static let fetchMode = named("Sec-Fetch-Mode")
    static let fetchDest = named("Sec-Fetch-Dest")
    static let fetchUser = named("Sec-Fetch-User")

    /// A header name this module spells out; every one is a valid token, so this never traps.
    private static func named(_ text: String) -> HTTPField.Name {
        guard let name = HTTPField.Name(text) else {
            preconditionFailure("bad header name \(text)")
        }
        return name
    }
}

/// Finds who a request is from: a `Bearer` token (scripts) or the session cookie (browsers), in
/// that order. A cookie-authenticated request that changes anything must carry the session's CSRF
/// token in `X-Tutela-CSRF`: a page on another site can make a browser send the cookie, never
/// the header. Each request brings the person's directory up to date first, so a revocation ends
/// their session at their next request.
struct Authenticator: RouterMiddleware {
    typealias Context = TutelaRequestContext
    let sessions: SignedInSessions
    /// Whether a session that must enrol a second factor first may use these routes (signing
    /// out, enrolling); every other route refuses it.
    var allowsEnrolOnly = false
    /// For the web pages: the cookie only (never a bearer token), and the CSRF token is checked
    /// by the page's form (a hidden field) on every post rather than from a header — a page's
    /// plain link cannot carry a header, and no page reached by a link releases or changes
    /// anything (see ``PageRoutes``).
    var pages = false

    func handle(
        _ request: Request, context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        context.signedIn = try await signedIn(request)
        // The request's releases have their pins of their own, saved before its answer exists.
        return try await Session.withOwnPins { try await next(request, context) }
    }

    func signedIn(_ request: Request) async throws -> SignedInSessions.SignedIn {
        let bearer =
            pages
            ? nil
            : request.headers[.authorization].flatMap { value -> String? in
                let parts = value.split(separator: " ", maxSplits: 1)
                guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
                return String(parts[1])
            }
        guard let token = bearer ?? request.cookies[sessions.cookieName]?.value,
            let signedIn = await sessions.find(token)
        else { throw APIError.unauthenticated }
        // Every cookie request carries the CSRF token, reads included: an open is a read that is
        // audited under the person's name, and an image on a sibling site must not make one.
        if bearer == nil, !pages {
            let sent = Array((request.headers[.csrf] ?? "").utf8)
            let expected = Array(signedIn.csrf.utf8)
            guard sent.count == expected.count, constantTimeEquals(sent, expected) else {
                throw APIError(
                    .forbidden, "denied",
                    "a request made with the session cookie must carry the X-Tutela-CSRF header",
                    hint: "send the csrf value you were given at sign-in")
            }
        }
        do {
            try await signedIn.session.refresh()
        } catch let error as TutelaError where error.kind == .permissionDenied {
            await sessions.end(signedIn)
            throw APIError(
                .unauthorized, "unauthenticated", "your session has ended: \(error.message)")
        }
        guard await sessions.use(signedIn) else { throw APIError.unauthenticated }
        // Required now (a policy or a role given since they signed in) counts as at sign-in.
        let mustEnrol =
            signedIn.enrolOnly || signedIn.session.secondFactorStanding == .required
        guard !mustEnrol || allowsEnrolOnly else {
            throw APIError(
                .forbidden, "second-factor-required",
                "the policy requires you to enrol an authenticator app before anything else",
                hint: "POST /api/v1/session/second-factor, then confirm it with a code")
        }
        return signedIn
    }
}

/// Refuses a request a browser says comes from another site, before anything else: no page
/// elsewhere may sign in, activate or act through a visitor's browser (`Sec-Fetch-Site`, which
/// every current browser sends; tools send none). Sibling sites of the same domain count as
/// other sites.
struct SameOrigin: RouterMiddleware {
    typealias Context = TutelaRequestContext

    func handle(
        _ request: Request, context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        if let site = request.headers[.fetchSite] {
            // A link a person clicks on another site (the school's intranet, an email) is
            // followed to the page: a top-level document the person asked for (not a frame, not
            // a script's redirect), which acts on nothing. From another site no session cookie
            // goes with it (SameSite=Strict); from a sibling site of the same domain it may, so
            // nothing a script there could do unseen — a frame, a background load, the
            // keep-alive — passes. Everything else from another site is refused.
            let navigation =
                [.get, .head].contains(request.method) && !request.uri.path.hasPrefix("/api/")
                && request.uri.path != "/keep-alive"
                && request.headers[.fetchMode] == "navigate"
                && request.headers[.fetchDest] == "document" && request.headers[.fetchUser] == "?1"
            if site != "same-origin", site != "none", !navigation {
                throw APIError(.forbidden, "denied", "requests from other sites are refused")
            }
        } else if ![.get, .head].contains(request.method), let origin = request.headers[.origin],
            !Self.sameHost(origin: origin, host: request.head.authority)
        {
            // A browser too old to send Sec-Fetch-Site still names the page a form came from:
            // a sign-in or activation posted from another site is refused (login CSRF).
            throw APIError(.forbidden, "denied", "requests from other sites are refused")
        }
        return try await next(request, context)
    }

    /// Whether `origin` (`scheme://host[:port]`, or `null`) names the host the request was sent
    /// to.
    static func sameHost(origin: String, host: String?) -> Bool {
        guard let host, let range = origin.range(of: "://") else { return false }
        return origin[range.upperBound...].lowercased() == host.lowercased()
    }
}

/// Headers on every response: nothing is cached, framed, sniffed or referred; the API answers
/// with no active content at all; over HTTPS (or behind a TLS proxy) browsers are told to use
/// nothing else.
struct SecurityHeaders: RouterMiddleware {
    typealias Context = TutelaRequestContext
    let tls: Bool

    func handle(
        _ request: Request, context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.cacheControl] = "no-store"
        // The API answers with no active content at all; a page may use this server's own
        // stylesheet and script (never inline ones), and post forms only here.
        response.headers[.contentSecurityPolicy] =
            request.uri.path.hasPrefix("/api/")
            ? "default-src 'none'; frame-ancestors 'none'"
            : "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
                + "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.referrer] = "no-referrer"
        response.headers[.frameOptions] = "DENY"
        if tls { response.headers[.strictTransportSecurity] = "max-age=31536000" }
        return response
    }
}

/// Turns every failure into the API's JSON error and logs each request in one line: its id,
/// method, route, status and time — never a query, a body, a token or a record's contents.
struct Errors: RouterMiddleware {
    typealias Context = TutelaRequestContext
    let metrics: ServerMetrics

    func handle(
        _ request: Request, context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let started = ContinuousClock.now
        var response: Response
        var code = "ok"
        do {
            response = try await next(request, context)
        } catch {
            let mapped = Self.map(error)
            if mapped.code == "internal" {
                context.logger.error(
                    "request failed inside Tutela", metadata: ["error": "\(type(of: error))"])
            }
            code = mapped.code
            response = mapped.response
        }
        response.headers[.requestID] = context.id
        let elapsed = ContinuousClock.now - started
        metrics.request(
            route: context.endpointPath ?? "unmatched", status: response.status.code,
            elapsed: elapsed)
        context.logger.info(
            "request",
            metadata: [
                "method": "\(request.method.rawValue)",
                "route": "\(context.endpointPath ?? "unmatched")",
                "status": "\(response.status.code)", "code": "\(code)",
                "ms": "\(Int(SignedInSessions.seconds(elapsed) * 1000))",
            ])
        return response
    }

    static func map(_ error: any Error) -> APIError {
        switch error {
        case let error as APIError: return error
        case let error as TutelaError: return APIError(error)
        case let error as HTTPError:
            switch error.status {
            case .contentTooLarge:
                return APIError(.contentTooLarge, "invalid-input", "the request body is too large")
            case .notFound: return APIError(.notFound, "not-found", "no such endpoint")
            case .methodNotAllowed:
                return APIError(.methodNotAllowed, "usage", "that method is not allowed here")
            default:
                return APIError(
                    error.status, "usage", error.body ?? "the request was not understood")
            }
        default:
            return APIError(.internalServerError, "internal", "something went wrong inside Tutela")
        }
    }
}
