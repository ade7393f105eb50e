import Foundation
import HTTPTypes
import Tutela

/// The informal support note: the minimum record the guidance asks for of an informal
/// conversation.
enum NotePage {
    static func page(
        _ values: [String: String], copies: Set<String>, problems: Field.Problems,
        visitor: Visitor, learners: [Learner], status: HTTPResponse.Status = .ok
    ) -> Page {
        let learner = values["learner"] ?? ""
        var options = learners.map { (value: $0.id.text, label: "\($0.name) (\($0.id))") }
        if !learner.isEmpty, !options.contains(where: { $0.value == learner }) {
            options.append((learner, learner))
        }
        if learner.isEmpty { options.insert(("", "Choose a learner"), at: 0) }
        return Page(
            "Informal support note", status: status,
            [
                H.h1("Informal support note"),
                Field.summary(problems),
                H.p(
                    "The guidance asks that the results of informal support are recorded, as a "
                        + "minimum on the Individual Learner Record. Keep it brief."),
                Field.form(
                    action: "/notes", csrf: visitor.csrf, submit: "Seal the note",
                    secondary: H.link("Cancel", to: "/tutees"),
                    [
                        Field.select(
                            "learner", label: "Learner", options: options, selected: learner,
                            error: problems["learner"]),
                        Field.input(
                            "date", label: "Date of the conversation", value: values["date"],
                            error: problems["date"], type: "date", width: "short"),
                        Field.textarea(
                            "summary", label: "What was discussed and its outcome",
                            value: values["summary"], hint: "Up to 5000 characters.",
                            error: problems["summary"], required: true),
                        Field.textarea(
                            "followUp", label: "Follow-up agreed", value: values["followUp"],
                            error: problems["followUp"], rows: 3),
                        Field.choices(
                            "recordedOnILR", legend: "Has the minimum entry been made on the ILR?",
                            options: [("yes", "Yes"), ("no", "No")],
                            selected: [values["recordedOnILR"] ?? ""],
                            error: problems["recordedOnILR"]),
                        Field.choices(
                            "copiesTo", legend: "Copies the learner agreed to",
                            options: ProgressReview.CopyRecipient.allCases.map {
                                ($0.rawValue, RecordView.copyName($0))
                            }, selected: copies, error: problems["copiesTo"], multiple: true),
                    ]),
            ])
    }

    /// The note, or nil with `problems` filled in box by box.
    static func validated(
        _ values: [String: String], copies: Set<String>, today: CalendarDate,
        problems: inout Field.Problems
    ) -> InformalNote? {
        let learner = values["learner"] ?? ""
        var json: [String: Any] = ["learner": learner]
        if learner.isEmpty { problems.add("learner", "Choose the learner") }
        let dateText = values["date"] ?? ""
        if dateText.isEmpty {
            problems.add("date", "Enter the date of the conversation")
        } else if let date = CalendarDate(dateText) {
            if date > CalendarDate.latestPast(today: today) {
                problems.add("date", "The date of the conversation cannot be in the future")
            }
            json["date"] = date.description
        } else {
            problems.add("date", "The date must be a real date, like 2026-11-20")
        }
        let summary = values["summary"] ?? ""
        if summary.isEmpty {
            problems.add("summary", "Write what was discussed and its outcome")
        } else if summary.count > 5000 {
            problems.add("summary", "Write at most 5000 characters")
        }
        json["summary"] = summary
        if let followUp = values["followUp"], !followUp.isEmpty {
            if followUp.count > 2000 { problems.add("followUp", "Write at most 2000 characters") }
            json["followUp"] = followUp
        }
        switch values["recordedOnILR"] {
        case "yes": json["recordedOnILR"] = true
        case "no": json["recordedOnILR"] = false
        default: break
        }
        let known = ProgressReview.CopyRecipient.allCases.map(\.rawValue)
        if !copies.isSubset(of: Set(known)) {
            problems.add("copiesTo", "Choose only copies listed")
        }
        let chosen = known.filter(copies.contains)
        if !chosen.isEmpty { json["copiesTo"] = chosen }
        guard problems.isEmpty else { return nil }
        do {
            let bytes = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
            return try InformalNote.parse(Array(bytes), source: "the note")
        } catch let error as TutelaError {
            problems.add(ReviewForm.box(named: error.message), Page.sentence(error.message))
            return nil
        } catch {
            problems.add("summary", "The note could not be read")
            return nil
        }
    }
}
