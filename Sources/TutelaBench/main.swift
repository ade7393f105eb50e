import Foundation
import Tutela
import TutelaCrypto
import TutelaSQLite

// tutela-bench: Tutela at school, trust and local-authority scale, next to the bare cost of the
// cryptography each path needs (measured in the same run, on the same machine) and next to `age`.
// Figures are ratios against that floor, never absolute promises. See docs/PERFORMANCE.md.
//
//   swift run -c release tutela-bench [--records 10000,100000,1000000] [--smoke] ...

struct Options {
    var records = [10_000, 100_000, 1_000_000]
    var rewrapAt = 100_000
    var openSamples = 1000
    var listSamples = 100
    var appendEntries = 10_000
    var ageFiles = 1000
    var policy = "KeyPolicies/school.yaml"
    var serveClients = 50
    var serveRounds = 20
    /// Measure on PostgreSQL (`--store postgres`): the server `scripts/test-postgres` starts.
    var postgres: PostgresTarget?

    static let usage = """
        usage: tutela-bench [--records N,N,...] [--rewrap-at N] [--open-samples N] [--append N]
                            [--age-files N] [--policy FILE] [--serve-clients N]
                            [--serve-rounds N] [--store sqlite|postgres] [--smoke]
        --store postgres measures the scale figures on the PostgreSQL server named by
        $TUTELA_TEST_POSTGRES, $TUTELA_TEST_POSTGRES_KEYS and $TUTELA_TEST_POSTGRES_PASSWORD
        (scripts/test-postgres start DIR; . DIR/env).
        """

    init(_ arguments: [String]) throws {
        var i = 1
        func value() throws -> String {
            i += 1
            guard i < arguments.count else { throw BenchError("\(arguments[i - 1]) needs a value") }
            return arguments[i]
        }
        func number() throws -> Int {
            let text = try value()
            guard let n = Int(text), n > 0 else {
                throw BenchError("not a positive number: \(text)")
            }
            return n
        }
        while i < arguments.count {
            switch arguments[i] {
            case "--smoke":
                records = [300]
                rewrapAt = 300
                openSamples = 50
                listSamples = 10
                appendEntries = 500
                ageFiles = 5
                serveClients = 4
                serveRounds = 3
            case "--records":
                let parts = try value().split(separator: ",").map { Int($0) }
                guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) > 0 }) else {
                    throw BenchError("--records takes positive numbers separated by commas")
                }
                records = parts.compactMap { $0 }
            case "--rewrap-at": rewrapAt = try number()
            case "--open-samples": openSamples = try number()
            case "--append": appendEntries = try number()
            case "--age-files": ageFiles = try number()
            case "--policy": policy = try value()
            case "--serve-clients": serveClients = try number()
            case "--serve-rounds": serveRounds = try number()
            case "--store":
                switch try value() {
                case "sqlite": postgres = nil
                case "postgres": postgres = try PostgresTarget.fromEnvironment()
                case let other: throw BenchError("--store is sqlite or postgres, not \(other)")
                }
            case "--help", "-h":
                print(Self.usage)
                exit(0)
            default: throw BenchError("unknown option \(arguments[i])\n\(Self.usage)")
            }
            i += 1
        }
    }

    /// The policy file, from the working directory or the source tree beside the build folder.
    func policyText() throws -> (text: [UInt8], source: String) {
        var candidates = [URL(fileURLWithPath: policy)]
        if !policy.hasPrefix("/") {
            let executable = URL(fileURLWithPath: CommandLine.arguments[0])
                .resolvingSymlinksInPath()
            candidates.append(
                executable.deletingLastPathComponent().appendingPathComponent("../../../\(policy)")
                    .standardizedFileURL)
        }
        for url in candidates {
            if let data = FileManager.default.contents(atPath: url.path) {
                return ([UInt8](data), url.lastPathComponent)
            }
        }
        throw BenchError(
            "cannot read the policy \(policy); run from the repository or pass --policy")
    }
}

func machine() -> String {
    let cores = ProcessInfo.processInfo.activeProcessorCount
    let memory = Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824
    return String(format: "%d cores, %.0f GiB", cores, memory)
}

