/// Comma-separated values as exports write them (RFC 4180).
enum CSV {
    /// One cell: quoted when it holds a quote, comma or line break, and prefixed with an
    /// apostrophe when a spreadsheet would read it as a formula.
    static func field(_ s: String) -> String {
        // By scalar: "\r\n" is one Character in Swift, and must be quoted too.
        let needsQuotes = s.unicodeScalars.contains { "\",\n\r".unicodeScalars.contains($0) }
        let escaped = s.split(separator: "\"", omittingEmptySubsequences: false)
            .joined(separator: "\"\"")
        let safe =
            escaped.unicodeScalars.first.map { "=+-@\t\r".unicodeScalars.contains($0) } == true
            ? "'" + escaped : escaped
        return needsQuotes ? "\"\(safe)\"" : safe
    }

    /// One line of cells, ended with a line feed.
    static func line(_ cells: [String]) -> String { cells.map(field).joined(separator: ",") + "\n" }
}
