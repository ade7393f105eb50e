/// The parsers that read untrusted bytes, as one door for fuzzers and their regression tests.
/// Each accepts any input and must only ever return or throw a `TutelaError` — never crash, hang or
/// allocate without bound.
package enum FuzzEntry {
    package static let targets = ["envelope", "form", "policy", "audit", "checkpoint", "share"]

    /// Feeds `bytes` to the parser named `target`; returns whether it parsed.
    @discardableResult
    package static func run(_ target: String, _ bytes: [UInt8]) -> Bool {
        do {
            switch target {
            case "envelope": _ = try Envelope.parse(bytes)
            case "form": _ = try ProgressReview.parse(bytes, source: "fuzz")
            case "policy": _ = try Policy.parse(bytes, source: "fuzz")
            case "audit": _ = try AuditEntry.parse(bytes, context: "fuzz")
            case "checkpoint": _ = try Checkpoint.parse(String(decoding: bytes, as: UTF8.self))
            case "share": _ = try AuthorityShare.parse(String(decoding: bytes, as: UTF8.self))
            default: return false
            }
            return true
        } catch {
            return false
        }
    }
}
