import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing
import Tutela
import TutelaCrypto
import TutelaTesting

@testable import TutelaServer

/// A clock tests move on, in the server's monotonic seconds.
final class TestClock: Sendable {
    private let seconds = Mutex<Double>(1_000)
    func advance(minutes: Double) { seconds.withLock { $0 += minutes * 60 } }
    var now: @Sendable () -> Double { { [self] in seconds.withLock { $0 } } }
}

/// Every line the server logged, to look for what must never be there.
/// The vault's clock (seconds since 1970), moved on 30 s before each sign-in with a code: a code
/// of a time step already used is refused.
final class VaultClock: Sendable {
    private let seconds = Mutex<Int64>(1_795_300_000)
    var clock: Clock { Clock { [self] in seconds.withLock { $0 } } }
    /// Moves the vault's clock on by `days` (retention: a record's period ending).
    func advance(days: Int64) { seconds.withLock { $0 += days * 86_400 } }
    func nextStep() -> Int64 {
        seconds.withLock {
            $0 += 30
            return $0
        }
    }
}

/// The authenticator keys of the people the policy requires a second factor of, enrolled by the
/// harness as each would with their app.
final class Authenticators: Sendable {
    let keys = Mutex<[String: SecretBytes]>([:])
    let vaultClock: VaultClock

    init(vaultClock: VaultClock) { self.vaultClock = vaultClock }

    /// The code `id`'s app shows now, a step after the last one asked for; nil if none enrolled.
    func code(for id: String) throws -> String? {
        guard let key = keys.withLock({ $0[id] }) else { return nil }
        return try OneTimeCode.totp(key: key, time: vaultClock.nextStep())
    }

    /// Enrols a second factor for every person of `centre` the policy requires one of.
    func enrolRequired(in vault: Vault, people: [String]) async throws {
        for id in people {
            let passphrase = try Passphrase(API.passphrase(id))
            guard
                let session = try? await vault.unlock(
                    try PrincipalID(id), passphrase: passphrase)
            else { continue }
            guard session.secondFactorRequired else { continue }
            let key = try SecondFactor.newKey()
            let code = try OneTimeCode.totp(key: key, time: vaultClock.nextStep())
            _ = try await session.enrolSecondFactor(key: key, code: code, passphrase: passphrase)
            keys.withLock { $0[id] = key }
        }
    }
}

final class LogLines: Sendable {
    let lines = Mutex<[String]>([])
    var all: String { lines.withLock { $0.joined(separator: "\n") } }
}

struct CapturingHandler: LogHandler {
    let sink: LogLines
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        sink.lines.withLock { $0.append("\(event.message) \(all)") }
    }
}

/// The shared test centre behind a server, tested through Hummingbird's router.
struct Harness {
    let centre: Centre<FaultInjectingStore<MemoryVaultStore>>
    let clock = TestClock()
    let logs = LogLines()
    let server: TutelaServer
    let authenticators: Authenticators

    /// A centre served by a test server. `secondFactors`: the people the policy requires a
    /// second factor of (office, dsl, head) enrol one first, and sign in with its codes.
    static func make(
        groups: Bool = true, secondFactors: Bool = true,
        _ configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws -> Harness {
        let vaultClock = VaultClock()
        let centre = try await Centre.make(clock: vaultClock.clock, groups: groups)
        let authenticators = Authenticators(vaultClock: vaultClock)
        if secondFactors {
            try await authenticators.enrolRequired(
                in: centre.vault, people: ["office", "dsl", "head"])
        }
        var configuration = ServerConfiguration()
        configure(&configuration)
        return Harness(centre: centre, configure: configuration, authenticators: authenticators)
    }

    private init(
        centre: Centre<FaultInjectingStore<MemoryVaultStore>>, configure: ServerConfiguration,
        authenticators: Authenticators
    ) {
        self.centre = centre
        self.authenticators = authenticators
        let logs = logs
        let logger = Logger(label: "test") { _ in CapturingHandler(sink: logs) }
        server = TutelaServer(
            state: ServerState(vault: centre.vault, configuration: configure, now: clock.now),
            logger: logger)
    }

    func run<T: Sendable>(_ body: @Sendable (API) async throws -> T) async throws -> T {
        let authenticators = authenticators
        return try await server.application().test(.router) { client in
            try await body(API(client: client, authenticators: authenticators))
        }
    }
}

/// A signed-in person as the API answered them.
struct SignedIn: Sendable {
    let token: String
    let csrf: String
    let cookie: String
}

/// How a request proves who it is from.
enum Credential: Sendable {
    case bearer(SignedIn)
    /// The cookie, with the CSRF header unless `csrf` is false.
    case cookie(SignedIn, csrf: Bool = true)
    case none
}

struct API: Sendable {
    let client: any TestClientProtocol
    let authenticators: Authenticators