func report(_ results: [ScaleResult], age: AgeResult?) {
    print("Store: \(results.first?.store ?? "SQLite")\n")
    print("## Seal (`import`, 500 forms per transaction)\n")
    print(
        "| records | form (avg) | slots + shares per record | seal rate | floor | × floor | bare floor (AEAD + 1 sealed box + 1 signature) | × bare floor | unlock (excluded) | check pass |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results {
        let perRecord = r.seal / Double(r.records)
        print(
            "| \(count(r.records)) | \(Int(r.averageForm)) B | \(String(format: "%.2f + %.2f", r.slotsPerRecord, r.sharesPerRecord)) | \(rate(r.records, r.seal)) | \(perSecond(1 / r.sealFloor)) | \(ratio(perRecord / r.sealFloor)) | \(perSecond(1 / r.bareFloor)) | \(ratio(perRecord / r.bareFloor)) | \(duration(r.unlock)) | \(duration(r.check)) |"
        )
    }
    print(
        "\n## Setting up the centre (one signed directory statement per person, group, learner)\n")
    print("| records | learners | statements | time | per statement |")
    print("|---|---|---|---|---|")
    for r in results {
        let statements = 13 + 2 + r.learners + (r.learners + 2) / 3
        print(
            "| \(count(r.records)) | \(count(r.learners)) | \(statements) | \(duration(r.setup)) | \(duration(r.setup / Double(statements))) |"
        )
    }
    print(
        "\n## Open (one record, after the unlock: to plaintext, its audit entry committed first)\n")
    print(
        "| records | median | p99 | until the pin is saved: median | without the pin: median | crypto floor | one durable commit (median, p99) | median × (crypto + commit) | p99 × (crypto + commit) | median × crypto |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results {
        let median = quantile(r.open, 0.5)
        let p99 = quantile(r.open, 0.99)
        let commitMedian = quantile(r.commitFloor, 0.5)
        let commitP99 = quantile(r.commitFloor, 0.99)
        print(
            "| \(count(r.records)) | \(duration(median)) | \(duration(p99)) | \(duration(quantile(r.openSettled, 0.5))) | \(duration(quantile(r.openUnpinned, 0.5))) | \(duration(r.openFloor)) | \(duration(commitMedian)), \(duration(commitP99)) | \(ratio(median / (r.openFloor + commitMedian))) | \(ratio(p99 / (r.openFloor + commitP99))) | \(ratio(median / r.openFloor)) |"
        )
    }
    print("\n## Open: where the time goes (medians)\n")
    print(
        "| records | open | crypto floor | decoding the form | durable commit (GRDB, synchronous) | durable commit through the store (async) | the rest | open × (crypto + decode + store commit) | one session, one open after another (until the pin is saved) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results {
        let median = quantile(r.open, 0.5)
        let storeCommit = quantile(r.storeCommit, 0.5)
        let accounted = r.openFloor + r.decode + storeCommit
        print(
            "| \(count(r.records)) | \(duration(median)) | \(duration(r.openFloor)) | \(duration(r.decode)) | \(duration(quantile(r.commitFloor, 0.5))) | \(duration(storeCommit)) | \(duration(median - accounted)) | \(ratio(median / accounted)) | \(duration(quantile(r.openOneSession, 0.5))) |"
        )
    }
    print("\n## List by learner, retention check\n")
    print(
        "| records | learners | list one learner: median | p99 | `records list`, first page (best of 3): the importer (every record) | a tutor of 3 learners (300 records) | retention check: first, best of 3 | standings |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results {
        let standings = r.retentionCounts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
            .joined(separator: ", ")
        print(
            "| \(count(r.records)) | \(count(r.learners)) | \(duration(quantile(r.list, 0.5))) | \(duration(quantile(r.list, 0.99))) | \(duration(r.recordsPage.min() ?? 0)) | \(duration(r.tutorPage.min() ?? 0)) | \(duration(r.retentionRuns.first ?? 0)), \(duration(r.retention)) | \(standings) |"
        )
    }
    print("\n## State proofs (#18)\n")
    print(
        "| records | a record read and proven outside a transaction (median; export, explain, the queue) | read alone | the proof | bare hashing of what it covers | proof × floor | label chain step | bare label hash | × floor | chain over every label |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results {
        let proof = quantile(r.proof, 0.5) - quantile(r.read, 0.5)
        print(
            "| \(count(r.records)) | \(duration(quantile(r.proof, 0.5))) | \(duration(quantile(r.read, 0.5))) | \(duration(proof)) | \(duration(r.proofFloor)) | \(ratio(proof / max(r.proofFloor, 1e-9))) | \(duration(r.chainStep)) | \(duration(r.chainFloor)) | \(ratio(r.chainStep / max(r.chainFloor, 1e-9))) | \(duration(r.chainStep * Double(r.records))) |"
        )
    }
    print("\n## Audit log\n")
    print(
        "| records | entries verified | verify rate | floor (one core) | × floor | append rate | floor | × floor | `audit log --record` | × full verify |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results {
        let verify = r.verify / Double(max(r.verifyEntries, 1))
        let append = r.append / Double(max(r.appendCount, 1))
        print(
            "| \(count(r.records)) | \(r.verifyEntries) | \(rate(r.verifyEntries, r.verify)) | \(perSecond(1 / r.verifyFloor)) | \(ratio(verify / r.verifyFloor)) | \(rate(r.appendCount, r.append)) | \(perSecond(1 / r.appendFloor)) | \(ratio(append / r.appendFloor)) | \(duration(r.recordLog.min() ?? 0)) | \(ratio((r.recordLog.min() ?? 0) / max(r.verify, 1e-9))) |"
        )
    }
    if results.contains(where: { $0.rewrapBoxes > 0 }) {
        print("\n## Group re-wrap (head-of-centre key rotated; every box sealed to it moves)\n")
        print("| records | boxes | time | rate | floor | × floor |")
        print("|---|---|---|---|---|---|")
        for r in results where r.rewrapBoxes > 0 {
            let per = r.rewrap / Double(r.rewrapBoxes)
            print(
                "| \(count(r.records)) | \(r.rewrapBoxes) | \(duration(r.rewrap)) | \(rate(r.rewrapBoxes, r.rewrap)) | \(perSecond(1 / r.rewrapFloor)) | \(ratio(per / r.rewrapFloor)) |"
            )
        }
    }
    print("\n## Storage (both files, after a checkpoint)\n")
    print(
        "| records | bytes per record | form (avg) | beyond the form | parts, bytes per record |")
    print("|---|---|---|---|---|")
    for r in results {
        let parts = r.storage.sorted { $0.bytes > $1.bytes }.filter { $0.bytes >= r.records }.map {
            "\($0.name) \(Int(Double($0.bytes) / Double(r.records)))"
        }.joined(separator: ", ")
        print(
            "| \(count(r.records)) | \(Int(r.bytesPerRecord)) B | \(Int(r.averageForm)) B | \(Int(r.bytesPerRecord - r.averageForm)) B | \(parts) |"
        )
    }
    print("\n## Peak resident memory, per operation (and its rise during the operation)\n")
    print("| operation | " + results.map { count($0.records) }.joined(separator: " | ") + " |")
    print("|---|" + results.map { _ in "---|" }.joined())
    let rows: [(String, (ScaleResult) -> Peak)] = [
        ("import (streaming)", { $0.importPeak }), ("open samples", { $0.openPeak }),
        ("retention check", { $0.retentionPeak }), ("audit verify (streaming)", { $0.verifyPeak }),
        ("group re-wrap (streaming)", { $0.rewrapPeak }),
    ]
    for (name, value) in rows {
        print(
            "| \(name) | "
                + results.map { value($0).text }.joined(
                    separator: " | ") + " |")
    }
    guard let age else { return }
    print("\n## Peer: \(age.version) to \(age.recipients) recipients\n")
    print("| measure | age | Tutela | Tutela ÷ age time |")
    print("|---|---|---|---|")
    if let r = results.last {
        let sealPer = r.seal / Double(r.records)
        print(
            "| one form, once per file (\(age.files) files) | \(duration(age.perFile)) | \(duration(sealPer)) (import, per record) | \(ratio(sealPer / age.perFile)) |"
        )
        let ageStreamPer = age.stream / Double(age.streamRecords)
        print(
            "| \(count(age.streamRecords)) forms as one stream | \(rate(age.streamRecords, age.stream)) (\(String(format: "%.0f MB/s", Double(age.streamBytes) / age.stream / 1e6))) | \(rate(r.records, r.seal)) | \(ratio(sealPer / ageStreamPer)) |"
        )
    }
}

