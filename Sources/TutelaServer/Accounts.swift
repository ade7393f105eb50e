import Foundation
import Hummingbird
import Tutela

/// Signing in and changing one's own passphrase: the API and the pages take the same path.
extension ServerState {
    /// A sign-in that succeeded: the session kept, its token (given to the person, never stored)
    /// and what was done for work queued for them.
    struct Established: Sendable {
        let session: Session
        let token: String
        let csrf: String
        let lasts: Double
        let standing: SecondFactorStanding
        let notes: [String]
    }

    /// Signs `id` in with `passphrase` and, when they have an app, `code`: under the throttle,
    /// through the gate; the work queued for them (their groups' keys, grants) is done, as at
    /// their next command on the command line; any session the request's cookie named ends. Some
    /// one the policy requires a second factor of, who has none yet, gets a session that may only
    /// enrol one.
    func establish(
        _ id: PrincipalID, passphrase: Passphrase, code: String?, request: Request,
        context: TutelaRequestContext
    ) async throws -> Established {
        let address = clientAddress(request, context)
        let unlocked = try await throttled(account: id.text, address: address) {
            try await gate.signIn(id, passphrase: passphrase, code: code, in: vault)
        }
        let (session, notes) = try await Session.withOwnPins {
            try await unlocked.catchUp(passphrase: passphrase)
        }
        // A sign-in never keeps a token it was sent.
        if let old = request.cookies[sessions.cookieName]?.value,
            let previous = await sessions.find(old)
        {
            await sessions.end(previous)
        }
        let standing = session.secondFactorStanding
        let (token, csrf, lasts) = try await sessions.add(
            session, enrolOnly: standing == .required)
        return Established(
            session: session, token: token, csrf: csrf, lasts: lasts, standing: standing,
            notes: notes)
    }

    /// The person's own passphrase, and their keys with it. The current passphrase (and code, if
    /// they have an app) is checked as a sign-in is and unlocks their stored identity afresh (so
    /// what was enrolled in another session — a second factor — goes with it); every session of
    /// theirs ends, the caller's included, since it holds the retired key.
    /// - Returns: the group keys made anew with the new identity.
    func changePassphrase(
        of signedIn: SignedInSessions.SignedIn, current: Passphrase, new: Passphrase,
        code: String?, request: Request, context: TutelaRequestContext
    ) async throws -> [GroupKey] {
        try new.validateAsNew()
        let id = signedIn.session.principal.id
        let vault = vault
        let fresh = try await throttled(account: id.text, address: clientAddress(request, context))
        {
            try await gate.signIn(id, passphrase: current, code: code, in: vault)
        }
        let groups = try await gate.deriving {
            try await fresh.lifecycle.changePassphrase(to: new)
        }
        await sessions.end(principal: id)
        await gate.clearCodeFailures(of: id)
        return groups
    }

    /// The signed-in person proves who they are again (passphrase, and code if they have an
    /// app), for what needs a recent sign-in: checked exactly as a sign-in is (the throttle, the
    /// gate, each code once, the code lock).
    func confirm(
        _ signedIn: SignedInSessions.SignedIn, passphrase: Passphrase, code: String?,
        request: Request, context: TutelaRequestContext
    ) async throws {
        let id = signedIn.session.principal.id
        let vault = vault
        _ = try await throttled(account: id.text, address: clientAddress(request, context)) {
            try await gate.signIn(id, passphrase: passphrase, code: code, in: vault)
        }
        await sessions.confirmed(signedIn)
    }

    /// Whether `signedIn` proved who they are within ``ServerConfiguration/recentSignIn``.
    func isRecent(_ signedIn: SignedInSessions.SignedIn) async -> Bool {
        await sessions.verifiedRecently(
            signedIn, within: SignedInSessions.seconds(configuration.recentSignIn))
    }

    /// The session cookie: HTTP only, same site only, HTTPS only when served so.
    func sessionCookie(_ token: String, lasts: Double) -> Cookie {
        Cookie(
            name: sessions.cookieName, value: token, maxAge: Int(lasts), path: "/",
            secure: configuration.secureCookies, httpOnly: true, sameSite: .strict)
    }

    /// The cookie that removes the session cookie.
    var endedCookie: Cookie {
        Cookie(
            name: sessions.cookieName, value: "", maxAge: 0, path: "/",
            secure: configuration.secureCookies, httpOnly: true, sameSite: .strict)
    }
}
