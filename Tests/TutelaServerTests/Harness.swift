import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Tutela
import TutelaTesting

@testable import TutelaServer

/// A clock tests move on, in the server's monotonic seconds.
final class TestClock: Sendable {
    private let seconds = Mutex<Double>(1_000)
    func advance(minutes: Double) { seconds.withLock { $0 += minutes * 60 } }
    var now: @Sendable () -> Double { { [self] in seconds.withLock { $0 } } }
}

/// Every line the server logged, to look for what must never be there.
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

    static func make(
        groups: Bool = true, _ configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws -> Harness {
        let centre = try await Centre.make(groups: groups)
        var configuration = ServerConfiguration()
        configure(&configuration)
        return Harness(centre: centre, configure: configuration)
    }

    private init(
        centre: Centre<FaultInjectingStore<MemoryVaultStore>>, configure: ServerConfiguration
    ) {
        self.centre = centre
        let logs = logs
        let logger = Logger(label: "test") { _ in CapturingHandler(sink: logs) }
        server = TutelaServer(
            state: ServerState(vault: centre.vault, configuration: configure, now: clock.now),
            logger: logger)
    }

    func run<T: Sendable>(_ body: @Sendable (API) async throws -> T) async throws -> T {
        try await server.application().test(.router) { client in try await body(API(client: client))
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

    static func passphrase(_ id: String) -> String { "test passphrase for \(id)" }

    func signIn(
        _ id: String, passphrase: String? = nil, cookie: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = extra
        headers[.contentType] = "application/json"
        if let cookie { headers[.cookie] = "tutela_session=\(cookie)" }
        let body = try JSONSerialization.data(withJSONObject: [
            "principal": id, "passphrase": passphrase ?? Self.passphrase(id),
        ])
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
        return SignedIn(token: token, csrf: json["csrf"] as? String ?? "", cookie: token)
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
