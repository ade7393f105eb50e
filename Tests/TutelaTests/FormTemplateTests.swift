import Foundation
import Testing

@testable import Tutela

/// The form as a template (#21 item 1): every box, with its help; it parses as written; filled
/// in, it becomes the form; misspelt fields get a hint.
@Suite("Form templates")
struct FormTemplateTests {
    static let template = FormTemplate.progressReview(
        learner: "sam", date: CalendarDate(year: 2026, month: 11, day: 20),
        course: "Level 2 \"Diploma\": Construction # site", formTutor: "Mr Price")

    func parse(_ text: String) throws -> ProgressReview {
        try ProgressReview.parse(Array(text.utf8), source: "draft.yaml")
    }

    @Test("the template parses as written, with what the directory knows filled in")
    func parsesAsWritten() throws {
        let form = try parse(Self.template)
        #expect(form.learner == "sam")
        #expect(form.date.description == "2026-11-20")
        #expect(form.course == "Level 2 \"Diploma\": Construction # site")
        #expect(form.formTutor == "Mr Price")
        #expect(form.attendance == nil && form.targets == nil && form.copiesTo == nil)
        #expect(form.comments == nil && form.punctuality == nil)
    }

    @Test("every box of the form is in the template, with its help, and in --help")
    func everyBox() throws {
        let full = try TestFiles.form()
        var filled = full
        filled.attendance = .init(lessons: 1, absences: 0)
        filled.targets = [.init(target: "t", byWhen: nil)]
        let json = try JSONEncoder().encode(filled)
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        var fields = Set(object.keys)
        for name in [
            "school", "formTutor", "yearOfCourse", "punctuality", "workingTowards", "onTarget",
            "learnerComments", "tutorComments", "previousTargetsMet", "previousTargetsNote",
            "agreedActions", "nextTutorial", "signedByLearner", "signedByTutor", "copiesTo",
        ] {
            fields.insert(name)
        }
        let boxes = Set(
            FormTemplate.progressReview.map { String($0.field.split(separator: ".")[0]) })
        #expect(fields.isSubset(of: boxes), "missing: \(fields.subtracting(boxes))")
        let lines = Self.template.split(separator: "\n")
        for box in FormTemplate.progressReview {
            let key = String(box.field.split(separator: ".").last ?? "")
            #expect(
                lines.contains { $0.trimmingCharacters(in: .whitespaces).hasPrefix("\(key):") },
                "\(box.field) is not in the template")
            #expect(Self.template.contains(box.help))
        }
        #expect(Self.template.contains("--confidential"))
        #expect(FormTemplate.helpText(FormTemplate.progressReview).contains("attendance.absences"))
    }

    @Test("filled in, the template is the form")
    func filledIn() throws {
        var text = Self.template
        func fill(_ key: String, _ value: String) {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
                line -> String in
                guard
                    line.trimmingCharacters(in: .whitespaces).hasPrefix("\(key):")
                        || line.trimmingCharacters(in: .whitespaces).hasPrefix("- \(key):")
                else { return String(line) }
                let indent = line.prefix { $0 == " " || $0 == "-" }
                return "\(indent)\(line.dropFirst(indent.count).prefix { $0 != ":" }): \(value)"
            }
            text = lines.joined(separator: "\n")
        }
        fill("lessons", "40")
        fill("absences", "3")
        fill("punctuality", "good")
        fill("onTarget", "true")
        fill("target", "Hand in unit 3 portfolio")
        fill("byWhen", "2027-01-15")
        text = text.replacingOccurrences(
            of: "comments:", with: "comments: |\n  steady progress\n  on every unit\nx_:")
        text = text.replacingOccurrences(of: "\nx_:", with: "\n#")
        // The template's empty item stays, after the two filled in: an empty item is no item.
        text = text.replacingOccurrences(
            of: "copiesTo:", with: "copiesTo:\n  - learner\n  - parents-carers\n#")
        let form = try parse(text)
        #expect(form.attendance == .init(lessons: 40, absences: 3))
        #expect(form.punctuality == .good && form.onTarget == true)
        #expect(
            form.targets == [
                .init(target: "Hand in unit 3 portfolio", byWhen: CalendarDate("2027-01-15"))
            ])
        #expect(form.comments == "steady progress\non every unit\n")
        #expect(form.copiesTo == [.learner, .parentsCarers])
    }

    @Test("a misspelt or misplaced field is refused with a hint")
    func hints() throws {
        func hint(_ field: String) -> String? {
            let text = Self.template + "\(field): true\n"
            do {
                _ = try parse(text)
            } catch let error as TutelaError {
                #expect(error.kind == .invalidInput)
                #expect(error.message.contains("unknown field '\(field)'"))
                return error.hint
            } catch {}
            return nil
        }
        #expect(hint("confidential")?.contains("--confidential") == true)
        #expect(hint("Confidential")?.contains("--confidential") == true)
        #expect(hint("learnerComent")?.contains("did you mean 'learnerComments'") == true)
        #expect(hint("nextTutorials")?.contains("did you mean 'nextTutorial'") == true)
        #expect(hint("shoeSize")?.contains("--help") == true)
    }

    @Test("the informal note's template needs its summary")
    func noteTemplate() throws {
        let text = FormTemplate.informalNote(
            learner: "sam", date: CalendarDate(year: 2026, month: 11, day: 20))
        #expect(throws: TutelaError.self) {
            try InformalNote.parse(Array(text.utf8), source: "note.yaml")
        }
        let filled = text.replacingOccurrences(of: "summary:", with: "summary: talked about work #")
        let note = try InformalNote.parse(Array(filled.utf8), source: "note.yaml")
        #expect(note.summary == "talked about work" && note.learner == "sam")
    }
}
