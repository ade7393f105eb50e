import Foundation
import Testing

@Suite("crashes and concurrency")
struct CLIRobustnessTests {
    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// `count` one-line forms about Sam, with distinct comments.
    func importFile(_ v: CLIVault, _ name: String, count: Int) throws -> String {
        let lines = (0..<count).map { i in
            CLIVault.form(marker: "form \(name) \(i)").replacingOccurrences(of: "\n", with: " ")
        }
        return try v.write(name, lines.joined(separator: "\n") + "\n")
    }

    /// Starts `tutela` without waiting for it.
    func launch(_ v: CLIVault, _ args: [String], as who: String) throws -> Process {
        let p = Process()
        p.executableURL = CLI.binary
        p.arguments = args + ["--as", who]
        var env = ProcessInfo.processInfo.environment
        env["TUTELA_VAULT"] = v.vault
        env["TUTELA_STATE_DIR"] = v.root.appendingPathComponent("state").path
        env["TUTELA_PASSPHRASE"] = CLIVault.passphrase(who)
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        let log = v.root.appendingPathComponent("stderr-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        p.standardError = try FileHandle(forWritingTo: log)
        try p.run()
        return p
    }

    /// Every stored record opens (Sam exports them all with one unlock), and the log verifies.
    func checkConsistent(_ v: CLIVault) throws -> Int {
        let list = try json(try v.run(["records", "list", "--json"], as: "hale").stdout)
        // The whole list's size (a page shows 50).
        let labels = try #require(list["total"] as? Int)
        let export = try v.run(["records", "export", "--learner", "sam", "--json"], as: "sam")
        #expect(export.status == 0, "\(export.stderr)")
        let opened = try #require(try json(export.stdout)["records"] as? [[String: Any]]).count
        #expect(
            opened == labels,
            "a label without an openable record: \(labels) labels, \(opened) opened")
        let verify = try v.run(["audit", "verify"])
        #expect(verify.status == 0, "\(verify.stderr)")
        return labels
    }

    @Test(
        "an import killed with SIGKILL at random moments leaves every stored record whole and the log valid"
    )
    func killedImports() throws {
        let v = try CLIVault()
        let r = try v.run(
            ["principal", "add", "sam", "--name", "Sam", "--role", "learner"], as: "office",
            newPassphrase: "sam")
        #expect(r.status == 0)
        let file = try importFile(v, "bulk.jsonl", count: 200)
        var generator = SystemRandomNumberGenerator()
        var stored = 0
        let runs = 6
        for _ in 0..<runs {
            let p = try launch(v, ["import", file, "--batch-size", "25"], as: "price")
            usleep(UInt32.random(in: 200_000...1_200_000, using: &generator))
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
            p.waitUntilExit()
            let now = try checkConsistent(v)
            #expect(now >= stored)
            #expect(
                (now - stored) % 25 == 0 || p.terminationStatus == 0, "a batch was half-written")
            stored = now
        }
        print(
            "Crash safety: \(runs) imports killed with SIGKILL, \(stored) records stored, all whole, log valid"
        )
    }

    @Test(
        "several processes sealing, opening and checking at once: no lost writes, no broken chain")
    func concurrent() throws {
        let v = try CLIVault()
        #expect(
            try v.run(
                ["principal", "add", "sam", "--name", "Sam", "--role", "learner"], as: "office",
                newPassphrase: "sam"
            )
            .status == 0)
        let a = try importFile(v, "a.jsonl", count: 60)
        let b = try importFile(v, "b.jsonl", count: 60)
        let record = try v.seal()
        let processes = [
            try launch(v, ["import", a, "--batch-size", "5"], as: "price"),
            try launch(v, ["import", b, "--batch-size", "5"], as: "price"),
            try launch(v, ["retention", "check"], as: "hale"),
            try launch(v, ["tutorial", "open", record], as: "price"),
            try launch(v, ["records", "list"], as: "hale"),
        ]
        for p in processes { p.waitUntilExit() }
        for p in processes { #expect(p.terminationStatus == 0 || p.terminationStatus == 75) }
        let imported = processes.prefix(2).filter { $0.terminationStatus == 0 }.count * 60
        for file in try FileManager.default.contentsOfDirectory(atPath: v.root.path)
        where file.hasPrefix("stderr-") {
            let text = try String(contentsOf: v.root.appendingPathComponent(file), encoding: .utf8)
            if !text.isEmpty { print("a process said: \(text)") }
        }
        #expect(try checkConsistent(v) == 1 + imported)
        print("Concurrency: 5 processes at once, \(1 + imported) records, log valid")
    }
}

@Suite("hostile files on the command line")
struct CLIHostileFileTests {
    @Test(
        "an import line over 1 MiB, and a form file over 1 MiB, are refused (65) before any passphrase"
    )
    func hugeInputs() throws {
        let v = try CLIVault(people: false)
        let line = "{\"comments\": \"" + String(repeating: "x", count: (1 << 20) + 10) + "\"}\n"
        let big = try v.write("big.jsonl", line)
        let r = try CLI.run(["import", big, "--as", "office", "--vault", v.vault])
        #expect(r.status == 65, "\(r.stderr)")
        #expect(r.stderr.contains("over the limit") || r.stderr.contains("longer than 1 MiB"))
        let form = try v.write("big.json", String(repeating: " ", count: (1 << 20) + 1) + "{}")
        let f = try CLI.run(["tutorial", "seal", form, "--as", "office", "--vault", v.vault])
        #expect(f.status == 65, "\(f.stderr)")
        #expect(f.stderr.contains("1 MiB"))
    }
}
