/// The retention check as CSV, one record a line: what `retention check --csv` writes and the
/// record keeper's page downloads. Labels only, never contents.
extension RetentionStatus {
    /// The header line.
    public static let csvHeader = "record,label,class,learner,standing,due_on,flagged,rule,note\n"

    /// This status as one CSV line (RFC 4180 quoting; a cell that a spreadsheet would read as a
    /// formula is prefixed with an apostrophe).
    public var csvLine: String {
        func field(_ s: String) -> String {
            // By scalar: "\r\n" is one Character in Swift, and must be quoted too.
            let needsQuotes = s.unicodeScalars.contains { "\",\n\r".unicodeScalars.contains($0) }
            let escaped = s.split(separator: "\"", omittingEmptySubsequences: false)
                .joined(separator: "\"\"")
            let safe =
                escaped.unicodeScalars.first.map { "=+-@\t\r".unicodeScalars.contains($0) } == true
                ? "'" + escaped : escaped
            return needsQuotes ? "\"\(safe)\"" : safe
        }
        return [
            label.record.text, label.envelopeText, label.recordClass.rawValue, label.learner.text,
            standing.rawValue, dueOn?.description ?? "", flagged ? "yes" : "no", rule, note ?? "",
        ].map(field).joined(separator: ",") + "\n"
    }
}
