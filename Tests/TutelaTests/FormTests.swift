import Foundation
import Testing
import TutelaCrypto

@testable import Tutela

@Suite("The progress-review form")
struct FormTests {
    static let full = """
        {
          "learner": "L-1001",
          "date": "2026-11-20",
          "course": "Level 2 Diploma in Construction",
          "school": "Hereford Academy",
          "formTutor": "Mr Price",
          "yearOfCourse": 1,
          "attendance": { "lessons": 40, "absences": 3 },
          "punctuality": "good",
          "workingTowards": "Level 2 Merit",
          "onTarget": true,
          "comments": "progress to date, attitude, motivation",
          "learnerComments": "…",
          "tutorComments": "…",
          "previousTargetsMet": false,
          "previousTargetsNote": "why not",
          "targets": [ { "target": "Hand in unit 3 portfolio", "byWhen": "2027-01-15" } ],
          "agreedActions": [ "weekly check-in" ],
          "nextTutorial": "2027-01-10",
          "copiesTo": [ "learner", "ilr", "home-school", "parents-carers", "work-based-provider" ],
          "signedByLearner": "2026-11-20",
          "signedByTutor": "2026-11-20"
        }
        """

    func parse(_ text: String) throws -> ProgressReview {
        try ProgressReview.parse(Array(text.utf8), source: "form.json")
    }

    @Test("the whole pro forma of CLI.md parses, box by box")
    func fullForm() throws {
        let form = try parse(Self.full)
        #expect(form.learner == "L-1001")
        #expect(form.attendance == .init(lessons: 40, absences: 3))
        #expect(form.punctuality == .good)
        #expect(form.targets?.first?.byWhen == CalendarDate("2027-01-15"))
        #expect(form.copiesTo?.count == 5)
        #expect(form.onTarget == true && form.previousTargetsMet == false)
    }

    @Test("the same form in YAML parses to the same value")
    func yaml() throws {
        let yaml = """
            learner: L-1001
            date: "2026-11-20"
            course: Level 2 Diploma in Construction
            school: Hereford Academy
            formTutor: Mr Price
            yearOfCourse: 1
            attendance: {lessons: 40, absences: 3}
            punctuality: good
            workingTowards: Level 2 Merit
            onTarget: true
            comments: progress to date, attitude, motivation
            learnerComments: …
            tutorComments: …
            previousTargetsMet: false
            previousTargetsNote: why not
            targets:
              - target: Hand in unit 3 portfolio
                byWhen: "2027-01-15"
            agreedActions: [weekly check-in]
            nextTutorial: "2027-01-10"
            copiesTo: [learner, ilr, home-school, parents-carers, work-based-provider]
            signedByLearner: "2026-11-20"
            signedByTutor: "2026-11-20"
            """
        #expect(try parse(yaml) == parse(Self.full))
    }

