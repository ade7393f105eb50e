import Foundation

/// Monotonic seconds taken by `body`.
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

/// Per-operation time of `body`, repeated until `count` runs (after a short warm-up).
func perOperation(_ count: Int, _ body: () -> Void) -> Double {
    for _ in 0..<min(count, 100) { body() }
    let time = seconds { for _ in 0..<count { body() } }
    return time / Double(count)
}

/// Sorted samples → the value at quantile `q` (nearest rank).
func quantile(_ sorted: [Double], _ q: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let rank = Int((q * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
}

func rate(_ count: Int, _ time: Double) -> String { perSecond(Double(count) / time) }

func perSecond(_ r: Double) -> String {
    r >= 1_000_000
        ? String(format: "%.2fM/s", r / 1e6)
        : r >= 1000 ? String(format: "%.1fk/s", r / 1000) : String(format: "%.0f/s", r)
}

func duration(_ s: Double) -> String {
    s < 1e-3
        ? String(format: "%.0f µs", s * 1e6)
        : s < 1 ? String(format: "%.2f ms", s * 1e3) : String(format: "%.2f s", s)
}

func ratio(_ x: Double) -> String { String(format: "%.2f×", x) }

func mebibytes(_ bytes: Int) -> String { String(format: "%.0f MiB", Double(bytes) / 1_048_576) }

func count(_ n: Int) -> String {
    n >= 1_000_000 && n % 1_000_000 == 0
        ? "\(n / 1_000_000)M" : n >= 1000 && n % 1000 == 0 ? "\(n / 1000)k" : "\(n)"
}

/// Peak resident memory, per phase: Linux lets a process reset its own high-water mark
/// (`/proc/self/clear_refs`, value 5) and read it back (`VmHWM` in `/proc/self/status`).
enum PeakMemory {
    static func reset() {
        if let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") {
            try? handle.write(contentsOf: Data("5".utf8))
            try? handle.close()
        }
    }

    /// A `/proc/self/status` field in bytes (`VmHWM`, `VmRSS`), or 0 where the kernel does not say.
    static func read(_ field: String = "VmHWM") -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("\(field):") {
            let digits = line.split(separator: " ").compactMap { Int($0) }
            return (digits.first ?? 0) * 1024
        }
        return 0
    }

    /// Runs `body` and returns its peak resident memory, and how far that peak rose above the
    /// resident memory when it started (what the operation itself needed: the process keeps what
    /// earlier phases allocated, so the peak alone creeps up with N even for a flat operation).
    static func of(_ body: () async throws -> Void) async rethrows -> Peak {
        reset()
        let start = read("VmRSS")
        try await body()
        let peak = read()
        return Peak(peak: peak, growth: max(0, peak - start))
    }
}

struct Peak {
    var peak = 0
    var growth = 0

    var text: String { peak > 0 ? "\(mebibytes(peak)) (+\(mebibytes(growth)))" : "—" }
}

func fileSize(_ url: URL) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? Int) ?? 0
}

func say(_ text: String) {
    FileHandle.standardError.write(Data("tutela-bench: \(text)\n".utf8))
}