    static func passphrase(_ id: String) -> String { "test passphrase for \(id)" }

    /// Signs `id` in; `code` defaults to what their app shows now, if they enrolled one ("" for
    /// none).
    func signIn(
        _ id: String, passphrase: String? = nil, code: String? = nil, cookie: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = extra
        headers[.contentType] = "application/json"
        if let cookie { headers[.cookie] = "tutela_session=\(cookie)" }
        var fields = ["principal": id, "passphrase": passphrase ?? Self.passphrase(id)]
        if let code = try code ?? authenticators.code(for: id), !code.isEmpty {
            fields["code"] = code
        }
        let body = try JSONSerialization.data(withJSONObject: fields)
        return try await client.execute(
            uri: "/api/v1/session", method: .post, headers: headers, body: ByteBuffer(bytes: body))
    }

    func signedIn(_ id: String) async throws -> SignedIn {
        let response = try await signIn(id)
        guard response.status == .created else {
            throw TutelaError(.permissionDenied, "\(id) could not sign in: \(response.text)")
        }
        let json = try response.json()
        let token = json["token"] as? String ?? ""
        let signedIn = SignedIn(token: token, csrf: json["csrf"] as? String ?? "", cookie: token)
        if json["secondFactor"] as? String == "required" { try await enrol(id, signedIn) }
        return signedIn
    }

    /// Enrols an authenticator for `id` through the API, as their app would, and keeps its key.
    func enrol(_ id: String, _ who: SignedIn) async throws {
        let offer = try await call(.post, "/api/v1/session/second-factor", as: .bearer(who))
        let secret = try #require(try offer.json()["secret"] as? String)
        let key = try SecretBytes(copying: try #require(Base32.decode(secret)))
        let code = try OneTimeCode.totp(key: key, time: authenticators.vaultClock.nextStep())
        let confirmed = try await call(
            .post, "/api/v1/session/second-factor/confirm", as: .bearer(who),
            body: #"{"passphrase": "\#(Self.passphrase(id))", "code": "\#(code)"}"#)
        guard confirmed.status == .created else {
            throw TutelaError(.internal, "\(id) could not enrol: \(confirmed.text)")
        }
        authenticators.keys.withLock { $0[id] = key }
    }

    @discardableResult
    func call(
        _ method: HTTPRequest.Method, _ uri: String, as credential: Credential,
        body: String? = nil, headers extra: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = extra
        if body != nil, headers[.contentType] == nil { headers[.contentType] = "application/json" }
        switch credential {
        case .bearer(let who): headers[.authorization] = "Bearer \(who.token)"
        case .cookie(let who, let csrf):
            headers[.cookie] = "tutela_session=\(who.cookie)"
            if csrf { headers[HTTPField.Name("X-Tutela-CSRF")!] = who.csrf }
        case .none: break
        }
        return try await client.execute(
            uri: uri, method: method, headers: headers,
            body: body.map { ByteBuffer(string: $0) })
    }

    /// Seals a small form about `learner` whose comments are `marker`; returns its record id.
    func seal(as who: SignedIn, learner: String = "sam", marker: String, confidential: Bool = false)
        async throws -> String
    {
        let response = try await call(
            .post, "/api/v1/tutorials" + (confidential ? "?confidential=true" : ""),
            as: .bearer(who), body: API.form(learner: learner, marker: marker))
        guard response.status == .created, let record = try response.json()["record"] as? String
        else { throw TutelaError(.internal, "sealing failed: \(response.text)") }
        return record
    }

    static func form(learner: String = "sam", marker: String) -> String {
        """
        {"learner": "\(learner)", "date": "2026-11-20", "course": "Level 2 Diploma in Construction",
         "attendance": {"lessons": 40, "absences": 3}, "punctuality": "good",
         "comments": "\(marker)", "copiesTo": ["learner"]}
        """
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    func json() throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
    }

    /// The error code of an error response.
    var code: String? {
        ((try? json())?["error"] as? [String: Any])?["code"] as? String
    }
}
