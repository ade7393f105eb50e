import Testing
import TutelaTesting

@testable import Tutela

/// Record and learner ids are typed values, parsed once where text enters: a bad id typed by a
/// person is a usage error naming what it was meant to be; a bad id read back from stored bytes is
/// tampering.
@Suite("Typed ids")
struct TypedIDTests {
    @Test("a valid id parses and keeps its text exactly")
    func valid() throws {
        for text in ["R-AAAA-BBBB-CCCC", "sam", "a", "9.x_y-z", String(repeating: "a", count: 64)] {
            let id = try RecordID(text)
            #expect(id.text == text && id.description == text)
            #expect(RecordID(validating: text) == id)
        }
    }

    @Test("a typed id Tutela made is read in any case, with I, L and O read as Crockford's 1 and 0")
    func anyCase() async throws {
        // Typed text arrives as a String (a literal here would be the test support's literal id).
        func typed(_ text: String) -> String { text }
        for text in ["r-abcd-efgh-jkmn", "R-abcd-EFGH-jkmn"] {
            #expect(try RecordID(typed(text)).text == "R-ABCD-EFGH-JKMN")
        }
        #expect(try RecordID(typed("r-1lio-0000-zzzz")).text == "R-1110-0000-ZZZZ")
        #expect(try RequestID(typed("bg-ab12-cd34-ef56")).text == "BG-AB12-CD34-EF56")
        #expect(try RequestID(typed("ir-ab12-cd34-ef56")).text == "IR-AB12-CD34-EF56")
        #expect(try ReviewID(typed("rv-ab12-cd34-ef56")).text == "RV-AB12-CD34-EF56")
        // Anything not in that shape is taken exactly as typed, and the centre's own ids — people
        // and learners — keep their case whatever their shape.
        for text in ["r-abcd-efgh", "r-abcu-efgh-jkmn", "x-abcd-efgh-jkmn", "sam"] {
            #expect(try RecordID(typed(text)).text == text)
        }
        #expect(try LearnerID(typed("r-abcd-efgh-jkmn")).text == "r-abcd-efgh-jkmn")
        // Only ASCII is upper-cased: 'ſ' is not an S, 'ﬁ' is not "FI", 'ı' is not an I.
        for text in ["r-ſ000-0000-0000", "r-ﬁ00-0000-0000", "r-ı000-0000-0000"] {
            await expectError(.usage) { try RecordID(typed(text)) }
        }
        #expect(try PrincipalID(typed("Price")).text == "Price")
        // Stored text is never rewritten: it must already be what Tutela wrote.
        #expect(RecordID(validating: "r-abcd-efgh-jkmn")?.text == "r-abcd-efgh-jkmn")
        let made = try Identifier.newRecordID()
        #expect(try RecordID(made.text.lowercased()) == made)
    }

    @Test("an invalid id is refused as a usage error (64) that names what it was meant to be")
    func invalid() async throws {
        let bad = [
            "", "x y", "-lead", ".lead", "_lead", "é", "R-1/2", "R-1#2", "a\u{0}",
            String(repeating: "a", count: 65),
        ]
        for text in bad {
            #expect(RecordID(validating: text) == nil, "\(text)")
            #expect(LearnerID(validating: text) == nil, "\(text)")
            let record = await expectError(.usage) { try RecordID(text) }
            #expect(record?.message.hasPrefix(RecordKind.noun) == true)
            let learner = await expectError(.usage) { try LearnerID(text) }
            #expect(learner?.message.hasPrefix(LearnerKind.noun) == true)
            for (noun, parse) in [
                (PrincipalKind.noun, { () throws(TutelaError) in _ = try PrincipalID(text) }),
                (RequestKind.noun, { () throws(TutelaError) in _ = try RequestID(text) }),
                (ReviewKind.noun, { () throws(TutelaError) in _ = try ReviewID(text) }),
            ] {
                let error = await expectError(.usage) { try parse() }
                #expect(error?.message.hasPrefix(noun) == true, "\(noun) \(text)")
            }
        }
    }

