import Foundation

/// An addendum: what the author of a record adds to it afterwards — a correction, or something
/// learnt since — sealed as a record of its own, linked to the original by its label
/// (``Label/amends``), for the same learner, class and copies, so the same people read it.
///
/// The original is never changed: as on paper, a record is amended by a dated, signed note beside
/// it, not by rewriting it.
public struct Addendum: Sendable, Equatable, Codable {
    /// The learner of the record it amends.
    public var learner: LearnerID
    /// The day it was written (the label's date).
    public var date: CalendarDate
    /// What is added or corrected, in the author's words.
    public var text: String

    /// The longest addendum, in characters.
    public static let maximumLength = 5000

    /// An addendum of `text`, checked: not blank, at most ``maximumLength`` characters of ordinary
    /// text (new lines and tabs allowed).
    public init(learner: LearnerID, date: CalendarDate, text: String) throws(TutelaError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else {
            throw .usage("an addendum needs some text: what is added or corrected")
        }
        guard trimmed.count <= Self.maximumLength else {
            throw .invalidInput(
                "the addendum is \(trimmed.count) characters; at most \(Self.maximumLength) are kept"
            )
        }
        guard
            !trimmed.unicodeScalars.contains(where: {
                $0.properties.generalCategory == .control && $0 != "\n" && $0 != "\t"
            })
        else {
            throw .invalidInput("the addendum holds control characters; write ordinary text")
        }
        self.learner = learner
        self.date = date
        self.text = trimmed
    }

    func writeJSON(into w: inout JSONWriter) {
        w.open(UInt8(ascii: "{"))
        w.field("date", date)
        w.field("learner", learner.text)
        w.field("text", text)
        w.close(UInt8(ascii: "}"))
    }
}
