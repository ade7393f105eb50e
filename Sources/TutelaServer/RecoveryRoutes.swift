import Hummingbird
import Tutela
import TutelaCrypto

/// Identity recovery after a lost passphrase (`tutela recovery`): an administrator asks, approvers
/// release their shares, the person finishes with the one-time code and a new passphrase (no
/// session: they have no usable keys). Each step the library call the command makes.
struct RecoveryRoutes {
    let server: ServerState

    struct Ask: Decodable {
        let principal: String
        let reason: String
    }

    struct Cancel: Decodable {
        /// The person's own passphrase, when they cancel a request about themselves: their keys
        /// are then replaced at once (shares already released rebuild only retired keys).
        let passphrase: String?
        /// With the passphrase: a code from their authenticator app, when they have one.
        let code: String?
    }

    struct Finish: Decodable {
        let code: String
        let passphrase: String
    }

    struct AskedJSON: Encodable {
        let request: String
        let principal: String
        let recoveryCode: String
        let expires: String
    }

    func add(to router: Router<TutelaRequestContext>) {
        router.post("/api/v1/principals/:id/recover", use: finish)
        let api = router.group("/api/v1").add(middleware: Authenticator(sessions: server.sessions))
        api.get("recovery", use: list)
        api.post("recovery", use: ask)
        api.post("recovery/:id/approve", use: approve)
        api.post("recovery/:id/cancel", use: cancel)
    }

    @Sendable func list(_ request: Request, context: TutelaRequestContext) async throws -> Response
    {
        let requests = try await context.requireSignedIn().session.identityRecovery.requests()
        return JSONResponse.make(.ok, ["requests": requests.map(RecoveryRequestJSON.init)])
    }

    /// The one-time recovery code is in this answer only, once: give it to the person yourself.
    @Sendable func ask(_ request: Request, context: TutelaRequestContext) async throws -> Response {
        try await server.requireRecent(context)
        let body = try await server.decode(Ask.self, from: request, context: context)
        let session = try context.requireSignedIn().session
        let (asked, code) = try await session.identityRecovery.request(
            try PrincipalID(body.principal), reason: body.reason)
        defer { code.text.wipe() }
        return JSONResponse.make(
            .created,
            AskedJSON(
                request: asked.id.text, principal: asked.principal.text,
                recoveryCode: String(decoding: code.text.unprotectedCopy(), as: UTF8.self),
                expires: Timestamp.iso(asked.expires)))
    }

    @Sendable func approve(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        try await server.requireRecent(context)
        let id: Tutela.RequestID = try context.pathID()
        let (have, need) = try await context.requireSignedIn().session.identityRecovery.approve(id)
        return JSONResponse.make(.ok, RecoveryApprovedJSON(id, approvals: have, needed: need))
    }

    @Sendable func cancel(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let id: Tutela.RequestID = try context.pathID()
        let body =
            request.headers[.contentType] == nil
            ? nil : try await server.decode(Cancel.self, from: request, context: context)
        let passphrase = try body?.passphrase.map { try Passphrase($0) }
        let session = try context.requireSignedIn().session
        if let passphrase {
            // New keys are sealed under it: checked first, as a sign-in is (throttle, gate, code).
            let me = session.principal.id
            let vault = server.vault
            let fresh = try await server.throttled(
                account: me.text, address: server.clientAddress(request, context)
            ) {
                try await server.gate.signIn(
                    me, passphrase: passphrase, code: body?.code, in: vault)
            }
            try await server.gate.deriving {
                try await fresh.identityRecovery.cancel(id, renewingKeysUnder: passphrase)
            }
            // Their keys were replaced: this session holds retired ones.
            await server.sessions.end(principal: session.principal.id)
        } else {
            try await session.identityRecovery.cancel(id)
        }
        return JSONResponse.make(.ok, RecoveryCancelledJSON(id))
    }

    /// The person finishes their recovery: the approved shares rebuild their keys here, new keys
    /// replace them under the new passphrase. Throttled as sign-ins are, and every refusal is
    /// one answer, as an activation's is.
    @Sendable func finish(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let id: PrincipalID = try context.pathID()
        let body = try await server.decode(Finish.self, from: request, context: context)
        let vault = server.vault
        let identity = try await server.withOneTimeCode(
            request, context, account: id, code: body.code, passphrase: body.passphrase,
            refusal: Self.recoveryRefused
        ) { code, passphrase in
            try await vault.recoverIdentity(id, code: code, passphrase: passphrase)
        }
        await server.sessions.end(principal: id)
        await server.gate.clearCodeFailures(of: id)
        return JSONResponse.make(.created, NewKeysJSON(recovered: id, identity))
    }

    static let recoveryRefused = TutelaError(
        .permissionDenied, "that id and recovery code do not finish a recovery",
        hint: "check the code you were given and that enough approvers have approved")
}
