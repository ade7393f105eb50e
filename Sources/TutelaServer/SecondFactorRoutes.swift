import Foundation
import Hummingbird
import Tutela
import TutelaCrypto

/// `/api/v1/session/second-factor`: a signed-in person enrols an authenticator app (TOTP), and
/// removes it where the policy allows. Open to a session that must enrol before anything else.
struct SecondFactorRoutes {
    let server: ServerState

    struct Confirm: Decodable {
        let passphrase: String
        let code: String
        /// A code from the app enrolled now (or a recovery code), to replace it.
        let currentCode: String?
    }

    struct Remove: Decodable {
        let passphrase: String
        /// A code from the app (or a recovery code).
        let code: String
    }

    struct OfferJSON: Encodable {
        /// The key in base32, for typing into an app by hand.
        let secret: String
        /// The `otpauth://` address (a QR code of it is what most apps scan).
        let uri: String
        let algorithm = "SHA1"
        let digits = 6
        let period = 30
    }

    struct EnrolledJSON: Encodable {
        let secondFactor = SecondFactorStanding.enrolled.rawValue
        /// Ten codes, shown this once: each signs in once when the phone is not to hand.
        let recoveryCodes: [String]
    }

    func add(to group: RouterGroup<TutelaRequestContext>) {
        group.post("second-factor", use: offer)
        group.post("second-factor/confirm", use: confirm)
        group.delete("second-factor", use: remove)
    }

    /// A new key for the person's app, kept with their session until a code confirms it.
    @Sendable func offer(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let shown = try await offerKey(to: try context.requireSignedIn())
        return JSONResponse.make(.created, OfferJSON(secret: shown.secret, uri: shown.uri))
    }

    /// A new key kept with `signedIn`'s session until a code confirms it.
    /// - Returns: the key in base32 and as an `otpauth://` address; it leaves protected memory
    ///   only into the one response that shows it.
    func offerKey(to signedIn: SignedInSessions.SignedIn) async throws -> (
        secret: String, uri: String
    ) {
        let key = try SecondFactor.newKey()
        await server.sessions.offer(key, to: signedIn)
        return SecondFactor.offer(
            key: key, issuer: "Tutela", account: signedIn.session.principal.id.text)
    }

    /// Enrols the key offered, once a code from the app and the passphrase confirm it.
    @Sendable func confirm(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let body = try await server.decode(Confirm.self, from: request, context: context)
        let codes = try await enrol(
            try context.requireSignedIn(), passphrase: try Passphrase(body.passphrase),
            code: body.code, current: body.currentCode, request: request, context: context)
        return JSONResponse.make(.created, EnrolledJSON(recoveryCodes: codes))
    }

    /// Enrols the key offered to `signedIn`'s session once `code` (from the app) and the
    /// passphrase confirm it — and, to replace an app, `current`, a code of the old one.
    /// - Returns: the ten recovery codes, to be shown this once.
    func enrol(
        _ signedIn: SignedInSessions.SignedIn, passphrase: Passphrase, code: String,
        current: String?, request: Request, context: TutelaRequestContext
    ) async throws -> [String] {
        guard let key = await server.sessions.offered(to: signedIn) else {
            throw APIError(
                .conflict, "exists", "no authenticator key is waiting for this session",
                hint: "POST /api/v1/session/second-factor first")
        }
        let session = signedIn.session
        let enrolled = try await reauthenticated(
            request, context, session, passphrase: passphrase, current: current
        ) { after in
            try await session.enrolSecondFactor(
                key: key, code: code, passphrase: passphrase, current: current, after: after)
        }
        await server.gate.used(enrolled.step, by: session.principal.id)
        await server.sessions.enrolled(signedIn)
        await server.sessions.endOthers(of: signedIn)
        return enrolled.recoveryCodes
    }

    /// Removes the person's second factor, where the policy does not require one.
    @Sendable func remove(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let signedIn = try context.requireSignedIn()
        let body = try await server.decode(Remove.self, from: request, context: context)
        let passphrase = try Passphrase(body.passphrase)
        let session = signedIn.session
        // Refused before the passphrase is checked: a refusal of the policy's is not a failed
        // sign-in.
        guard !session.secondFactorRequired else {
            throw APIError(
                .forbidden, "denied", "the policy requires you to have a second factor",
                hint: "enrol a new authenticator app instead; that replaces the old one")
        }
        try await reauthenticated(
            request, context, session, passphrase: passphrase, current: body.code
        ) { after in
            try await session.removeSecondFactor(
                passphrase: passphrase, current: body.code, after: after)
        }
        await server.sessions.endOthers(of: signedIn)
        return Response(status: .noContent)
    }

    /// Runs `work`, which re-seals the person's keys under `passphrase`, once the passphrase has
    /// been checked against their stored keys and `current`, a code of the app enrolled there,
    /// claimed — in that order, through the sign-in gate and its throttle: a stolen session
    /// without the passphrase cannot count wrong codes against the person (nor use up a right
    /// one); a code is never accepted twice, and a wrong one after the right passphrase counts
    /// toward the person's code lock. `work` is given the step the library must see codes
    /// after. Every refusal is one answer, which says nothing of which part was wrong.
    @discardableResult
    private func reauthenticated<T: Sendable>(
        _ request: Request, _ context: TutelaRequestContext, _ session: Session,
        passphrase: Passphrase, current: String?,
        _ work: @escaping @Sendable (UInt64?) async throws -> T
    ) async throws -> T {
        try await server.throttled(
            account: session.principal.id.text, address: server.clientAddress(request, context)
        ) {
            do {
                try await server.gate.deriving {
                    try await session.requireOwnPassphrase(passphrase)
                }
                let after = try await server.gate.claimCurrentCode(current, of: session)
                return try await server.gate.deriving { try await work(after) }
            } catch let error as TutelaError where error.kind == .permissionDenied {
                throw Self.refused
            }
        }
    }

    /// The one answer to a wrong passphrase or code given to change a second factor.
    static let refused = TutelaError(
        .permissionDenied, "that passphrase and code do not confirm the change",
        hint: "give your passphrase and a code your authenticator app shows now (or a recovery "
            + "code)")
}
