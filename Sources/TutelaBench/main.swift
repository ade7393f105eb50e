import Foundation
import Tutela
import TutelaCrypto
import TutelaSQLite

// tutela-bench: Tutela's costs next to the bare cost of the cryptography they need, measured in the
// same run on the same machine. Figures are ratios against that floor, never absolute promises.
//
//   swift run -c release tutela-bench [--audit-entries N] [--smoke]

struct Options {
    var auditEntries = 1_000_000
    var floorSamples = 20_000

    init(_ arguments: [String]) {
        var i = 1
        while i < arguments.count {
            switch arguments[i] {
            case "--smoke":
                auditEntries = 5_000
                floorSamples = 2_000
            case "--audit-entries":
                i += 1
                auditEntries = Int(arguments[i]) ?? auditEntries
            default:
                FileHandle.standardError.write(
                    Data("tutela-bench: unknown option \(arguments[i])\n".utf8))
                exit(64)
            }
            i += 1
        }
    }
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func secondsAsync(_ body: () async throws -> Void) async rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try await body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func rate(_ count: Int, _ time: Double) -> String {
    let r = Double(count) / time
    return r >= 1000 ? String(format: "%.1fk/s", r / 1000) : String(format: "%.0f/s", r)
}

/// The bare Ed25519 verification rate, one core: the floor of `audit verify`.
func ed25519VerifyFloor(samples: Int) throws -> Double {
    let key = try SigningPrivateKey()
    let messages = (0..<samples).map { i in
        Array("audit entry \(i) of the benchmark".utf8) + [UInt8](repeating: 7, count: 160)
    }
    let signatures = try messages.map { try key.sign($0) }
    let time = try seconds {
        for (m, s) in zip(messages, signatures) { try key.publicKey.verify(s, for: m) }
    }
    return Double(samples) / time
}

func auditBenchmark(_ options: Options) async throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent(
        "tutela-bench-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: root) }
    let store = try SQLiteVaultStore(directory: root.appendingPathComponent("vault"), create: true)
    let pass = try Passphrase("benchmark passphrase")
    try await Vault.create(
        store: store, authorityID: "office", authorityName: "Office", passphrase: pass,
        kdf: .interactive)
    let vault = Vault(store: store)
    let session = try await vault.unlock("office", passphrase: pass)
    let n = options.auditEntries
    let appendTime = try await secondsAsync {
        try await session.appendSyntheticAuditEntries(count: n)
    }
    let floor = try ed25519VerifyFloor(samples: options.floorSamples)
    var report: AuditReport?
    let verifyTime = try await secondsAsync {
        report = try await vault.verifyAudit(checkpoint: nil)
    }
    let entries = Int(report?.entries ?? 0)
    let verifyRate = Double(entries) / verifyTime
    let cores = ProcessInfo.processInfo.activeProcessorCount
    print("## Audit log (\(entries) entries, \(cores) cores)")
    print("")
    print("| measure | rate | against the floor |")
    print("|---|---|---|")
    print(
        "| bare Ed25519 verify, one core (floor) | \(rate(options.floorSamples, Double(options.floorSamples) / floor)) | 1.00× |"
    )
    print(
        String(
            format: "| `audit verify` (read, hash, verify, parse) | %@ | %.2f× |",
            rate(entries, verifyTime), verifyRate / floor))
    print(
        "| audit append (sign + hash + insert, 10k per transaction) | \(rate(n, appendTime)) | — |")
}

let options = Options(CommandLine.arguments)
do {
    print("tutela-bench \(TutelaVersion.string), libsodium \(sodiumVersion)\n")
    try await auditBenchmark(options)
} catch {
    FileHandle.standardError.write(Data("tutela-bench: error: \(error)\n".utf8))
    exit(70)
}
