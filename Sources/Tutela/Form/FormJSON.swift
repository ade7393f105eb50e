import TutelaCrypto

/// The encoding sealed inside an envelope: the form as JSON with sorted keys and absent fields left
/// out — what `JSONEncoder` with `.sortedKeys` writes, and what `JSONDecoder` reads back. Written by
/// hand because Foundation's encoder costs more than sealing the record does.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []
    /// Items written so far in each open object or array.
    private var counts = [0]
    private var afterKey = false

    init(capacity: Int) { bytes.reserveCapacity(capacity) }

    /// Zeroes the buffer: it held a record's contents.
    mutating func wipe() {
        Wipe.bytes(&bytes)
        bytes.removeAll()
    }

    private mutating func put(_ byte: UInt8) {
        reserve(1)
        bytes.append(byte)
    }

    private mutating func put(contentsOf more: some Collection<UInt8>) {
        reserve(more.count)
        bytes.append(contentsOf: more)
    }

    /// Grows the buffer by hand. `Array` would grow by copying into a larger buffer and freeing the
    /// old one, the record's contents so far, without wiping it; here the old one is zeroed first.
    private mutating func reserve(_ extra: Int) {
        guard bytes.count + extra > bytes.capacity else { return }
        var larger: [UInt8] = []
        larger.reserveCapacity(Swift.max(bytes.capacity * 2, bytes.count + extra, 256))
        larger.append(contentsOf: bytes)
        wipe()
        bytes = larger
    }

    /// A comma before every item but the first of its container; none between a key and its value.
    private mutating func beginItem() {
        if afterKey {
            afterKey = false
            return
        }
        if counts[counts.count - 1] > 0 { put(UInt8(ascii: ",")) }
        counts[counts.count - 1] += 1
    }

    mutating func open(_ bracket: UInt8) {
        beginItem()
        put(bracket)
        counts.append(0)
    }

    mutating func close(_ bracket: UInt8) {
        put(bracket)
        counts.removeLast()
    }

    mutating func key(_ name: StaticString) {
        beginItem()
        put(UInt8(ascii: "\""))
        name.withUTF8Buffer { put(contentsOf: $0) }
        put(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        afterKey = true
    }

    mutating func string(_ s: String) {
        beginItem()
        put(UInt8(ascii: "\""))
        var s = s
        s.makeContiguousUTF8()
        let plain = s.utf8.withContiguousStorageIfAvailable { buffer in
            // Most text needs no escaping: copy it whole.
            guard !buffer.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0x7F })
            else { return false }
            put(contentsOf: buffer)
            return true
        }
        if plain == true {
            put(UInt8(ascii: "\""))
            return
        }
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): put(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): put(contentsOf: [0x5C, 0x5C])
            case 0x0A: put(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: put(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: put(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20, 0x7F:
                let hex = Array("0123456789abcdef".utf8)
                put(contentsOf: Array("\\u00".utf8))
                put(hex[Int(byte >> 4)])
                put(hex[Int(byte & 0x0F)])
            default: put(byte)
            }
        }
        put(UInt8(ascii: "\""))
    }

    mutating func raw(_ text: String) {
        beginItem()
        put(contentsOf: text.utf8)
    }

    mutating func field(_ name: StaticString, _ value: String?) {
        guard let value else { return }
        key(name)
        string(value)
    }

    mutating func field(_ name: StaticString, _ value: CalendarDate?) {
        field(name, value?.description)
    }

    mutating func field(_ name: StaticString, _ value: Int?) {
        guard let value else { return }
        key(name)
        raw(String(value))
    }

    mutating func field(_ name: StaticString, _ value: Bool?) {
        guard let value else { return }
        key(name)
        raw(value ? "true" : "false")
    }

    mutating func field(_ name: StaticString, _ values: [String]?) {
        guard let values else { return }
        key(name)
        open(UInt8(ascii: "["))
        for v in values { string(v) }
        close(UInt8(ascii: "]"))
    }
}

extension ProgressReview {
    /// The form as sorted-key JSON, for sealing. The caller wipes the writer.
    func writeJSON(into w: inout JSONWriter) {
        w.open(UInt8(ascii: "{"))
        w.field("agreedActions", agreedActions)
        if let attendance {
            w.key("attendance")
            w.open(UInt8(ascii: "{"))
            w.field("absences", attendance.absences)
            w.field("lessons", attendance.lessons)
            w.close(UInt8(ascii: "}"))
        }
        w.field("comments", comments)
        w.field("copiesTo", copiesTo?.map(\.rawValue))
        w.field("course", course)
        w.field("date", date)
        w.field("formTutor", formTutor)
        w.field("learner", learner.text)
        w.field("learnerComments", learnerComments)
        w.field("nextTutorial", nextTutorial)
        w.field("onTarget", onTarget)
        w.field("previousTargetsMet", previousTargetsMet)
        w.field("previousTargetsNote", previousTargetsNote)
        w.field("punctuality", punctuality?.rawValue)
        w.field("school", school)
        w.field("signedByLearner", signedByLearner)
        w.field("signedByTutor", signedByTutor)
        if let targets {
            w.key("targets")
            w.open(UInt8(ascii: "["))
            for t in targets {
                w.open(UInt8(ascii: "{"))
                w.field("byWhen", t.byWhen)
                w.field("target", t.target)
                w.close(UInt8(ascii: "}"))
            }
            w.close(UInt8(ascii: "]"))
        }
        w.field("tutorComments", tutorComments)
        w.field("workingTowards", workingTowards)
        w.field("yearOfCourse", yearOfCourse)
        w.close(UInt8(ascii: "}"))
    }
}

extension InformalNote {
    /// Writes the note as `JSONEncoder` with `.sortedKeys` would, into a buffer that is wiped.
    func writeJSON(into w: inout JSONWriter) {
        w.open(UInt8(ascii: "{"))
        w.field("copiesTo", copiesTo?.map(\.rawValue))
        w.field("date", date)
        w.field("followUp", followUp)
        w.field("learner", learner.text)
        w.field("recordedOnILR", recordedOnILR)
        w.field("summary", summary)
        w.close(UInt8(ascii: "}"))
    }
}
