import Testing

@testable import Tutela

@Suite("Labels")
struct LabelTests {
    static func label(copies: [CopyKind]) throws -> Label {
        Label(
            record: "R-ABCD-EFGH-JKMN", recordClass: .confidentialTutorial, learner: "sam",
            author: "price", created: try #require(CalendarDate("2026-11-29")),
            tutorialDate: try #require(CalendarDate("2026-11-20")), policyVersion: "3",
            copies: copies, wording: "Confidential tutorial", sealedUnder: 7)
    }

    @Test(
        "whatever parses re-encodes to exactly its bytes: every single-bit flip and every truncation"
    )
    func parseIsCanonical() throws {
        var parsed = 0
        var refused = 0
        for copies in [[], [CopyKind.learner], [.learner, .parentsCarers, .ilr]] {
            let bytes = try Self.label(copies: copies).canonical
            #expect(try Label.parse(bytes).canonical == bytes)
            var variants: [[UInt8]] = (0..<bytes.count).map { Array(bytes.prefix($0)) }
            for i in bytes.indices {
                for bit in 0..<8 {
                    var flipped = bytes
                    flipped[i] ^= 1 << bit
                    variants.append(flipped)
                }
            }
            for variant in variants {
                if let label = try? Label.parse(variant) {
                    #expect(label.canonical == variant)
                    parsed += 1
                } else {
                    refused += 1
                }
            }
        }
        print(
            "Label canonical property: \(parsed) mutations parsed (each re-encodes exactly), \(refused) refused"
        )
        #expect(refused > 0)
    }

    @Test("copies out of order or repeated, and dates not written YYYY-MM-DD, are refused")
    func nonCanonical() throws {
        let base = try Self.label(copies: [.learner, .parentsCarers])
        func encode(copies: [String], created: String = "2026-11-29") -> [UInt8] {
            var w = CanonicalWriter()
            w.u8(Label.version)
            w.string(base.record.text)
            w.string(base.recordClass.rawValue)
            w.string(base.learner.text)
            w.string(base.author.text)
            w.string(created)
            w.string("2026-11-20")
            w.string(base.policyVersion)
            w.strings(copies)
            w.string(base.envelopeText)
            w.i64(base.sealedUnder)
            w.optionalString(nil)
            return w.bytes
        }
        #expect(try Label.parse(encode(copies: ["learner", "parents-carers"])) == base)
        for copies in [["parents-carers", "learner"], ["learner", "learner"]] {
            #expect(throws: TutelaError.self) { try Label.parse(encode(copies: copies)) }
        }
        for created in ["2026-1-29 ", "2026/11/29", "+026-11-29", "2026-11-2x", "2026-13-01"] {
            #expect(throws: TutelaError.self) {
                try Label.parse(encode(copies: ["learner", "parents-carers"], created: created))
            }
        }
    }

    @Test("a string field is refused unless it is well-formed UTF-8; well-formed text reads back")
    func strictUTF8() throws {
        func read(_ raw: [UInt8]) throws -> String {
            var w = CanonicalWriter()
            w.data(raw)
            var r = CanonicalReader(w.bytes, context: "test")
            let text = try r.string("text", max: 64)
            try r.finish()
            return text
        }
        let wellFormed = ["", "sam", "Confidential tutorial – 2026-11-20", "Zoë 👩🏽‍🏫", "\u{FFFD}"]
        for text in wellFormed {
            #expect(try read(Array(text.utf8)) == text)
        }
        let illFormed: [[UInt8]] = [
            [0x80],  // a lone continuation byte
            [0xC0, 0x80],  // an overlong NUL
            [0xE0, 0x80, 0x80],  // an overlong encoding
            [0xED, 0xA0, 0x80],  // a UTF-16 surrogate
            [0xE2, 0x80],  // a truncated sequence
            [0xF4, 0x90, 0x80, 0x80],  // beyond U+10FFFF
            [0xFF],  // never valid
            Array("sam".utf8) + [0xC3],  // valid text, then a cut-off character
        ]
        for raw in illFormed {
            #expect(throws: TutelaError.self, "\(raw)") { try read(raw) }
        }
    }
}
