import Foundation
import Tutela

/// The progress review as a web form: its boxes by name, what each says is wrong, and the form
/// the library seals.
///
/// Every box is checked on its own so that the page names each problem beside its box; then the
/// library's own parser — the one rule for the API, imports and the command line — checks the
/// whole form again, and anything it refuses is put beside the box it names.
struct ReviewForm: Sendable {
    /// Rows of targets and of agreed actions the page offers (the paper form has about as many).
    static let rows = 6

    /// The boxes as posted (or as filled in for a new form).
    var values: [String: String]
    var copies: Set<String>
    var problems = Field.Problems()

    init(values: [String: String], copies: Set<String>) {
        self.values = values
        self.copies = copies
    }

    /// A new form about `learner`, what the directory knows filled in.
    static func blank(learner: Learner?, id: String, today: CalendarDate) -> ReviewForm {
        ReviewForm(
            values: [
                "learner": learner?.id.text ?? id, "date": today.description,
                "course": learner?.programme ?? "",
            ], copies: [])
    }

    /// The form as posted.
    init(_ form: PageForm) {
        var values: [String: String] = [:]
        for name in Self.boxes { values[name] = form[name] }
        self.init(values: values, copies: Set(form.all("copiesTo")))
    }

    /// Every box's name, in the paper form's order.
    static let boxes: [String] =
        [
            "learner", "date", "course", "school", "formTutor", "yearOfCourse", "lessons",
            "absences", "punctuality", "workingTowards", "onTarget", "comments", "learnerComments",
            "tutorComments", "previousTargetsMet", "previousTargetsNote",
        ] + (1...rows).flatMap { ["target-\($0)", "byWhen-\($0)"] }
        + (1...rows).map { "action-\($0)" }
        + ["nextTutorial", "signedByLearner", "signedByTutor", "confidential"]

    subscript(name: String) -> String { values[name] ?? "" }

