import Foundation
public import Hummingbird
import HummingbirdCore
import HummingbirdTLS
public import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
public import Tutela
import TutelaCrypto

/// What every route shares: the vault, who is signed in, the sign-in throttle and queue.
public struct ServerState: Sendable {
    /// The one vault this server serves.
    public let vault: Vault
    /// How it listens and how long sessions last.
    public let configuration: ServerConfiguration
    /// Who is signed in.
    public let sessions: SignedInSessions
    /// Failed sign-ins, per account and per address.
    public let throttle: SignInThrottle
    /// The bounded queue of Argon2id derivations.
    public let gate: SignInGate
    /// Whole-log verifications, one at a time (each reads the whole log on every core).
    let verifying = OneAtATime("the audit log is being verified")
    /// Imports, one at a time (each holds its body and parses on every core).
    let importing = OneAtATime("another import is running")
    /// Counts and latencies for `/metrics`.
    let metrics = ServerMetrics()

    /// - Parameter now: seconds on a monotonic clock; tests move it on to expire sessions.
    public init(
        vault: Vault, configuration: ServerConfiguration,
        now: @escaping @Sendable () -> Double = ServerState.monotonic
    ) {
        self.vault = vault
        self.configuration = configuration
        sessions = SignedInSessions(configuration: configuration, now: now)
        throttle = SignInThrottle(configuration: configuration, now: now)
        gate = SignInGate(
            parallel: configuration.parallelSignIns, queue: configuration.waitingSignIns)
    }

    /// Seconds since this process started, on a clock no one can set.
    public static let monotonic: @Sendable () -> Double = {
        let start = ContinuousClock.now
        return { SignedInSessions.seconds(ContinuousClock.now - start) }
    }()

    /// The wall-clock time `seconds` from now, as the API writes times.
    func expires(in seconds: Double) -> String {
        Timestamp.iso(vault.clock.now() + Int64(seconds.rounded(.down)))
    }

    /// Whether a request comes from this machine directly: a loopback connection that no proxy
    /// forwarded. (A connection with no address at all is only the in-process test router's.)
    func isLocal(_ request: Request, _ context: TutelaRequestContext) -> Bool {
        guard request.headers[.realIP] == nil, request.headers[.forwardedFor] == nil else {
            return false
        }
        let address = context.address
        return address == "unknown" || address == "::1" || address.hasPrefix("127.")
            || address.hasPrefix("::ffff:127.")
    }

    /// The `confidential` query parameter: `true` or `false` (or absent, false). Anything else is
    /// refused rather than read as false: a mistyped flag must not seal a confidential tutorial
    /// where more people may read it.
    func confidential(_ request: Request) throws -> Bool {
        switch request.uri.queryParameters.get("confidential") {
        case nil, "false": return false
        case "true": return true
        default: throw TutelaError(.usage, "confidential must be true or false")
        }
    }

    /// Runs a sign-in or activation under the throttle: booked before its Argon2id work, refused
    /// at once past the allowance (429), and counted as a failure when refused (401, one answer).
    func throttled<T: Sendable>(
        account: String, address: String, _ attempt: () async throws -> T
    ) async throws -> T {
        if let wait = await throttle.begin(account: account, address: address) {
            metrics.signIn("throttled")
            throw APIError(
                .tooManyRequests, "too-many", "too many failed attempts: wait before trying again",
                hint: "after a few more failures ask an administrator", retryAfter: wait)
        }
        do {
            let value = try await attempt()
            await throttle.end(account: account, address: address, outcome: .succeeded)
            metrics.signIn("ok")
            return value
        } catch let error as TutelaError where error.kind == .permissionDenied {
            await throttle.end(account: account, address: address, outcome: .failed)
            metrics.signIn("refused")
            throw APIError(.unauthorized, "unauthenticated", error.message, hint: error.hint)
        } catch {
            await throttle.end(account: account, address: address, outcome: .undecided)
            metrics.signIn("busy")
            throw error
        }
    }