do {
    let options = try Options(CommandLine.arguments)
    let policy = try options.policyText()
    print("# tutela-bench \(TutelaVersion.string)\n")
    print("libsodium \(sodiumVersion), \(machine()), records \(options.records.map(count))\n")
    var results: [ScaleResult] = []
    for records in options.records {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tutela-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let benchmark = ScaleBenchmark(
            records: records, policy: policy, openSamples: min(options.openSamples, records),
            listSamples: options.listSamples, appendEntries: options.appendEntries,
            rewrap: records == options.rewrapAt, root: root, postgres: options.postgres)
        results.append(try await benchmark.run())
    }
    var age: AgeResult?
    if let tool = AgeComparison.find(), let last = results.last {
        say("age: \(options.ageFiles) files, then \(count(last.records)) forms as one stream")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tutela-bench-age-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        age = try AgeComparison.measure(
            age: tool, recipients: 3, files: options.ageFiles, streamRecords: last.records,
            root: root)
    } else {
        say("age is not installed (apt-get install age): no peer comparison")
    }
    let serveRoot = FileManager.default.temporaryDirectory.appendingPathComponent(
        "tutela-bench-serve-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: serveRoot) }
    let serve = try await ServeBenchmark(
        clients: options.serveClients, rounds: options.serveRounds, policy: policy,
        root: serveRoot
    ).run()
    report(results, age: age)
    report(serve: serve)
    if let pages = results.compactMap(\.pages).last { report(pages: pages) }
} catch {
    FileHandle.standardError.write(Data("tutela-bench: error: \(error)\n".utf8))
    exit(70)
}
