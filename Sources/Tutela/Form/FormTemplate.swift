/// The forms as commented YAML templates a tutor fills in (`tutela tutorial new`, `tutela note
/// new`): every box of the paper form, in its order, with what goes in it. A box left empty is a
/// box not filled in, so the template as written parses; what the directory knows (the learner,
/// their programme, their tutor) and today's date are filled in already.
public enum FormTemplate {
    /// One box: its field name, what goes in it, and the value filled in, if any.
    public struct Box: Sendable, Equatable {
        /// The field name, as in docs/FORM.md.
        public let field: String
        /// What goes in the box, in the guidance's words.
        public let help: String
        /// For `--help`: the kind of value and its limits.
        public let rule: String
    }

    /// The progress review's boxes, in the paper form's order (nested ones as `attendance.lessons`).
    public static let progressReview: [Box] = [
        Box(field: "learner", help: "the learner's id (filled in; do not change)", rule: "id"),
        Box(field: "date", help: "the date of the tutorial", rule: "YYYY-MM-DD, not in the future"),
        Box(field: "course", help: "course / subject", rule: "required, up to 200 characters"),
        Box(field: "school", help: "the learner's school", rule: "up to 200 characters"),
        Box(field: "formTutor", help: "form tutor", rule: "up to 200 characters"),
        Box(field: "yearOfCourse", help: "year of course", rule: "a whole number 1–10"),
        Box(field: "attendance.lessons", help: "number of lessons", rule: "0–10000"),
        Box(
            field: "attendance.absences", help: "number of absences",
            rule: "0–10000, no more than the lessons"),
        Box(
            field: "punctuality", help: "excellent, good, reasonable or poor",
            rule: "one of excellent, good, reasonable, poor"),
        Box(
            field: "workingTowards", help: "level / grade working towards",
            rule: "up to 200 characters"),
        Box(
            field: "onTarget", help: "on target to achieve the qualification?",
            rule: "true or false"),
        Box(
            field: "comments",
            help: "progress to date, attitude towards course and work, motivation, performance in "
                + "homework, coursework, classroom, workplace; any issues that affect the "
                + "learner's ability to achieve",
            rule: "up to 20000 characters"),
        Box(
            field: "learnerComments", help: "the learner's comments", rule: "up to 20000 characters"
        ),
        Box(field: "tutorComments", help: "the tutor's comments", rule: "up to 20000 characters"),
        Box(field: "previousTargetsMet", help: "previous targets met?", rule: "true or false"),
        Box(
            field: "previousTargetsNote", help: "if not, why not", rule: "up to 20000 characters"),
        Box(
            field: "targets", help: "targets (SMART), each with the date it is to be met by",
            rule: "up to 50 of {target, byWhen}"),
        Box(
            field: "agreedActions", help: "the future actions agreed with the learner",
            rule: "up to 50, each up to 2000 characters"),
        Box(
            field: "nextTutorial", help: "the date of the next tutorial / follow-up agreed",
            rule: "YYYY-MM-DD, not before the tutorial"),
        Box(
            field: "copiesTo",
            help: "who the learner agreed may receive a copy: learner, parents-carers, "
                + "home-school, work-based-provider, ilr",
            rule: "a list of those, no repeats"),
        Box(
            field: "signedByLearner", help: "the date the learner signed",
            rule: "YYYY-MM-DD, not before the tutorial"),
        Box(
            field: "signedByTutor", help: "the date the tutor signed",
            rule: "YYYY-MM-DD, not before the tutorial"),
    ]

    /// The informal note's boxes.
    public static let informalNote: [Box] = [
        Box(field: "learner", help: "the learner's id (filled in; do not change)", rule: "id"),
        Box(
            field: "date", help: "the date of the conversation",
            rule: "YYYY-MM-DD, not in the future"),
        Box(
            field: "summary", help: "what was discussed and its outcome, briefly",
            rule: "required, up to 5000 characters"),
        Box(field: "followUp", help: "any follow-up agreed", rule: "up to 2000 characters"),
        Box(
            field: "recordedOnILR", help: "has the minimum entry been made on the ILR?",
            rule: "true or false"),
        Box(
            field: "copiesTo", help: "who may receive a copy: learner, parents-carers, ilr, …",
            rule: "a list, no repeats"),
    ]

    /// The boxes as `--help` lists them: one line per field, with its rule.
    public static func helpText(_ boxes: [Box]) -> String {
        let width = (boxes.map(\.field.count).max() ?? 0) + 2
        return boxes.map { box in
            box.field + String(repeating: " ", count: width - box.field.count) + box.rule
        }.joined(separator: "\n")
    }