    /// What someone with no session does with a one-time code and a new passphrase (activating
    /// an enrolment, finishing a recovery): a passphrase too short is said plainly, before anyone
    /// is looked up; then `work` runs under the throttle and through the gate, and every refusal
    /// of the person's — no such person, no code waiting, a wrong, expired or malformed code — is
    /// `refusal`, one answer that tells an outsider nothing about who exists.
    func withOneTimeCode<T: Sendable>(
        _ request: Request, _ context: TutelaRequestContext, account: PrincipalID,
        code text: String, passphrase newText: String, refusal: TutelaError,
        _ work: @escaping @Sendable (SecretBytes, Passphrase) async throws -> T
    ) async throws -> T {
        let code = try SecretBytes(copying: Array(text.utf8))
        defer { code.wipe() }
        let passphrase = try Passphrase(newText)
        try passphrase.validateAsNew()
        return try await throttled(account: account.text, address: clientAddress(request, context))
        {
            do {
                return try await gate.deriving { try await work(code, passphrase) }
            } catch let error as TutelaError
                where [.notFound, .exists, .permissionDenied, .usage, .invalidInput].contains(
                    error.kind)
            {
                throw refusal
            }
        }
    }

    /// Refuses (403 `reauthenticate`) a request that issues credentials or changes who may do
    /// what unless its session proved who it is within `recentSignIn`: a stolen session token
    /// alone does not give it away.
    func requireRecent(_ context: TutelaRequestContext) async throws {
        let signedIn = try context.requireSignedIn()
        let within = SignedInSessions.seconds(configuration.recentSignIn)
        guard await sessions.verifiedRecently(signedIn, within: within) else {
            throw APIError(
                .forbidden, "reauthenticate",
                "this needs a recent sign-in: confirm your passphrase (and code) first",
                hint: "POST /api/v1/session/confirm with {\"passphrase\", \"code\"}, then again")
        }
    }

    /// Where a request comes from, for the sign-in throttle: the connection's address, or behind
    /// a proxy the `X-Real-IP` it set (every request through it would otherwise share one address,
    /// and twenty failures by anyone would lock everyone out).
    func clientAddress(_ request: Request, _ context: TutelaRequestContext) -> String {
        guard configuration.behindProxy, let real = request.headers[.realIP],
            ClientAddress.isAddress(real)
        else { return context.address }
        return real
    }

    /// The request's body, refused past the configured size.
    func body(
        of request: Request, type: String = "application/json", limit: Int? = nil
    ) async throws -> [UInt8] {
        // JSON only: a page on another site can send a form or plain text without asking, never
        // JSON (the browser asks first, and this server allows no other origin).
        guard request.headers[.contentType]?.lowercased().hasPrefix(type) == true else {
            throw APIError(
                .unsupportedMediaType, "usage", "the request body must be \(type)",
                hint: "send Content-Type: \(type)")
        }
        let limit = limit ?? configuration.maximumBody
        do {
            return Array(buffer: try await request.body.collect(upTo: limit))
        } catch is NIOTooManyBytesError {
            throw APIError(
                .contentTooLarge, "invalid-input", "the request body is larger than \(limit) bytes")
        }
    }

    /// The request's body as JSON of `type`; a body that is not names what is wrong, never what
    /// it held.
    func decode<T: Decodable>(
        _ type: T.Type, from request: Request, context: TutelaRequestContext
    ) async throws -> T {
        let bytes = try await body(of: request)
        do { return try JSONDecoder().decode(T.self, from: Data(bytes)) } catch let error
            as DecodingError
        {
            let problem: String
            switch error {
            case .keyNotFound(let key, _): problem = "'\(key.stringValue)' is missing"
            case .typeMismatch(_, let c), .valueNotFound(_, let c):
                problem =
                    "'\(c.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type"
            case .dataCorrupted: problem = "it is not JSON"
            @unknown default: problem = "it cannot be read"
            }
            throw APIError(.badRequest, "invalid-input", "the request body is wrong: \(problem)")
        }
    }
}

/// `tutela serve`: one vault for a whole centre over HTTP(S), the API of `../shared/API.md`.
public struct TutelaServer: Sendable {
    /// What the routes share.
    public let state: ServerState
    let logger: Logger

