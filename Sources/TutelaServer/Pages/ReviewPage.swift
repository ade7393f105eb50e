import Foundation
import HTTPTypes
import Tutela

/// The progress review / tutorial form as a page: every box of the paper form, in its order,
/// with the guidance's words for the "totally confidential" choice.
enum ReviewPage {
    static func page(
        _ form: ReviewForm, visitor: Visitor, learners: [Learner],
        status: HTTPResponse.Status = .ok
    ) -> Page {
        let p = form.problems
        func input(
            _ name: String, _ label: String, hint: String? = nil, type: String = "text",
            width: String? = nil, inputmode: String? = nil
        ) -> HTML {
            Field.input(
                name, label: label, value: form[name], hint: hint, error: p[name], type: type,
                width: width, inputmode: inputmode)
        }
        func area(_ name: String, _ label: String, hint: String? = nil, rows: Int = 5) -> HTML {
            Field.textarea(
                name, label: label, value: form[name], hint: hint, error: p[name], rows: rows)
        }
        func yesNo(_ name: String, _ legend: String) -> HTML {
            Field.choices(
                name, legend: legend, options: [("yes", "Yes"), ("no", "No")],
                selected: [form[name]], error: p[name])
        }
        var learnerOptions = learners.map { (value: $0.id.text, label: "\($0.name) (\($0.id))") }
        if !form["learner"].isEmpty,
            !learnerOptions.contains(where: { $0.value == form["learner"] })
        {
            learnerOptions.append((form["learner"], form["learner"]))
        }
        if form["learner"].isEmpty { learnerOptions.insert(("", "Choose a learner"), at: 0) }
        let targets: [HTML] = (1...ReviewForm.rows).map { row in
            .element(
                "div", [("class", "row-pair")],
                [
                    input("target-\(row)", "Target \(row)"),
                    input("byWhen-\(row)", "Target \(row): by when", type: "date", width: "short"),
                ])
        }
        let actions: [HTML] = (1...ReviewForm.rows).map { row in
            input("action-\(row)", "Action \(row)")
        }
        let content: [HTML] = [
            H.h1("Progress review / tutorial"),
            Field.summary(p),
            H.p(
                "Every box of the paper form is here. Leave empty what was not discussed. Nothing is "
                    + "kept until you seal the form; sealing cannot be undone (add an addendum later "
                    + "if you need to)."),
            Field.form(
                action: "/tutorials", csrf: visitor.csrf, submit: "Seal the tutorial",
                secondary: H.link("Cancel", to: "/tutees"),
                [
                    section(
                        "About the learner",
                        [
                            Field.select(
                                "learner", label: "Learner", options: learnerOptions,
                                selected: form["learner"], error: p["learner"]),
                            input("date", "Date of the tutorial", type: "date", width: "short"),
                            input("course", "Course / subject"),
                            input("school", "School"),
                            input("formTutor", "Form tutor"),
                            input(
                                "yearOfCourse", "Year of course", hint: "A number, 1 to 10.",
                                width: "short", inputmode: "numeric"),
                        ]),
                    section(
                        "Attendance and punctuality",
                        [
                            input(
                                "lessons", "Number of lessons", width: "short", inputmode: "numeric"
                            ),
                            input(
                                "absences", "Number of absences", width: "short",
                                inputmode: "numeric"),
                            Field.choices(
                                "punctuality", legend: "Punctuality",
                                options: ProgressReview.Punctuality.allCases.map {
                                    ($0.rawValue, $0.rawValue.capitalized)
                                }, selected: [form["punctuality"]], error: p["punctuality"]),
                        ]),
                    section(
                        "Progress",
                        [
                            input("workingTowards", "Level / grade working towards"),
                            yesNo("onTarget", "On target to achieve the qualification?"),
                            area(
                                "comments", "Progress to date",
                                hint:
                                    "Attitude towards course and work, motivation, performance in "
                                    + "homework, coursework, classroom and workplace; any issues that "
                                    + "affect the learner's ability to achieve.", rows: 8),
                            area("learnerComments", "Learner's comments"),
                            area("tutorComments", "Tutor's comments"),
                        ]),
                    section(
                        "Targets",
                        [
                            yesNo("previousTargetsMet", "Were the previous targets met?"),
                            area("previousTargetsNote", "If not, why not?", rows: 3),
                            H.p(
                                "New targets: specific, measurable, achievable, realistic, and "
                                    + "each with the date it is to be met by.", [("class", "hint")]),
                        ] + targets),
                    section(
                        "Actions agreed with the learner",
                        actions + [
                            input(
                                "nextTutorial", "Date of the next tutorial or follow-up agreed",
                                type: "date", width: "short")
                        ]),
                    section(
                        "Copies and signatures",
                        [
                            Field.choices(
                                "copiesTo", legend: "Copies the learner agreed to",
                                options: ProgressReview.CopyRecipient.allCases.map {
                                    ($0.rawValue, RecordView.copyName($0))
                                }, selected: form.copies,
                                hint: "Only those ticked can ever be given a copy, and only as "
                                    + "the policy allows.", error: p["copiesTo"], multiple: true),
                            input(
                                "signedByLearner", "Date the learner signed", type: "date",
                                width: "short"),
                            input(
                                "signedByTutor", "Date the tutor signed", type: "date",
                                width: "short"),
                        ]),
                    section("Totally confidential?", [confidentiality(form)]),
                ]),
        ]
        return Page("Progress review / tutorial", status: status, content)
    }

    private static func section(_ heading: String, _ fields: [HTML]) -> HTML {
        .element(
            "fieldset", [("class", "form-section")],
            [.element("legend", [("class", "section-legend")], [HTML(heading)])] + fields)
    }

    /// The choice, in the words of the guidance the centre works from.
    private static func confidentiality(_ form: ReviewForm) -> HTML {
        Field.choices(
            "confidential",
            legend: "Does the learner want this tutorial to stay totally confidential?",
            options: [
                ("no", "No: seal it as a tutorial, read by those the policy names for tutorials"),
                (
                    "yes",
                    "Yes: seal it as a confidential tutorial, in an envelope marked “Confidential "
                        + "tutorial – date”, read only by those the policy names for confidential "
                        + "tutorials"
                ),
            ], selected: [form["confidential"]],
            hint: "The guidance says: if a learner wishes a tutorial to remain totally "
                + "confidential and does not wish the information to be available to outside "
                + "agencies or other staff (except in the case of safeguarding issues), keep it "
                + "sealed so that only restricted access is given. A safeguarding concern can "
                + "still be flagged, and the safeguarding officers can then open it.",
            error: form.problems["confidential"])
    }
}