    private func trimmed(_ name: String) -> String {
        self[name].trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Checks every box; fills in ``problems``.
    /// - Returns: the form to seal and whether it is totally confidential, or nil when a box
    ///   is wrong.
    mutating func validated(today: CalendarDate) -> (ProgressReview, Bool)? {
        problems = .init()
        var json: [String: Any] = ["learner": trimmed("learner")]
        func text(_ name: String, _ label: String, max: Int, required: Bool = false) {
            let value = trimmed(name)
            if value.isEmpty {
                if required { problems.add(name, "Enter the \(label)") }
            } else if value.count > max {
                problems.add(name, "The \(label) must be \(max) characters or fewer")
            } else {
                json[name] = value
            }
        }
        func date(_ name: String, _ label: String, required: Bool = false) -> CalendarDate? {
            let value = trimmed(name)
            guard !value.isEmpty else {
                if required { problems.add(name, "Enter the \(label)") }
                return nil
            }
            guard let date = CalendarDate(value) else {
                problems.add(name, "The \(label) must be a real date, like 2026-11-20")
                return nil
            }
            return date
        }
        func number(_ name: String, _ label: String, range: ClosedRange<Int>) -> Int? {
            let value = trimmed(name)
            guard !value.isEmpty else { return nil }
            guard let n = Int(value), range.contains(n) else {
                problems.add(
                    name,
                    "The \(label) must be a whole number from \(range.lowerBound) to \(range.upperBound)"
                )
                return nil
            }
            return n
        }
        func yesNo(_ name: String) {
            switch self[name] {
            case "yes": json[name] = true
            case "no": json[name] = false
            default: break
            }
        }
        if trimmed("learner").isEmpty { problems.add("learner", "Choose the learner") }
        let day = date("date", "date of the tutorial", required: true)
        if let day, day > CalendarDate.latestPast(today: today) {
            problems.add("date", "The date of the tutorial cannot be in the future")
        }
        if let day { json["date"] = day.description }
        text("course", "course or subject", max: 200, required: true)
        text("school", "school", max: 200)
        text("formTutor", "form tutor", max: 200)
        if let year = number("yearOfCourse", "year of course", range: 1...10) {
            json["yearOfCourse"] = year
        }
        let lessons = number("lessons", "number of lessons", range: 0...10_000)
        let absences = number("absences", "number of absences", range: 0...10_000)
        switch (lessons, absences, trimmed("lessons").isEmpty, trimmed("absences").isEmpty) {
        case (let l?, let a?, _, _):
            if a > l {
                problems.add(
                    "absences", "The absences (\(a)) cannot be more than the lessons (\(l))")
            } else {
                json["attendance"] = ["lessons": l, "absences": a]
            }
        case (nil, _, true, false): problems.add("lessons", "Enter the number of lessons too")
        case (_, nil, false, true): problems.add("absences", "Enter the number of absences too")
        default: break
        }
        if let p = ProgressReview.Punctuality(rawValue: self["punctuality"]) {
            json["punctuality"] = p.rawValue
        }
        text("workingTowards", "level or grade working towards", max: 200)
        yesNo("onTarget")
        text("comments", "progress and comments", max: 20_000)
        text("learnerComments", "learner's comments", max: 20_000)
        text("tutorComments", "tutor's comments", max: 20_000)
        yesNo("previousTargetsMet")
        text("previousTargetsNote", "reason previous targets were not met", max: 20_000)
        // The library counts filled rows only; these say which row of the page each one was.
        var targetRows: [Int] = []
        var actionRows: [Int] = []
        var targets: [[String: String]] = []
        for row in 1...Self.rows {
            let target = trimmed("target-\(row)")
            let by = date("byWhen-\(row)", "date for target \(row)")
            if target.isEmpty {
                if by != nil {
                    problems.add("target-\(row)", "Write target \(row), or clear its date")
                }
                continue
            }
            if target.count > 1000 {
                problems.add("target-\(row)", "Target \(row) must be 1000 characters or fewer")
            }
            if let by, let day, by < day {
                problems.add("byWhen-\(row)", "Target \(row)'s date cannot be before the tutorial")
            }
            var entry = ["target": target]
            if let by { entry["byWhen"] = by.description }
            targets.append(entry)
            targetRows.append(row)
        }
        if !targets.isEmpty { json["targets"] = targets }
        var actions: [String] = []
        for row in 1...Self.rows {
            let action = trimmed("action-\(row)")
            guard !action.isEmpty else { continue }
            if action.count > 2000 {
                problems.add("action-\(row)", "Action \(row) must be 2000 characters or fewer")
            }
            actions.append(action)
            actionRows.append(row)
        }
        if !actions.isEmpty { json["agreedActions"] = actions }
        for (name, label) in [
            ("nextTutorial", "date of the next tutorial"),
            ("signedByLearner", "date the learner signed"),
            ("signedByTutor", "date the tutor signed"),
        ] {
            guard let when = date(name, label) else { continue }
            if let day, when < day {
                problems.add(name, "The \(label) cannot be before the tutorial")
            } else {
                json[name] = when.description
            }
        }
        let known = Set(ProgressReview.CopyRecipient.allCases.map(\.rawValue))
        if !copies.isSubset(of: known) { problems.add("copiesTo", "Choose only copies listed") }
        let copiesTo = ProgressReview.CopyRecipient.allCases.map(\.rawValue).filter(copies.contains)
        if !copiesTo.isEmpty { json["copiesTo"] = copiesTo }
        let confidential: Bool
        switch self["confidential"] {
        case "yes": confidential = true
        case "no": confidential = false
        default:
            problems.add("confidential", "Say whether the learner wants this totally confidential")
            confidential = false
        }
        guard problems.isEmpty else { return nil }
        do {
            let bytes = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
            return (try ProgressReview.parse(Array(bytes), source: "the form"), confidential)
        } catch let error as TutelaError {
            problems.add(
                Self.box(named: error.message, targetRows: targetRows, actionRows: actionRows),
                Page.sentence(error.message))
            return nil
        } catch {
            problems.add("learner", "The form could not be read")
            return nil
        }
    }

    /// The box a library message names (`the form: field 'targets[2].byWhen': …`).
    /// - Parameters:
    ///   - targetRows, actionRows: the page's row of each filled target and action, in order
    ///     (the library numbers filled ones only); by default the n-th is row n.
    static func box(
        named message: String, targetRows: [Int] = [], actionRows: [Int] = []
    ) -> String {
        guard let start = message.range(of: "field '"),
            let end = message[start.upperBound...].firstIndex(of: "'")
        else { return "learner" }
        let path = String(message[start.upperBound..<end])
        if path.hasPrefix("attendance.") { return String(path.dropFirst("attendance.".count)) }
        if let open = path.firstIndex(of: "["), let close = path.firstIndex(of: "]"),
            let index = Int(path[path.index(after: open)..<close])
        {
            func row(_ rows: [Int]) -> Int { index < rows.count ? rows[index] : index + 1 }
            if path.hasPrefix("targets") {
                let n = row(targetRows)
                return path.hasSuffix("byWhen") ? "byWhen-\(n)" : "target-\(n)"
            }
            if path.hasPrefix("agreedActions") { return "action-\(row(actionRows))" }
            if path.hasPrefix("copiesTo") { return "copiesTo" }
        }
        return boxes.contains(path) ? path : "learner"
    }
}
