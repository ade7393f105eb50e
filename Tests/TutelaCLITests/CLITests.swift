import Foundation
import Testing

/// Runs the built `tutela` binary and captures what a user would see.
struct CLIResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

enum CLI {
    /// The `tutela` executable beside the test bundle (both live in the build's products folder).
    static var binary: URL {
        if let override = ProcessInfo.processInfo.environment["TUTELA_BINARY"] {
            return URL(fileURLWithPath: override)
        }
        var dir = Bundle.main.bundleURL
        // Walk up from the test bundle until the products folder holding `tutela` is found.
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("tutela")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("tutela")
    }

    static func run(
        _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil,
        in directory: URL? = nil
    ) throws -> CLIResult {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["TUTELA_PASSPHRASE"] = nil
        env["TUTELA_NEW_PASSPHRASE"] = nil
        env["TUTELA_VAULT"] = nil
        for (key, value) in environment { env[key] = value }
        process.environment = env
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        // Read both pipes to the end before waiting, so a chatty child never blocks on a full pipe.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return CLIResult(
            status: process.terminationStatus,
            stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }
}

@Suite("tutela command line")
struct CLIBasicsTests {
    @Test("--version prints the version and exits 0")
    func version() throws {
        let result = try CLI.run(["--version"])
        #expect(result.status == 0)
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0.1.0")
    }

    @Test("--help describes Tutela")
    func help() throws {
        let result = try CLI.run(["--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("confidential learner records"))
    }

    @Test("an unknown command is a usage error (64)")
    func unknown() throws {
        let result = try CLI.run(["frobnicate"])
        #expect(result.status == 64)
        #expect(result.stdout.isEmpty)
    }
}

@Suite("tutela --json errors")
struct CLIJSONErrorTests {
    /// The `error` object of a `--json` run's stdout.
    func error(_ r: CLIResult) throws -> [String: Any] {
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        return try #require(object["error"] as? [String: Any])
    }

    @Test("with --json an error is {error: {code, message, hint}} on stdout, exit code unchanged")
    func jsonErrors() throws {
        let v = try CLIVault()
        let missing = try CLI.run([
            "records", "list", "--as", "x", "--vault", "/nonexistent", "--json",
        ])
        #expect(missing.status == 66)
        #expect(try error(missing)["code"] as? String == "not-found")
        #expect(try error(missing)["hint"] as? String != nil)
        let usage = try CLI.run(["records", "list", "--json", "--vault", v.vault])
        #expect(usage.status == 64)
        #expect(try error(usage)["code"] as? String == "usage")
        let file = try v.write("t.json", CLIVault.form())
        let sealed = try v.run(["tutorial", "seal", file, "--confidential", "--json"], as: "price")
        let record =
            try #require(
                try JSONSerialization.jsonObject(with: Data(sealed.stdout.utf8)) as? [String: Any])[
                "record"] as? String
        // A record id is read in any case, as people copy it off paper.
        let lower = try v.run(["tutorial", "open", try #require(record).lowercased()], as: "price")
        #expect(lower.status == 0, "\(lower.stderr)")
        let denied = try v.run(["tutorial", "open", try #require(record), "--json"], as: "hale")
        #expect(denied.status == 77)
        #expect(try error(denied)["code"] as? String == "denied")
        #expect((try error(denied)["message"] as? String)?.contains("may not open") == true)
        // An already-flagged record is 73 ("exists"), not a refusal.
        let flag = ["safeguarding", "flag", try #require(record), "--reason", "ref"]
        let flagged = try v.run(flag + ["--json"], as: "price")
        let done = try #require(
            try JSONSerialization.jsonObject(with: Data(flagged.stdout.utf8)) as? [String: Any])
        #expect(done["record"] as? String == record && done["flagged"] as? Bool == true)
        let again = try v.run(flag + ["--json"], as: "price")
        #expect(again.status == 73, "\(again.stderr)")
        #expect(try error(again)["code"] as? String == "exists")
        // A word the parser refuses is named on stderr only: it may be a code typed out of place.
        let bogus = try CLI.run(["records", "list", "--as", "x", "--bogus-9F2K", "--json"])
        #expect(bogus.status == 64)
        #expect(try error(bogus)["code"] as? String == "usage")
        #expect(!bogus.stdout.contains("9F2K") && bogus.stderr.contains("9F2K"))
        // Help is help, not an error.
        let help = try CLI.run(["records", "list", "--help", "--json"])
        #expect(help.status == 0 && help.stdout.contains("USAGE"))
    }
}

extension CLIJSONErrorTests {
    /// The subcommand names a `--help` page lists.
    static func subcommands(_ help: String) -> [String] {
        guard let start = help.range(of: "SUBCOMMANDS:\n") else { return [] }
        return help[start.upperBound...].split(separator: "\n", omittingEmptySubsequences: false)
            .prefix { !$0.isEmpty }
            .filter { $0.hasPrefix("  ") && !$0.hasPrefix("    ") }
            .compactMap { $0.split(separator: " ").first.map(String.init) }
            .filter { $0 != "help" }
    }

    @Test("every command but the narrated demo takes --json")
    func everyCommandTakesJSON() throws {
        var missing: [String] = []
        var leaves = 0
        func walk(_ path: [String]) throws {
            let help = try CLI.run(path + ["--help"]).stdout
            let children = Self.subcommands(help)
            guard children.isEmpty else {
                for child in children { try walk(path + [child]) }
                return
            }
            leaves += 1
            let options = help.components(separatedBy: "OPTIONS:").dropFirst().joined()
            if !options.contains("\n  --json") {
                missing.append(path.joined(separator: " "))
            }
        }
        try walk([])
        #expect(leaves > 50)
        #expect(missing.isEmpty, "no --json: \(missing)")
    }
}