    /// A progress review to fill in for `learner`, dated `date`, with the course and form tutor
    /// the directory knows.
    public static func progressReview(
        learner: LearnerID, date: CalendarDate, course: String?, formTutor: String?
    ) -> String {
        let prefilled: [String: String] = [
            "learner": quoted(learner.text), "date": date.description,
            "course": course.map(quoted) ?? "", "formTutor": formTutor.map(quoted) ?? "",
        ]
        var lines = header(
            "Progress review / tutorial form for \(learner.text)",
            sealWith: "tutela tutorial seal FILE [--confidential]")
        lines += [
            "# Whether the tutorial stays totally confidential is not a box here. If the learner",
            "# wishes it to stay totally confidential — not available to other staff or outside",
            "# agencies, except where safeguarding requires — seal it with --confidential: only you",
            "# and the learner can then open it.",
            "",
        ]
        for box in progressReview {
            switch box.field {
            case "attendance.lessons":
                lines.append("attendance:")
                lines.append(line("  lessons:", "", box.help))
            case "attendance.absences":
                lines.append(line("  absences:", "", box.help))
            case "targets":
                lines.append(line("targets:", "", box.help))
                lines.append(line("  - target:", "", "what the learner is to achieve"))
                lines.append(line("    byWhen:", "", "YYYY-MM-DD"))
            case "agreedActions", "copiesTo":
                lines.append(line("\(box.field):", "", box.help))
                lines.append("  -")
            case "comments", "learnerComments", "tutorComments", "previousTargetsNote":
                lines.append(line("\(box.field):", "", box.help))
            default:
                lines.append(line("\(box.field):", prefilled[box.field] ?? "", box.help))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// An informal support note to fill in for `learner`, dated `date`.
    public static func informalNote(learner: LearnerID, date: CalendarDate) -> String {
        var lines = header(
            "Informal support note for \(learner.text)", sealWith: "tutela note seal FILE")
        for box in informalNote {
            switch box.field {
            case "learner": lines.append(line("learner:", quoted(learner.text), box.help))
            case "date": lines.append(line("date:", date.description, box.help))
            case "copiesTo":
                lines.append(line("copiesTo:", "", box.help))
                lines.append("  -")
            default: lines.append(line("\(box.field):", "", box.help))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func header(_ title: String, sealWith command: String) -> [String] {
        [
            "# \(title) (docs/FORM.md).",
            "# Write after each colon; leave a box empty if it does not apply. For text over",
            "# several lines, write | after the colon and indent the lines under it by two spaces.",
            "# Dates are YYYY-MM-DD; yes/no boxes are true or false. Seal it with: \(command)",
            "",
        ]
    }

    /// `key: value` padded, then the help as a comment.
    static func line(_ key: String, _ value: String, _ help: String) -> String {
        let filled = value.isEmpty ? key : "\(key) \(value)"
        let pad = String(repeating: " ", count: max(1, 28 - filled.count))
        return "\(filled)\(pad)# \(help)"
    }

    /// A YAML double-quoted scalar (JSON's escapes are YAML's).
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\x" + String(scalar.value, radix: 16).leftPadded(to: 2)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}

extension Session {
    /// The form to fill in for a record of `recordClass` about `learner`, as a template dated
    /// today. Refused (77) to someone who may not write such records; the learner's course and
    /// form tutor are filled in only for a writer who may list the learner (their own tutee, or
    /// every learner for the roles the policy's `directory:` section names).
    /// - Throws: denied (77); not found (66) for a learner not on record.
    public func template(for recordClass: RecordClass, learner: LearnerID) throws(TutelaError)
        -> String
    {
        let learner = directory.resolve(learner)
        let policy = try policy()
        let decision = policy.decideSeal(recordClass, actor: principal)
        guard decision.allowed else {
            throw .denied(
                "'\(principal.id)' may not write \(recordClass.rawValue) records: \(decision.rule)")
        }
        guard let known = directory.learners[learner] else {
            throw .notFound(
                "there is no learner '\(learner)'",
                hint: "'tutela learner list' shows the learners you may see")
        }
        let today = vault.clock.today
        guard recordClass != .informalNote else {
            return FormTemplate.informalNote(learner: learner, date: today)
        }
        let listable = policy.mayList(known, actor: principal)
        return FormTemplate.progressReview(
            learner: learner, date: today, course: listable ? known.programme : nil,
            formTutor: listable ? directory.principals[known.tutor]?.name : nil)
    }
}
