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
    }

    struct Remove: Decodable {
        let passphrase: String
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
        let signedIn = try context.requireSignedIn()
        let key = try SecondFactor.newKey()
        await server.sessions.offer(key, to: signedIn)
        // The key leaves protected memory only into this one response.
        return JSONResponse.make(
            .created,
            OfferJSON(
                secret: Base32.encode(key.unprotectedCopy()),
                uri: SecondFactor.authenticatorURI(
                    key: key, issuer: "Tutela",
                    account: signedIn.session.principal.id.text)))
    }

    /// Enrols the key offered, once a code from the app and the passphrase confirm it.
    @Sendable func confirm(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let signedIn = try context.requireSignedIn()
        let body = try await server.decode(Confirm.self, from: request, context: context)
        let passphrase = try Passphrase(body.passphrase)
        guard let key = await server.sessions.offered(to: signedIn) else {
            throw APIError(
                .conflict, "exists", "no authenticator key is waiting for this session",
                hint: "POST /api/v1/session/second-factor first")
        }
        let session = signedIn.session
        let codes = try await reauthenticated(request, context, session) {
            try await session.enrolSecondFactor(key: key, code: body.code, passphrase: passphrase)
        }
        await server.sessions.enrolled(signedIn)
        return JSONResponse.make(.created, EnrolledJSON(recoveryCodes: codes))
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
        try await reauthenticated(request, context, session) {
            try await session.removeSecondFactor(passphrase: passphrase)
        }
        return Response(status: .noContent)
    }

    /// Runs `work`, which derives a key from the passphrase given again, through the sign-in gate
    /// and its throttle: guessing a passphrase here is as slow as at sign-in.
    @discardableResult
    private func reauthenticated<T: Sendable>(
        _ request: Request, _ context: TutelaRequestContext, _ session: Session,
        _ work: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await server.throttled(
            account: session.principal.id.text, address: server.clientAddress(request, context)
        ) {
            try await server.gate.deriving(work)
        }
    }
}