    static let refusals: [(String, String, String)] = [
        ("unknown field", #""colour": "red""#, "unknown field 'colour'"),
        ("misspelt field", #""punctualty": "good""#, "unknown field 'punctualty'"),
        ("bad date", #""nextTutorial": "2027-02-30""#, "field 'nextTutorial'"),
        ("date in the wrong format", #""signedByTutor": "20/11/2026""#, "field 'signedByTutor'"),
        ("punctuality not on the form", #""punctuality": "late""#, "field 'punctuality'"),
        (
            "absences over lessons", #""attendance": {"lessons": 4, "absences": 5}"#,
            "field 'attendance.absences'"
        ),
        (
            "negative lessons", #""attendance": {"lessons": -1, "absences": 0}"#,
            "field 'attendance.lessons'"
        ),
        (
            "unknown nested field", #""attendance": {"lessons": 4, "absences": 1, "late": 2}"#,
            "'attendance.late'"
        ),
        ("text for a number", #""yearOfCourse": "one""#, "field 'yearOfCourse'"),
        ("number for yes/no", #""onTarget": 1"#, "field 'onTarget'"),
        ("unknown copy recipient", #""copiesTo": ["newspaper"]"#, "field 'copiesTo[0]'"),
        ("copy recipient twice", #""copiesTo": ["ilr", "ilr"]"#, "field 'copiesTo'"),
        ("next tutorial before this one", #""nextTutorial": "2026-01-01""#, "field 'nextTutorial'"),
        (
            "target without text", #""targets": [{"byWhen": "2027-01-01"}]"#,
            "field 'targets[0].target'"
        ),
        ("control character", #""comments": "a\u0007b""#, "field 'comments'"),
    ]

    @Test("a bad field is refused with a message naming it", arguments: refusals)
    func refused(name: String, field: String, expected: String) throws {
        let text = """
            {"learner": "L-1", "date": "2026-11-20", "course": "Maths", \(field)}
            """
        do {
            _ = try parse(text)
            Issue.record("\(name): accepted")
        } catch let error as TutelaError {
            #expect(error.kind == .invalidInput)
            #expect(error.message.contains(expected), "\(name): \(error.message)")
        }
    }

    @Test("required fields are required")
    func required() throws {
        for (text, field) in [
            (#"{"date": "2026-11-20", "course": "Maths"}"#, "learner"),
            (#"{"learner": "L-1", "course": "Maths"}"#, "date"),
            (#"{"learner": "L-1", "date": "2026-11-20"}"#, "course"),
            (#"{"learner": "L-1", "date": "2026-11-20", "course": "  "}"#, "course"),
        ] {
            #expect(throws: TutelaError.self) { try parse(text) }
            do { _ = try parse(text) } catch let e as TutelaError {
                #expect(e.message.contains("field '\(field)'"), "\(e.message)")
            }
        }
    }

    @Test("malformed documents are refused: bad JSON, duplicate keys, aliases, deep nesting, size")
    func malformed() throws {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        let cases = [
            #"{"learner": "L-1", "learner": "L-2", "date": "2026-11-20", "course": "x"}"#,
            #"{"learner": "L-1", "date": "2026-11-20", "course": "x",}"#,
            "{\"learner\": \"L-1\"",
            deep,
            "a: &x [1, 2]\nb: *x\n",
            "learner: L-1\nlearner: L-2\n",
            "{\"learner\": \"\\ud800\"}",
        ]
        for text in cases {
            #expect(throws: TutelaError.self, "\(text.prefix(30))") { try parse(text) }
        }
        let huge = "{\"comments\": \"" + String(repeating: "x", count: 2 << 20) + "\"}"
        #expect(throws: TutelaError.self) { try parse(huge) }
        #expect(throws: TutelaError.self) {
            try ProgressReview.parse([0x7B, 0xFF, 0xFE, 0x7D], source: "bad utf8")
        }
    }

    @Test("calendar dates: leap years, round trips through day counts")
    func dates() {
        #expect(CalendarDate("2028-02-29") != nil)
        #expect(CalendarDate("2027-02-29") == nil)
        #expect(CalendarDate("2026-13-01") == nil)
        #expect(CalendarDate("2026-1-01") == nil)
        #expect(CalendarDate("+026-01-01") == nil)
        for text in ["1970-01-01", "2000-02-29", "2026-11-20", "1969-12-31", "2199-12-31"] {
            let d = CalendarDate(text)
            #expect(d.map { CalendarDate(daysSinceEpoch: $0.daysSinceEpoch) } == d)
            #expect(d?.description == text)
        }
        #expect(CalendarDate("1970-01-02")?.daysSinceEpoch == 1)
    }
}

@Suite("Hostile input")
struct HostileInputTests {
    @Test(
        "a YAML alias bomb, deep nesting, huge numbers, NUL and invalid UTF-8 are refused with a message"
    )
    func hostile() throws {
        var bomb =
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        for (i, name) in "bcdefghi".enumerated() {
            let previous = Array("abcdefghi")[i]
            bomb +=
                "\(name): &\(name) ["
                + Array(repeating: "*\(previous)", count: 9).joined(separator: ",") + "]\n"
        }
        let cases: [(String, [UInt8])] = [
            ("alias bomb", Array(bomb.utf8)),
            (
                "deep JSON",
                Array(
                    (String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000))
                        .utf8)
            ),
            ("deep YAML", Array((String(repeating: "- ", count: 5_000) + "x").utf8)),
            (
                "huge number",
                Array(
                    #"{"learner": "L-1", "date": "2026-11-20", "course": "x", "yearOfCourse": 1e999999}"#
                        .utf8)
            ),
            (
                "huge integer",
                Array(
                    #"{"learner": "L-1", "date": "2026-11-20", "course": "x", "yearOfCourse": 99999999999999999999999}"#
                        .utf8)
            ),
            ("NUL in JSON", Array(#"{"learner": "L-1\u0000"}"#.utf8)),
            ("raw NUL", [0x7B, 0x22, 0x61, 0x00, 0x22, 0x3A, 0x31, 0x7D]),
            ("invalid UTF-8", [0x6C, 0x3A, 0x20, 0xC3, 0x28]),
            (
                "many keys",
                Array(
                    ("{" + (0..<30_000).map { "\"k\($0)\": 1" }.joined(separator: ",") + "}").utf8)
            ),
        ]
        for (name, bytes) in cases {
            let result = Result { () throws(TutelaError) -> ProgressReview in
                try ProgressReview.parse(bytes, source: name)
            }
            switch result {
            case .success: Issue.record("\(name) was accepted")
            case .failure(let error):
                #expect(error.kind == .invalidInput, "\(name)")
                #expect(error.message.hasPrefix(name), "\(name): \(error.message)")
            }
            // The same bytes as a policy: refused too.
            #expect(throws: TutelaError.self, "\(name) as a policy") {
                try Policy.parse(bytes, source: name)
            }
        }
    }
}

@Suite("Sealed form encoding")
struct FormEncodingTests {
    @Test("the hand-written encoding reads back with JSONDecoder as the same form, keys sorted")
    func roundTrip() throws {
        let texts = [
            "plain words", "quote \" and backslash \\ and slash /", "line one\nline two\ttabbed",
            "carriage\r\nreturn", "accents: Zoë, Seán, Małgorzata; emoji 👍🏽; RTL مرحبا",
            "unicode line separator \u{2028} here",
        ]
        for text in texts {
            let json: [String: Any] = [
                "learner": "sam", "date": "2026-11-20", "course": text,
                "comments": text,
                "targets": [["target": text, "byWhen": "2026-12-01"], ["target": "t"]],
                "agreedActions": [text, "second"], "attendance": ["lessons": 40, "absences": 3],
                "onTarget": true, "yearOfCourse": 2, "punctuality": "good",
                "copiesTo": ["learner", "parents-carers"], "signedByTutor": "2026-11-21",
            ]
            let line = try JSONSerialization.data(withJSONObject: json)
            let form = try ProgressReview.parse([UInt8](line), source: "test")
            let sealed = try Session.encode(.progressReview(form))
            let bytes = Data(sealed.unprotectedCopy())
            #expect(try JSONDecoder().decode(ProgressReview.self, from: bytes) == form)
            // What `open` decodes with (Tutela's own reader) agrees with JSONDecoder.
            guard
                case .progressReview(let opened) = try Session.decode(
                    sealed, as: .tutorial, record: "R-TEST")
            else {
                Issue.record("not decoded as a progress review")
                continue
            }
            #expect(opened == form)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let reference =
                try JSONSerialization.jsonObject(with: encoder.encode(form)) as? NSDictionary
            let ours = try JSONSerialization.jsonObject(with: bytes) as? NSDictionary
            #expect(ours == reference)
            let keys = try #require(
                String(data: bytes, encoding: .utf8)?.components(separatedBy: "\":").dropLast()
                    .compactMap { $0.components(separatedBy: "\"").last })
            let topLevel = keys.filter {
                ["absences", "lessons", "byWhen", "target"].contains($0) == false
            }
            #expect(topLevel == topLevel.sorted())
        }
    }

    @Test("a form longer than the writer's first buffer encodes the same as one that fits")
    func growth() throws {
        let long = String(repeating: #"A long comment, with \"quotes\" and a – dash. "#, count: 400)
        let form = try ProgressReview.parse(
            Array(
                #"{"learner": "sam", "date": "2026-11-20", "course": "Maths", "comments": "\#(long)"}"#
                    .utf8), source: "test")
        var small = JSONWriter(capacity: 1)
        form.writeJSON(into: &small)
        var large = JSONWriter(capacity: 64 * 1024)
        form.writeJSON(into: &large)
        #expect(small.bytes.count > 16 * 1024)
        #expect(small.bytes == large.bytes)
        #expect(try Session.encode(.progressReview(form)).unprotectedCopy() == small.bytes)
        small.wipe()
        large.wipe()
        #expect(small.bytes.isEmpty)
    }

    @Test("contents that are not a valid form are refused (65) without repeating any of them")
    func undecodable() throws {
        let secret = "SECRET-WORDS-\(UUID().uuidString)"
        let bad = [
            #"{"learner": "sam", "date": "2026-11-20", "course": "Maths", "punctuality": "\#(secret)"}"#,
            #"{"learner": "sam", "date": "\#(secret)", "course": "Maths"}"#,
            #"{"learner": "\#(secret)"#,
            secret,
        ]
        for text in bad {
            let plaintext = try SecretBytes(copying: Array(text.utf8))
            do throws(TutelaError) {
                _ = try Session.decode(plaintext, as: .confidentialTutorial, record: "R-TEST")
                Issue.record("decoded: \(text)")
            } catch {
                #expect(error.kind == .tampered)
                #expect(error.message == "the contents of R-TEST are not a valid record")
                #expect(!error.description.contains("SECRET-WORDS"))
            }
        }
    }

    @Test("a minimal form leaves absent fields out, as JSONEncoder does")
    func absentFields() throws {
        let form = try ProgressReview.parse(
            Array(#"{"learner": "sam", "date": "2026-11-20", "course": "Maths"}"#.utf8),
            source: "test")
        let bytes = try Session.encode(.progressReview(form)).unprotectedCopy()
        #expect(
            String(decoding: bytes, as: UTF8.self)
                == #"{"course":"Maths","date":"2026-11-20","learner":"sam"}"#)
    }
}
