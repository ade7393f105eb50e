import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Tutela
import TutelaSQLite
import TutelaServer

/// What many people signed in at once get from `tutela serve` (#22): clients on loopback, each
/// sealing a form and opening it, one request after another; beside the library's own cost of a
/// seal and an open (what the command line pays per record after its unlock), in the same run.
struct ServeResult {
    var clients = 0
    var rounds = 0
    var elapsed = 0.0
    var seal: [Double] = []
    var open: [Double] = []
    var librarySeal: [Double] = []
    var libraryOpen: [Double] = []
}

struct ServeBenchmark {
    let clients: Int
    let rounds: Int
    let policy: (text: [UInt8], source: String)
    let root: URL

    /// Ten tutors, or more: one person holds at most five sessions on a server.
    var tutors: [String] { (1...max(10, (clients + 4) / 5)).map { String(format: "t%02d", $0) } }

    func passphrase(_ who: String) throws -> Passphrase {
        try Passphrase("benchmark passphrase for \(who)")
    }

    static func form(learner: Int, round: Int) -> String {
        #"{"learner": "\#(String(format: "l%06d", learner))", "date": "2026-11-20", "#
            + #""course": "Level 2 Diploma", "attendance": {"lessons": 40, "absences": \#(round % 5)}, "#
            + #""punctuality": "good", "comments": "Round \#(round): steady progress in every unit.", "#
            + #""copiesTo": ["learner"]}"#
    }

    func run() async throws -> ServeResult {
        var result = ServeResult()
        result.clients = clients
        result.rounds = rounds
        let store = try SQLiteVaultStore(
            directory: root.appendingPathComponent("vault"), create: true)
        let pins = FileHeadPinStore(directory: root.appendingPathComponent("state"))
        let vault = Vault(store: store, pins: pins)
        say("serve: a centre of \(tutors.count) tutors, \(clients) clients")
        try await Vault.create(
            store: store, authorityID: try PrincipalID("office"), authorityName: "Trust office",
            passphrase: passphrase("office"), kdf: .interactive, pins: pins, policy: policy)
        let office = try await vault.unlock(
            try PrincipalID("office"), passphrase: passphrase("office"))
        for (id, role) in tutors.map({ ($0, Role.tutor) }) + [
            ("head", .headOfCentre), ("dsl", .safeguardingOfficer),
        ] {
            let code = try await office.administration.invite(
                try PrincipalID(id), name: "Staff \(id)", roles: [role])
            try await vault.activate(
                try PrincipalID(id), code: code.text, passphrase: passphrase(id))
        }
        for (id, role) in [("head", Role.headOfCentre), ("dsl", .safeguardingOfficer)] {
            try await vault.unlock(try PrincipalID(id), passphrase: passphrase(id)).lifecycle
                .createGroupKey(role)
        }
        for i in 0..<(tutors.count * 10) {
            try await office.administration.addLearner(
                try learnerID(i), name: "Learner \(i)",
                tutor: try PrincipalID(tutors[i % tutors.count]),
                dateOfBirth: nil, programme: nil)
        }

        // The library's own cost, one tutor, one record after another.
        let tutor = try await vault.unlock(try PrincipalID("t01"), passphrase: passphrase("t01"))
        for round in 0..<max(20, rounds * 4) {
            let form = try ProgressReview.parse(
                Array(Self.form(learner: 0, round: round).utf8), source: "bench")
            var label: Label?
            result.librarySeal.append(
                try await secondsAsync { label = try await tutor.seal(form, confidential: false) })
            guard let record = label?.record else { continue }
            result.libraryOpen.append(
                try await secondsAsync {
                    _ = try await tutor.open(record)
                    try await tutor.settle()
                })
        }

        // The server, in this process, on a free loopback port. Each client: a tutor (five
        // sessions each), signed in, then seal-and-open rounds.
        let measured = try await withLoopbackServer(vault, label: "tutela.bench.serve") {
            http, base in try await drive(http, base: base, result: result)
        }
        // Every entry written by everyone at once is in one unbroken, verified log.
        _ = try await vault.verifyAudit(checkpoint: nil)
        return measured
    }

