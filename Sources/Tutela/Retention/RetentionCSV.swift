/// The retention check as CSV, one record a line: what `retention check --csv` writes and the
/// record keeper's page downloads. Labels only, never contents.
extension RetentionStatus {
    /// The header line.
    public static let csvHeader = "record,label,class,learner,standing,due_on,flagged,rule,note\n"

    /// This status as one CSV line (RFC 4180 quoting; a cell that a spreadsheet would read as a
    /// formula is prefixed with an apostrophe).
    public var csvLine: String {
        CSV.line([
            label.record.text, label.envelopeText, label.recordClass.rawValue, label.learner.text,
            standing.rawValue, dueOn?.description ?? "", flagged ? "yes" : "no", rule, note ?? "",
        ])
    }
}
