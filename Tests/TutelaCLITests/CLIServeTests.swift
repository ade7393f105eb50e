import Foundation
import Synchronization
import Testing

#if TUTELA_SERVER

    /// `tutela serve` as an operator starts it: what it refuses, what it prints, how it stops, and
    /// what a killed server leaves behind.
    @Suite("tutela serve")
    struct CLIServeTests {
        /// A running `tutela serve` on a free loopback port.
        final class Server {
            let process = Process()
            let url: String
            let errors = Pipe()

            init(_ v: CLIVault, extra: [String] = []) throws {
                process.executableURL = CLI.binary
                process.arguments =
                    ["serve", "--listen", "127.0.0.1:0", "--vault", v.vault] + extra
                var env = ProcessInfo.processInfo.environment
                env["TUTELA_STATE_DIR"] = v.root.appendingPathComponent("state").path
                process.environment = env
                let out = Pipe()
                process.standardOutput = out
                process.standardError = errors
                try process.run()
                var line = Data()
                while !line.contains(UInt8(ascii: "\n")) {
                    let chunk = out.fileHandleForReading.availableData
                    guard !chunk.isEmpty else { break }
                    line += chunk
                }
                let text = String(decoding: line, as: UTF8.self)
                guard let range = text.range(of: "listening on ") else {
                    throw CocoaError(.featureUnsupported)
                }
                url = String(text[range.upperBound...]).trimmingCharacters(
                    in: .whitespacesAndNewlines)
            }

            /// Sends SIGTERM and waits; returns the exit status.
            func stop() -> Int32 {
                process.terminate()
                process.waitUntilExit()
                return process.terminationStatus
            }

            /// The server's log (standard error), once it has stopped.
            var log: String {
                String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            }

            deinit { if process.isRunning { process.terminate() } }
        }

        final class Acknowledged: Sendable {
            let list = Mutex<[String]>([])
        }

        /// `curl` against the server: the status code and the body.
        static func curl(
            _ method: String, _ url: String, token: String? = nil, body: String? = nil
        ) throws -> (status: Int, body: String) {
            var args = ["-s", "-o", "-", "-w", "\n%{http_code}", "-X", method, url]
            if let token { args += ["-H", "Authorization: Bearer \(token)"] }
            if let body { args += ["-H", "Content-Type: application/json", "--data-binary", body] }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            process.arguments = args
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            let text = String(decoding: data, as: UTF8.self)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
        }

        static func signIn(_ url: String, _ who: String) throws -> String {
            let r = try curl(
                "POST", url + "/api/v1/session",
                body: #"{"principal": "\#(who)", "passphrase": "\#(CLIVault.passphrase(who))"}"#)
            let json = try JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any]
            return json?["token"] as? String ?? ""
        }

        static func form(_ marker: String) -> String {
            #"{"learner": "sam", "date": "2026-11-20", "course": "Construction", "comments": "\#(marker)"}"#
        }

        @Test("beyond loopback without TLS is refused with 64 and says what to do")
        func refusesPlainHTTPBeyondLoopback() throws {
            let v = try CLIVault(people: false)
            let r = try CLI.run(["serve", "--listen", "0.0.0.0:0", "--vault", v.vault])
            #expect(r.status == 64)
            #expect(r.stderr.contains("without TLS"))
            #expect(r.stderr.contains("--insecure-http"))
            let half = try CLI.run(["serve", "--tls-cert", "x.pem", "--vault", v.vault])
            #expect(half.status == 64)
        }

        @Test("it serves, logs no content or token, and stops cleanly on SIGTERM")
        func servesAndStops() throws {
            let v = try CLIVault()
            let server = try Server(v)
            #expect(server.url.hasPrefix("http://127.0.0.1:"))
            #expect(try Self.curl("GET", server.url + "/healthz").status == 200)
            let token = try Self.signIn(server.url, "price")
            #expect(!token.isEmpty)
            let sealed = try Self.curl(
                "POST", server.url + "/api/v1/tutorials", token: token,
                body: Self.form("MARKER-SERVE-1"))
            #expect(sealed.status == 201, "\(sealed.body)")
            let record =
                (try JSONSerialization.jsonObject(with: Data(sealed.body.utf8)) as? [String: Any])?[
                    "record"] as? String ?? ""
            let opened = try Self.curl(
                "GET", server.url + "/api/v1/records/\(record)", token: token)
            #expect(opened.status == 200)
            #expect(opened.body.contains("MARKER-SERVE-1"))
            #expect(server.stop() == 0)
            let log = server.log
            #expect(log.contains("route=/api/v1/records/{id}"))
            for secret in ["MARKER-SERVE-1", token, CLIVault.passphrase("price")] {
                #expect(!log.contains(secret))
            }
            // Nothing of the record's contents is in any file of the vault.
            let files =
                FileManager.default.enumerator(atPath: v.vault)?.compactMap { $0 as? String } ?? []
            for file in files {
                let data = FileManager.default.contents(atPath: v.vault + "/" + file) ?? Data()
                #expect(data.range(of: Data("MARKER-SERVE-1".utf8)) == nil, "\(file)")
            }
            #expect(try v.run(["audit", "verify"]).status == 0)
        }

        @Test(
            "killed during seals and opens, it loses nothing it acknowledged and the log verifies")
        func killedMidFlight() async throws {
            let v = try CLIVault()
            let server = try Server(v)
            let token = try Self.signIn(server.url, "price")
            let url = server.url
            let pid = server.process.processIdentifier
            let acknowledged = Acknowledged()
            try await withThrowingTaskGroup(of: Void.self) { group in
                // Four people's worth of seals and opens in flight, one after another each...
                for worker in 0..<4 {
                    group.addTask {
                        for i in 0..<40 {
                            let r = try Self.curl(
                                "POST", url + "/api/v1/tutorials", token: token,
                                body: Self.form("k\(worker)-\(i)"))
                            guard r.status == 201 else { return }  // the server is gone
                            let json =
                                try JSONSerialization.jsonObject(with: Data(r.body.utf8))
                                as? [String: Any]
                            guard let record = json?["record"] as? String else { return }
                            acknowledged.list.withLock { $0.append(record) }
                            _ = try Self.curl(
                                "GET", url + "/api/v1/records/\(record)", token: token)
                        }
                    }
                }
                // ...and the server killed once some were acknowledged, with others under way (from a
                // thread of its own: the workers' blocking waits may hold every thread of the pool).
                Thread.detachNewThread {
                    while acknowledged.list.withLock({ $0.count }) < 6 { usleep(2_000) }
                    kill(pid, SIGKILL)
                }
                try await group.waitForAll()
            }
            server.process.waitUntilExit()
            #expect(try v.run(["audit", "verify"]).status == 0)
            let records = acknowledged.list.withLock { $0 }
            #expect(records.count >= 6 && records.count < 40)
            for record in records {
                let r = try v.run(["tutorial", "open", record, "--json"], as: "price")
                #expect(r.status == 0, "acknowledged \(record) is lost: \(r.stderr)")
            }
        }
    }
#endif