    /// Signs the clients in and runs their rounds.
    func drive(_ http: HTTPClient, base: String, result: ServeResult) async throws -> ServeResult {
        var result = result
        let tutors = tutors
        let rounds = rounds
        var tokens: [(token: String, tutor: Int)] = []
        for c in 0..<clients {
            let t = c % tutors.count
            let body =
                #"{"principal": "\#(tutors[t])", "passphrase": "benchmark passphrase for \#(tutors[t])"}"#
            let (status, text) = try await Self.call(
                http, "POST", base + "/api/v1/session", body: body)
            guard status == 201,
                let json = try JSONSerialization.jsonObject(with: Data(text.utf8))
                    as? [String: Any],
                let token = json["token"] as? String
            else { throw BenchError("sign-in failed: \(status) \(text)") }
            tokens.append((token, t))
        }
        say("serve: \(clients) clients × \(rounds) rounds of seal and open")
        let start = DispatchTime.now().uptimeNanoseconds
        let timings = try await withThrowingTaskGroup(of: ([Double], [Double]).self) { group in
            for (token, t) in tokens {
                group.addTask {
                    var seals: [Double] = []
                    var opens: [Double] = []
                    for round in 0..<rounds {
                        // Each tutor's own tutees: learner t, t+10, t+20, …
                        let learner = t + tutors.count * (round % 10)
                        var text = ""
                        var status = 0
                        seals.append(
                            try await secondsAsync {
                                (status, text) = try await Self.call(
                                    http, "POST", base + "/api/v1/tutorials", token: token,
                                    body: Self.form(learner: learner, round: round))
                            })
                        guard status == 201,
                            let json = try JSONSerialization.jsonObject(with: Data(text.utf8))
                                as? [String: Any],
                            let record = json["record"] as? String
                        else { throw BenchError("seal failed: \(status) \(text)") }
                        opens.append(
                            try await secondsAsync {
                                (status, _) = try await Self.call(
                                    http, "GET", base + "/api/v1/records/\(record)", token: token)
                            })
                        guard status == 200 else { throw BenchError("open failed: \(status)") }
                    }
                    return (seals, opens)
                }
            }
            return try await group.reduce(into: ([Double](), [Double]())) {
                $0.0 += $1.0
                $0.1 += $1.1
            }
        }
        result.elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        result.seal = timings.0.sorted()
        result.open = timings.1.sorted()
        result.librarySeal.sort()
        result.libraryOpen.sort()
        return result
    }

    static func call(
        _ http: HTTPClient, _ method: String, _ url: String, token: String? = nil,
        body: String? = nil
    ) async throws -> (Int, String) {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await http.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 1 << 22)
        return (Int(response.status.code), String(buffer: bytes))
    }
}

func report(serve r: ServeResult) {
    print("\n## Many people at once (`tutela serve`, loopback, each client seals then opens)\n")
    print(
        "| clients | requests | throughput | seal-and-open pairs | one library session's pairs (seal + open medians) | pairs × one session | seal p50, p99 | open p50, p99 | in flight ÷ throughput |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    let requests = r.seal.count + r.open.count
    let librarySeal = quantile(r.librarySeal, 0.5)
    let libraryOpen = quantile(r.libraryOpen, 0.5)
    let pairs = Double(r.seal.count) / r.elapsed
    let onePairs = 1 / (librarySeal + libraryOpen)
    // With every client's request in flight, each waits behind the others: Little's law.
    let queueing = Double(r.clients) / (Double(requests) / r.elapsed)
    print(
        "| \(r.clients) | \(requests) | \(perSecond(Double(requests) / r.elapsed)) | \(perSecond(pairs)) | \(perSecond(onePairs)) (\(duration(librarySeal)) + \(duration(libraryOpen))) | \(ratio(pairs / onePairs)) | \(duration(quantile(r.seal, 0.5))), \(duration(quantile(r.seal, 0.99))) | \(duration(quantile(r.open, 0.5))), \(duration(quantile(r.open, 0.99))) | \(duration(queueing)) |"
    )
}
