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
        let id = try PrincipalID(body.principal)
        let passphrase = try Passphrase(body.passphrase)
        let address = server.clientAddress(request, context)
        let unlocked = try await server.throttled(account: id.text, address: address) {
            try await server.gate.signIn(
                id, passphrase: passphrase, code: body.code, in: server.vault)
        }
        // The work queued for this person is done at sign-in, as at their next command on the
        // command line: their groups' keys made, rotated and shared, grants made.
        let (session, notes) = try await Session.withOwnPins {
            try await unlocked.catchUp(passphrase: passphrase)
        }
        // A sign-in never keeps a token it was sent: whatever session the request carried ends.
        if let old = request.cookies[Authenticator.cookieName]?.value,
            let previous = await server.sessions.find(old)
        {
            await server.sessions.end(previous)
        }
        // Someone the policy requires a second factor of, who has none yet, may only enrol one.
        let standing = session.secondFactorStanding
        let (token, csrf, lasts) = try await server.sessions.add(
            session, enrolOnly: standing == .required)
        var response = JSONResponse.make(
            .created,
            SignedInJSON(
                principal: session.principal.id.text,
                roles: session.principal.roles.map(\.rawValue),
                expires: server.expires(in: lasts), csrf: csrf, token: token,
                secondFactor: standing.rawValue, notes: notes))
        response.setCookie(
            Cookie(
                name: Authenticator.cookieName, value: token, maxAge: Int(lasts), path: "/",
                secure: server.configuration.secureCookies, httpOnly: true, sameSite: .strict))
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
        let signedIn = try context.requireSignedIn()
        let body = try await server.decode(Confirm.self, from: request, context: context)
        let passphrase = try Passphrase(body.passphrase)
        let id = signedIn.session.principal.id
        let vault = server.vault
        _ = try await server.throttled(
            account: id.text, address: server.clientAddress(request, context)
        ) {
            try await server.gate.signIn(id, passphrase: passphrase, code: body.code, in: vault)
        }
        await server.sessions.confirmed(signedIn)
        return Response(status: .noContent)
    }

    @Sendable func signOut(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        await server.sessions.end(try context.requireSignedIn())
        var response = Response(status: .noContent)
        response.setCookie(
            Cookie(
                name: Authenticator.cookieName, value: "", maxAge: 0, path: "/",
                secure: server.configuration.secureCookies, httpOnly: true, sameSite: .strict))
        return response
    }
}
