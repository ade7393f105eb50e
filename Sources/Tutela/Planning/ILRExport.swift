/// One line of the ILR minimum record: a tutorial or an informal support conversation, with no
/// content.
public struct ILRLine: Sendable, Equatable {
    /// The learner.
    public let learner: LearnerID
    /// The day it took place.
    public let date: CalendarDate
    /// `tutorial` (either class) or `informal-support`.
    public let kind: String
    /// Who held it: the record's author.
    public let who: PrincipalID
    /// The record, so that a return can be traced back to it.
    public let record: RecordID

    /// The CSV header line.
    public static let csvHeader = "learner,date,kind,who,record\n"

    /// This line as CSV.
    public var csvLine: String {
        CSV.line([learner.text, date.description, kind, who.text, record.text])
    }
}

extension Planning {
    /// The ILR minimum record of support between `from` and `to` (inclusive): each tutorial and
    /// informal support conversation whose label the data officer may see (the policy's
    /// `label-only` or a reader's rule), with no content — learner, date, kind, who. Void records
    /// and addenda are left out. The export is audited.
    /// - Throws: denied (77, audited) for anyone without the ilr-officer role; usage (64) for a
    ///   range that ends before it starts.
    public func ilrExport(from: CalendarDate?, to: CalendarDate?) async throws -> [ILRLine] {
        let range = "\(from?.description ?? "the start")–\(to?.description ?? "today")"
        guard principal.has(.ilrOfficer), !principal.revoked else {
            let why = "only the data officer (the ilr-officer role) exports the ILR record"
            try await audit(.export, subject: nil, outcome: .denied, reason: why)
            throw TutelaError.denied(why)
        }
        let listed = try await Finding(session: session).every(
            try RecordQuery(from: from, to: to).validated())
        let lines = listed.filter { !$0.void && $0.label.amends == nil }.map { listed in
            let label = listed.label
            return ILRLine(
                learner: label.learner, date: label.tutorialDate,
                kind: label.recordClass == .informalNote ? "informal-support" : "tutorial",
                who: label.author, record: label.record)
        }.sorted {
            ($0.date, $0.learner.text, $0.record.text) < ($1.date, $1.learner.text, $1.record.text)
        }
        try await audit(
            .export, subject: nil, outcome: .allowed,
            reason: "ILR minimum record, \(range): \(lines.count) lines")
        return lines
    }
}