    @Test("a recipient is a person or a group key at a version, parsed from its name once")
    func recipients() throws {
        #expect(Recipient("price") == .person("price"))
        #expect(
            Recipient("group:safeguarding-officer#2") == .group(.safeguardingOfficer, version: 2))
        #expect(Recipient.group(.tutor, version: 3).description == "group:tutor#3")
        for bad in [
            "", "group:", "group:tutor", "group:tutor#0", "group:tutor#01", "group:nobody#1",
            "group:tutor#-1", "x y", "R-1/price",
        ] {
            #expect(Recipient(bad) == nil, "\(bad)")
        }
        #expect(ShareID("R-1/group:tutor#1")?.holder == .group(.tutor, version: 1))
        #expect(ShareID("R-1/price")?.holder == .person("price"))
        #expect(ShareID("R-1") == nil)
    }

    @Test("ids order by their text, which is byte order")
    func ordering() throws {
        let texts = ["R-B", "R-A", "R-a", "R-9", "R-A-1", "R-A.1"]
        let ids = try texts.map { text throws(TutelaError) in try RecordID(text) }
        #expect(
            ids.sorted().map(\.text)
                == texts.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
    }

    @Test("new record ids are valid ids of the R-XXXX-XXXX-XXXX shape, and differ")
    func newRecordIDs() throws {
        let ids = try (0..<50).map { _ throws(TutelaError) in try Identifier.newRecordID() }
        #expect(Set(ids).count == ids.count)
        for id in ids {
            #expect(id.text.count == 16 && id.text.hasPrefix("R-"))
            #expect(RecordID(validating: id.text) == id)
        }
    }

    @Test("a label whose record id is not a valid id is tampering (65), not a usage error")
    func labelWithBadRecordID() async throws {
        let label = try LabelTests.label(copies: [.learner])
        func encode(record: String, learner: String? = nil, author: String? = nil) -> [UInt8] {
            var w = CanonicalWriter()
            w.u8(Label.version)
            w.string(record)
            w.string(label.recordClass.rawValue)
            w.string(learner ?? label.learner.text)
            w.string(author ?? label.author.text)
            w.string(label.created.description)
            w.string(label.tutorialDate.description)
            w.string(label.policyVersion)
            w.strings(label.copies.map(\.rawValue))
            w.string(label.envelopeText)
            w.i64(label.sealedUnder)
            w.optionalString(nil)
            return w.bytes
        }
        #expect(try Label.parse(encode(record: label.record.text)) == label)
        for bad in ["", "x y", "-R-1", "R-1/group:tutor#1", "group:tutor#1"] {
            await expectError(.tampered) { try Label.parse(encode(record: bad)) }
            await expectError(.tampered) {
                try Label.parse(encode(record: label.record.text, learner: bad))
            }
            await expectError(.tampered) {
                try Label.parse(encode(record: label.record.text, author: bad))
            }
        }
    }

    @Test("a form whose learner field is not an id is refused as invalid input (65)")
    func formLearner() async throws {
        func json(_ learner: String) -> [UInt8] {
            Array(
                """
                {"learner": "\(learner)", "date": "2026-11-20", "course": "Maths",
                 "attendance": {"lessons": 40, "absences": 3}, "punctuality": "good",
                 "comments": "fine", "copiesTo": ["learner"]}
                """.utf8)
        }
        #expect(try ProgressReview.parse(json("sam"), source: "form").learner == "sam")
        for bad in ["not an id", "-sam", "s/am"] {
            await expectError(.invalidInput) { try ProgressReview.parse(json(bad), source: "form") }
        }
    }

    @Test("a stored fact whose subject is not a record id is tampering (65)")
    func factAboutNoRecord() async throws {
        let header = FactHeader(
            kind: .flag, id: "x y", subject: "x y", signer: "price", madeUnder: 1, signature: [])
        await expectError(.tampered) { try header.recordSubject() }
        let good = FactHeader(
            kind: .flag, id: "R-1", subject: "R-1", signer: "price", madeUnder: 1, signature: [])
        #expect(try good.recordSubject() == "R-1")
        let request: RequestID = try FactHeader(
            kind: .breakGlassUse, id: "BG-1", subject: "BG-1", signer: "price", madeUnder: 1,
            signature: []
        ).subjectID()
        #expect(request == "BG-1")
        await expectError(.tampered) {
            let _: RequestID = try FactHeader(
                kind: .breakGlassUse, id: "BG 1", subject: "BG 1", signer: "price", madeUnder: 1,
                signature: []
            ).subjectID()
        }
        await expectError(.tampered) {
            let _: ReviewID = try FactHeader(
                kind: .review, id: "RV/1", subject: "R-1", signer: "price", madeUnder: 1,
                signature: []
            ).ownID()
        }
    }

    @Test("an audit entry whose actor is not a principal id does not decode (tampered)")
    func auditActor() async throws {
        let entry = AuditEntry(
            action: .open, actor: "price", subject: "R-1", outcome: .allowed, reason: nil,
            time: 1, policyVersion: "1")
        let bytes = entry.canonical
        #expect(try AuditEntry.parse(bytes, context: "entry") == entry)
        var w = CanonicalWriter()
        w.string("price")
        var bad = CanonicalWriter()
        bad.string("pr ce")
        let at = try #require(bytes.firstRange(of: w.bytes))
        var edited = bytes
        edited.replaceSubrange(at, with: bad.bytes)
        await expectError(.tampered) { try AuditEntry.parse(edited, context: "entry") }
    }
}
