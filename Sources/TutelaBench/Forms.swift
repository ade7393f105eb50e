import Foundation
import Tutela

/// Realistic progress-review forms (2–3 KB of JSON each), the same every run: a seeded generator
/// over the kind of wording tutors write, so that sizes and field mixes match real use.
struct FormGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed | 1 }

    /// xorshift64*: deterministic and fast; these are test data, not secrets.
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 2_685_821_657_736_338_717
    }

    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    static let courses = [
        "Level 2 Diploma in Construction", "A level Biology", "BTEC Level 3 Business",
        "T Level in Digital Production", "GCSE English Language resit",
        "Level 3 Diploma in Health and Social Care", "Foundation Apprenticeship in Engineering",
    ]
    static let openings = [
        "Attendance has improved since the last review", "Coursework is mostly on time",
        "Practical work in the workshop has been strong", "Progress in mathematics is slower",
        "The placement report from the employer was positive", "Has found the new timetable hard",
        "Contributes well in group work", "Needs to plan revision for the mock exams",
    ]
    static let middles = [
        "and we talked about what has helped", "although two assignments are still outstanding",
        "which the learner put down to travel problems", "and the subject tutor agrees",
        "so we agreed a short plan for the next few weeks", "after a difficult half term",
    ]
    static let endings = [
        "We will check again at the next tutorial.", "The learner will speak to the course leader.",
        "Study support sessions on Tuesdays were suggested.", "Parents will be kept informed.",
        "A referral to the careers adviser was discussed.", "No further action needed for now.",
    ]

    mutating func sentence() -> String {
        "\(pick(Self.openings)) \(pick(Self.middles)). \(pick(Self.endings))"
    }

    mutating func paragraph(_ sentences: Int) -> String {
        (0..<sentences).map { _ in sentence() }.joined(separator: " ")
    }

    /// The date `days` after 2021-09-01.
    static func date(_ days: Int) -> String {
        CalendarDate(daysSinceEpoch: 18_871 + days).description
    }

    /// One form for `learner`, as a JSON line without the newline.
    mutating func form(learner: String, tutor: String) -> String {
        let day = below(5 * 365)
        let lessons = 20 + below(60)
        let targets = (0..<(2 + below(3))).map { i in
            "{\"target\": \"\(paragraph(1))\", \"byWhen\": \"\(Self.date(day + 30 + 14 * i))\"}"
        }
        let actions = (0..<(2 + below(3))).map { _ in "\"\(pick(Self.endings))\"" }
        let punctuality = pick(["excellent", "good", "reasonable", "poor"])
        return """
            {"learner": "\(learner)", "date": "\(Self.date(day))", "course": "\(pick(Self.courses))", \
            "school": "Northfield Academy", "formTutor": "\(tutor)", "yearOfCourse": \(1 + below(2)), \
            "attendance": {"lessons": \(lessons), "absences": \(below(lessons / 4))}, \
            "punctuality": "\(punctuality)", "workingTowards": "\(pick(Self.courses))", \
            "onTarget": \(below(3) > 0), "comments": "\(paragraph(4 + below(3)))", \
            "learnerComments": "\(paragraph(1 + below(2)))", \
            "tutorComments": "\(paragraph(2 + below(2)))", "previousTargetsMet": \(below(2) == 0), \
            "previousTargetsNote": "\(paragraph(1))", "targets": [\(targets.joined(separator: ", "))], \
            "agreedActions": [\(actions.joined(separator: ", "))], \
            "nextTutorial": "\(Self.date(day + 42))", "copiesTo": ["learner"], \
            "signedByLearner": "\(Self.date(day))", "signedByTutor": "\(Self.date(day))"}
            """
    }
}

/// Writes `count` forms, one per line, to `url`, spreading them over `learners` learners.
/// - Returns: the total bytes of form text (without newlines).
func writeForms(
    to url: URL, count: Int, learners: Int, tutorOf: (Int) -> String, seed: UInt64 = 2026
) throws -> Int {
    _ = FileManager.default.createFile(atPath: url.path, contents: nil)
    let handle = try FileHandle(forWritingTo: url)
    defer { try? handle.close() }
    var generator = FormGenerator(seed: seed)
    var buffer = Data()
    var total = 0
    for i in 0..<count {
        let learner = i % learners
        let line = generator.form(learner: try learnerID(learner).text, tutor: tutorOf(learner))
        total += line.utf8.count
        buffer.append(contentsOf: line.utf8)
        buffer.append(0x0A)
        if buffer.count > 1 << 20 {
            try handle.write(contentsOf: buffer)
            buffer.removeAll(keepingCapacity: true)
        }
    }
    try handle.write(contentsOf: buffer)
    return total
}

func learnerID(_ i: Int) throws(TutelaError) -> LearnerID {
    try LearnerID(String(format: "l%06d", i))
}