    /// A server for `vault`; ``ServerConfiguration/validate()`` has been called.
    public init(state: ServerState, logger: Logger) {
        self.state = state
        self.logger = logger
    }

    /// The routes and their middleware.
    func router() -> Router<TutelaRequestContext> {
        let router = Router(context: TutelaRequestContext.self)
        router.add(middleware: SecurityHeaders(tls: state.configuration.secureCookies))
        router.add(middleware: Errors(metrics: state.metrics))
        router.add(middleware: SameOrigin())
        router.get("/healthz") { _, _ in JSONResponse.make(.ok, ["ok": true]) }
        router.get("/metrics") { [state] request, context in
            // For a monitor on this machine only: counts by route would tell anyone else when a
            // flag or a break-glass happened. Through a proxy (which names the client) it is not
            // found, as if it were not there.
            guard state.isLocal(request, context) else {
                throw APIError(.notFound, "not-found", "no such endpoint")
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(
                    byteBuffer: ByteBuffer(
                        string: state.metrics.text(sessions: await state.sessions.count))))
        }
        SessionRoutes(server: state).add(to: router)
        RecordRoutes(server: state).add(to: router)
        SafeguardingRoutes(server: state).add(to: router)
        RetentionRoutes(server: state).add(to: router)
        PeopleRoutes(server: state).add(to: router)
        CorrectionRoutes(server: state).add(to: router)
        DirectoryRoutes(server: state).add(to: router)
        PolicyRoutes(server: state).add(to: router)
        GroupRoutes(server: state).add(to: router)
        RecoveryRoutes(server: state).add(to: router)
        PageRoutes(server: state).add(to: router)
        return router
    }

    /// The application: the router, the listener (TLS when configured), the session sweep.
    /// - Parameter onReady: called with the address (`http://HOST:PORT`) once it listens.
    public func application(
        onReady: @escaping @Sendable (String) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let configuration = state.configuration
        // A connection idle for 30 seconds (a client that stalls mid-request) is closed.
        let http1: HTTPServerBuilder = .http1(configuration: .init(idleTimeout: .seconds(30)))
        var server = http1
        if let tls = configuration.tls {
            let certificates = try NIOSSLCertificate.fromPEMFile(tls.certificate)
            let key = try NIOSSLPrivateKey(file: tls.key, format: .pem)
            var settings = TLSConfiguration.makeServerConfiguration(
                certificateChain: certificates.map { .certificate($0) },
                privateKey: .privateKey(key))
            settings.minimumTLSVersion = .tlsv12
            server = try .tls(http1, tlsConfiguration: settings)
        }
        return Application(
            router: router(), server: server,
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port),
                serverName: nil),
            services: [SessionSweep(sessions: state.sessions, throttle: state.throttle)],
            onServerRunning: { channel in
                await onReady(configuration.url(port: channel.localAddress?.port ?? 0))
            },
            logger: logger)
    }

    /// Runs until SIGTERM or SIGINT: requests in flight finish, then every session ends and its
    /// unlocked identity is wiped.
    public func run(onReady: @escaping @Sendable (String) async -> Void) async throws {
        let app = try application(onReady: onReady)
        do {
            try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
        } catch {
            await state.sessions.endAll()
            throw error
        }
        await state.sessions.endAll()
    }
}

/// Ends sessions whose time is up every half minute, so an idle person's unlocked identity does
/// not outlive their session by more than that even if they never come back.
struct SessionSweep: Service {
    let sessions: SignedInSessions
    let throttle: SignInThrottle

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(30))
                await sessions.sweep()
                await throttle.prune()
            }
        }
    }
}

/// Lets one piece of heavy work run at a time; others are told to try again.
actor OneAtATime {
    private var running = false
    /// What is running, for the refusal: "the audit log is being verified".
    let what: String

    init(_ what: String) { self.what = what }

    func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        guard !running else {
            throw TutelaError(
                .tryAgain, "\(what) already", hint: "try again when it has finished")
        }
        running = true
        defer { running = false }
        return try await body()
    }
}
