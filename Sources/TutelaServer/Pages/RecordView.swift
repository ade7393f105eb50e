import Foundation
import Tutela

/// A record laid out like the paper form it came from, for reading and for printing into the
/// learner's file. Everything in it is escaped text.
enum RecordView {
    /// The words a list uses for a record's class.
    static func kind(_ recordClass: RecordClass) -> String {
        switch recordClass {
        case .tutorial: return "Tutorial"
        case .confidentialTutorial: return "Confidential tutorial"
        case .informalNote: return "Informal support note"
        }
    }

    static func page(_ opened: OpenedRecord, learnerName: String?, visitor: Visitor) -> Page {
        let label = opened.label
        var content: [HTML] = [
            H.h1(label.envelopeText),
            H.p(
                "Opening this record was written to the audit log under your name. Print it for "
                    + "the learner's file only where the copies agreed allow.",
                [("class", "notice no-print")]),
        ]
        if let void = opened.void {
            content.append(
                H.p(
                    "Marked void on \(Page.when(void.time)) by \(void.voidedBy): \(void.reason)",
                    [("class", "warning")]))
        }
        var facts: [(String, HTML)] = [
            ("Learner", HTML(learnerName.map { "\($0) (\(label.learner))" } ?? label.learner.text)),
            ("Written by", HTML(label.author.text)),
            ("Record", HTML(label.record.text)),
        ]
        let body: [HTML]
        switch opened.content {
        case .progressReview(let form):
            facts.append(("Date of tutorial", HTML(form.date.description)))
            body = [H.h2("Progress review / tutorial"), review(form)]
        case .informalNote(let note):
            facts.append(("Date of conversation", HTML(note.date.description)))
            body = [
                H.h2("Informal support"),
                H.facts([
                    ("What was discussed and its outcome", HTML(note.summary)),
                    ("Follow-up agreed", HTML(note.followUp ?? "")),
                    ("Recorded on the ILR", HTML(yesNo(note.recordedOnILR))),
                    ("Copies agreed", HTML(copies(note.copiesTo))),
                ]),
            ]
        case .addendum(let addendum):
            facts.append(("Date", HTML(addendum.date.description)))
            facts.append(("Adds to", HTML(label.amends?.text ?? "")))
            body = [H.h2("Addendum"), H.p(addendum.text, [("class", "prose")])]
        }
        content.append(.element("div", [("class", "paper")], [H.facts(facts)] + body))
        if !opened.addenda.isEmpty {
            content.append(H.h2("Addenda"))
            content.append(
                H.ul(
                    opened.addenda.map { addendum in
                        HTML([
                            HTML("\(addendum.tutorialDate) by \(addendum.author) "),
                            Field.button(
                                "Open addendum", action: "/records/\(addendum.record)/open",
                                csrf: visitor.csrf,
                                label: "Open the addendum of \(addendum.tutorialDate)"),
                        ])
                    }))
        }
        content.append(
            .element(
                "div", [("class", "actions")],
                [
                    .element(
                        "button", [("type", "button"), ("data-print", ""), ("hidden", "")],
                        [HTML("Print")]),
                    H.link("Back to records", to: "/records"),
                ]))
        return Page("Record \(label.record)", kind: "print", content)
    }

    private static func review(_ form: ProgressReview) -> HTML {
        var parts: [HTML] = [
            H.facts([
                ("Course / subject", HTML(form.course)),
                ("School", HTML(form.school ?? "")),
                ("Form tutor", HTML(form.formTutor ?? "")),
                ("Year of course", HTML(form.yearOfCourse.map(String.init) ?? "")),
                (
                    "Attendance",
                    HTML(
                        form.attendance.map { "\($0.lessons) lessons, \($0.absences) absences" }
                            ?? "")
                ),
                ("Punctuality", HTML(form.punctuality?.rawValue.capitalized ?? "")),
                ("Level / grade working towards", HTML(form.workingTowards ?? "")),
                ("On target to achieve", HTML(yesNo(form.onTarget))),
                ("Progress and comments", HTML(form.comments ?? "")),
                ("Learner's comments", HTML(form.learnerComments ?? "")),
                ("Tutor's comments", HTML(form.tutorComments ?? "")),
                ("Previous targets met", HTML(yesNo(form.previousTargetsMet))),
                ("If not, why not", HTML(form.previousTargetsNote ?? "")),
            ])
        ]
        let targets = form.targets ?? []
        if targets.isEmpty {
            parts.append(H.facts([("Targets", HTML(""))]))
        } else {
            parts.append(
                H.table(
                    caption: "Targets", headers: ["Target", "By when"],
                    rows: targets.map { [HTML($0.target), HTML($0.byWhen?.description ?? "")] }))
        }
        parts.append(
            H.facts([
                (
                    "Actions agreed",
                    (form.agreedActions ?? []).isEmpty
                        ? HTML("") : H.ul((form.agreedActions ?? []).map(HTML.init))
                ),
                ("Next tutorial", HTML(form.nextTutorial?.description ?? "")),
                ("Copies agreed", HTML(copies(form.copiesTo))),
                ("Signed by the learner", HTML(form.signedByLearner?.description ?? "")),
                ("Signed by the tutor", HTML(form.signedByTutor?.description ?? "")),
            ]))
        return HTML(parts)
    }

    static func yesNo(_ value: Bool?) -> String {
        value.map { $0 ? "Yes" : "No" } ?? ""
    }

    static func copies(_ recipients: [ProgressReview.CopyRecipient]?) -> String {
        guard let recipients, !recipients.isEmpty else { return "None" }
        return recipients.map(copyName).joined(separator: ", ")
    }

    static func copyName(_ recipient: ProgressReview.CopyRecipient) -> String {
        switch recipient {
        case .learner: return "The learner"
        case .ilr: return "The Individual Learner Record (ILR)"
        case .homeSchool: return "Home school"
        case .parentsCarers: return "Parents or carers"
        case .workBasedProvider: return "Work-based provider"
        }
    }
}
