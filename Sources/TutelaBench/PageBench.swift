import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Tutela
import TutelaServer

/// What a web page costs beyond its operation (#23): each page fetched as a browser fetches it
/// (the session cookie, the form's CSRF token) from an in-process `tutela serve` on loopback,
/// beside the same operation called on the library by one signed-in session, in the same run.
struct PageResult {
    struct Row {
        let page: String
        var samples: [Double] = []
        var operation: [Double] = []
    }
    var records = 0
    /// The sign-in through the page, with the person's catch-up (seconds).
    var signIn = 0.0
    var rows: [Row] = []
}

struct PageBenchmark {
    let vault: Vault
    /// A tutor who wrote every record (the import's author), and their passphrase.
    let tutor: PrincipalID
    let passphrase: String
    let sample: [RecordID]
    let records: Int

    func run() async throws -> PageResult {
        try await withLoopbackServer(vault, label: "tutela.bench.pages") { http, base in
            try await measure(http, base: base)
        }
    }

    private func measure(_ http: HTTPClient, base: String) async throws -> PageResult {
        say("\(count(records)): web pages")
        let started = DispatchTime.now().uptimeNanoseconds
        let signIn = try await fetch(
            http, "POST", base + "/sign-in", cookie: nil,
            form: "principal=\(tutor)&passphrase="
                + (passphrase.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
        guard signIn.status == 303,
            let cookie = signIn.cookie?.split(separator: ";").first.map(String.init)
        else { throw BenchError("page sign-in failed: \(signIn.status)") }
        let signedIn = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        say("\(count(records)): web pages: signed in in \(duration(signedIn))")
        let home = try await fetch(http, "GET", base + "/", cookie: cookie)
        guard
            let csrf = home.body.firstMatch(of: /name="csrf" value="([^"]+)"/).map({
                String($0.1)
            })
        else { throw BenchError("no CSRF token on the home page") }
        // The library's side, one session, as a signed-in person's requests use it.
        let session = try await vault.unlock(tutor, passphrase: try Passphrase(passphrase))
        var result = PageResult(records: records, signIn: signedIn)
        let rounds = max(5, min(50, sample.count))

        var list = PageResult.Row(page: "records list (first page of 25)")
        var open = PageResult.Row(page: "open a record (print view)")
        var tutees = PageResult.Row(page: "my tutees")
        var homeRow = PageResult.Row(page: "home (counts, notices)")
        for i in 0..<rounds {
            if i == 0 { say("\(count(records)): web pages: first round") }
            list.operation.append(
                try await secondsAsync {
                    _ = try await session.finding.records(RecordQuery(perPage: 25))
                })
            list.samples.append(
                try await secondsAsync {
                    let page = try await fetch(http, "GET", base + "/records", cookie: cookie)
                    guard page.status == 200 else { throw BenchError("records: \(page.status)") }
                })
            let id = sample[i % sample.count]
            open.operation.append(
                try await secondsAsync {
                    _ = try await session.open(id)
                    try await session.settle()
                })
            open.samples.append(
                try await secondsAsync {
                    let page = try await fetch(
                        http, "POST", base + "/records/\(id)/open", cookie: cookie,
                        form: "csrf=\(csrf)")
                    guard page.status == 200 else { throw BenchError("open: \(page.status)") }
                })
            tutees.operation.append(
                try await secondsAsync {
                    for learner in session.finding.learners(tutor: tutor) {
                        _ = try await session.finding.records(
                            RecordQuery(learner: learner.id, perPage: 1))
                    }
                })
            tutees.samples.append(
                try await secondsAsync {
                    let page = try await fetch(http, "GET", base + "/tutees", cookie: cookie)
                    guard page.status == 200 else { throw BenchError("tutees: \(page.status)") }
                })
            homeRow.operation.append(
                try await secondsAsync {
                    _ = try await session.inbox()
                    _ = session.finding.learners(tutor: tutor)
                    _ = try await session.finding.records(RecordQuery(perPage: 1))
                })
            homeRow.samples.append(
                try await secondsAsync {
                    let page = try await fetch(http, "GET", base + "/", cookie: cookie)
                    guard page.status == 200 else { throw BenchError("home: \(page.status)") }
                })
        }
        result.rows = [list, open, tutees, homeRow].map { row in
            var sorted = row
            sorted.samples.sort()
            sorted.operation.sort()
            return sorted
        }
        return result
    }

    private func fetch(
        _ http: HTTPClient, _ method: String, _ url: String, cookie: String?, form: String? = nil
    ) async throws -> (status: Int, body: String, cookie: String?) {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        if let cookie { request.headers.add(name: "Cookie", value: cookie) }
        if let form {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: form))
        }
        // A sign-in does the person's queued work first (their grants, over every record they
        // hold a key to): for the tutor who wrote every record, that takes a while.
        let response = try await http.execute(request, timeout: .seconds(1800))
        let bytes = try await response.body.collect(upTo: 1 << 24)
        return (
            Int(response.status.code), String(buffer: bytes),
            response.headers.first(name: "Set-Cookie")
        )
    }
}

/// Runs `body` against `tutela serve` started in this process on a free loopback port, with an
/// HTTP client that follows no redirects (a browser's redirect after a form is the next page, not
/// part of this one); stops both afterwards.
func withLoopbackServer<T: Sendable>(
    _ vault: Vault, label: String, _ body: (HTTPClient, String) async throws -> T
) async throws -> T {
    var configuration = ServerConfiguration()
    configuration.port = 0
    configuration.parallelSignIns = 2
    var logger = Logger(label: label)
    logger.logLevel = .error
    let server = TutelaServer(
        state: ServerState(vault: vault, configuration: configuration), logger: logger)
    let (ready, announce) = AsyncStream.makeStream(of: String.self)
    let app = try server.application { address in announce.yield(address) }
    let running = Task { try await app.runService(gracefulShutdownSignals: []) }
    var addresses = ready.makeAsyncIterator()
    guard let base = await addresses.next() else {
        running.cancel()
        throw BenchError("the server did not start")
    }
    var client = HTTPClient.Configuration()
    client.redirectConfiguration = .disallow
    let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: client)
    do {
        let result = try await body(http, base)
        try await http.shutdown()
        running.cancel()
        _ = try? await running.value
        return result
    } catch {
        try? await http.shutdown()
        running.cancel()
        throw error
    }
}

func report(pages r: PageResult) {
    print("\n## Web pages at \(count(r.records)) records (a tutor who wrote every one)\n")
    print(
        "Signing in through the page (Argon2id, then the person's catch-up over every record "
            + "they hold a key to): \(duration(r.signIn)).\n")
    print("| page | page p50, p99 | its operation on the library, p50 | page − operation (p50) |")
    print("|---|---|---|---|")
    for row in r.rows {
        let page = quantile(row.samples, 0.5)
        let operation = quantile(row.operation, 0.5)
        print(
            "| \(row.page) | \(duration(page)), \(duration(quantile(row.samples, 0.99))) | \(duration(operation)) | \(duration(page - operation)) |"
        )
    }
}
