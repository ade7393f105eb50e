import Foundation
import Hummingbird
import Tutela

/// `/api/v1/session`: signing in, who is signed in, signing out.
struct SessionRoutes {
    let server: ServerState

    struct SignIn: Decodable {
        let principal: String
        let passphrase: String
        /// The six digits of their authenticator app, or a recovery code, when they enrolled one.
        let code: String?
    }

    struct SignedInJSON: Encodable {
        let principal: String
        let roles: [String]
        let expires: String
        let csrf: String?
        let token: String?
        /// `enrolled`, `optional`, or `required` (this session may only enrol one and sign out).
        let secondFactor: String
        /// What was done at sign-in for work queued for this person (their groups' keys, grants).
        var notes: [String]? = nil
    }

    func add(to router: Router<TutelaRequestContext>) {
        router.post("/api/v1/session", use: signIn)
        let signedIn = router.group("/api/v1/session").add(
            middleware: Authenticator(sessions: server.sessions, allowsEnrolOnly: true))
        signedIn.get(use: show)
        signedIn.delete(use: signOut)
        signedIn.post("confirm", use: confirm)
        SecondFactorRoutes(server: server).add(to: signedIn)
    }

    @Sendable func signIn(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let body = try await server.decode(SignIn.self, from: request, context: context)
        let signedIn = try await server.establish(
            try PrincipalID(body.principal), passphrase: try Passphrase(body.passphrase),
            code: body.code, request: request, context: context)
        let principal = signedIn.session.principal
        var response = JSONResponse.make(
            .created,
            SignedInJSON(
                principal: principal.id.text, roles: principal.roles.map(\.rawValue),
                expires: server.expires(in: signedIn.lasts), csrf: signedIn.csrf,
                token: signedIn.token, secondFactor: signedIn.standing.rawValue,
                notes: signedIn.notes))
        response.setCookie(server.sessionCookie(signedIn.token, lasts: signedIn.lasts))
        return response
    }

    @Sendable func show(_ request: Request, context: TutelaRequestContext) async throws -> Response
    {
        let signedIn = try context.requireSignedIn()
        let principal = signedIn.session.principal
        return JSONResponse.make(
            .ok,
            SignedInJSON(
                principal: principal.id.text, roles: principal.roles.map(\.rawValue),
                expires: server.expires(in: await server.sessions.remaining(signedIn)), csrf: nil,
                token: nil,
                secondFactor: signedIn.enrolOnly
                    ? SecondFactorStanding.required.rawValue
                    : signedIn.session.secondFactorStanding.rawValue))
    }

    struct Confirm: Decodable {
        let passphrase: String
        let code: String?
    }

    /// The signed-in person proves who they are again (passphrase, and code if they have an
    /// app), for what needs a recent sign-in. Checked exactly as a sign-in is (the throttle, the
    /// gate, each code once, the code lock).
    @Sendable func confirm(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let body = try await server.decode(Confirm.self, from: request, context: context)
        try await server.confirm(
            try context.requireSignedIn(), passphrase: try Passphrase(body.passphrase),
            code: body.code, request: request, context: context)
        return Response(status: .noContent)
    }

    @Sendable func signOut(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        await server.sessions.end(try context.requireSignedIn())
        var response = Response(status: .noContent)
        response.setCookie(server.endedCookie)
        return response
    }
}
