import Foundation

/// Tutela's canonical binary encoding: one byte string for one value, so that what is signed, hashed
/// or authenticated is never ambiguous.
///
/// Integers are big-endian and fixed-width; byte strings and UTF-8 strings carry a 4-byte length;
/// lists carry a 2-byte count. Every field is written in a fixed order. See `docs/FORMAT.md`.
struct CanonicalWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    mutating func u8(_ v: UInt8) { bytes.append(v) }

    mutating func u16(_ v: UInt16) {
        bytes.append(UInt8(v >> 8))
        bytes.append(UInt8(v & 0xFF))
    }

    mutating func u32(_ v: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) {
            bytes.append(UInt8((v >> UInt32(shift)) & 0xFF))
        }
    }

    mutating func u64(_ v: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8((v >> UInt64(shift)) & 0xFF))
        }
    }

    mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }

    mutating func bool(_ v: Bool) { u8(v ? 1 : 0) }

    /// A byte string with its 4-byte length.
    mutating func data(_ v: [UInt8]) {
        u32(UInt32(v.count))
        bytes.append(contentsOf: v)
    }

    /// Bytes of a fixed, known length: no length prefix.
    mutating func fixed(_ v: [UInt8]) { bytes.append(contentsOf: v) }

    mutating func string(_ v: String) { data(Array(v.utf8)) }

    mutating func optionalString(_ v: String?) {
        bool(v != nil)
        if let v { string(v) }
    }

    mutating func strings(_ v: [String]) {
        u16(UInt16(v.count))
        for s in v { string(s) }
    }

    /// An id, written as its text.
    mutating func id<Kind>(_ v: ID<Kind>) { string(v.text) }

    /// An optional id, written as its text.
    mutating func optionalID<Kind>(_ v: ID<Kind>?) { optionalString(v?.text) }

    /// A list of ids, written as their texts.
    mutating func ids<Kind>(_ v: [ID<Kind>]) { strings(v.map(\.text)) }
}

/// Strict reader for ``CanonicalWriter``'s encoding.
///
/// Every read checks bounds and every length against a cap given by the caller, so a hostile input
/// can neither read past its end nor make Tutela allocate more than the cap. ``finish()`` refuses
/// trailing bytes: there is exactly one encoding of each value.
struct CanonicalReader {
    private let bytes: [UInt8]
    private var offset = 0
    /// What is being parsed, for error messages ("label", "slot", …).
    let context: String

    init(_ bytes: [UInt8], context: String) {
        self.bytes = bytes
        self.context = context
    }

    /// How many bytes have been read.
    var position: Int { offset }

    private func fail(_ what: String) -> TutelaError {
        .tampered("\(context) is malformed: \(what)")
    }

    // Field names are autoclosures: messages are built only when something is wrong, never on the
    // hot path of reading millions of labels.
    mutating func take(_ n: Int, _ what: @autoclosure () -> String) throws(TutelaError)
        -> ArraySlice<UInt8>
    {
        guard n >= 0, bytes.count - offset >= n else { throw fail("\(what()) runs past the end") }
        defer { offset += n }
        return bytes[offset..<offset + n]
    }

    mutating func u8(_ what: @autoclosure () -> String) throws(TutelaError) -> UInt8 {
        try take(1, what()).first ?? 0
    }

    mutating func u16(_ what: @autoclosure () -> String) throws(TutelaError) -> UInt16 {
        try take(2, what()).reduce(0) { $0 << 8 | UInt16($1) }
    }

    mutating func u32(_ what: @autoclosure () -> String) throws(TutelaError) -> UInt32 {
        try take(4, what()).reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func u64(_ what: String) throws(TutelaError) -> UInt64 {
        try take(8, what).reduce(0) { $0 << 8 | UInt64($1) }
    }

    mutating func i64(_ what: String) throws(TutelaError) -> Int64 {
        Int64(bitPattern: try u64(what))
    }

    mutating func bool(_ what: String) throws(TutelaError) -> Bool {
        switch try u8(what) {
        case 0: return false
        case 1: return true
        default: throw fail("\(what) is not 0 or 1")
        }
    }

    mutating func data(_ what: String, max: Int) throws(TutelaError) -> [UInt8] {
        Array(try slice(what, max: max))
    }

    /// A length-prefixed field's bytes, without copying them.
    mutating func slice(_ what: String, max: Int) throws(TutelaError) -> ArraySlice<UInt8> {
        let length = Int(try u32("\(what) length"))
        guard length <= max else {
            throw fail("\(what) is \(length) bytes, over the cap of \(max)")
        }
        return try take(length, what)
    }

    mutating func fixed(_ what: String, count: Int) throws(TutelaError) -> [UInt8] {
        Array(try take(count, what))
    }

    mutating func string(_ what: String, max: Int) throws(TutelaError) -> String {
        try stringWithBytes(what, max: max).string
    }

    /// A string field and the bytes it was read from (for checks on the bytes themselves).
    mutating func stringWithBytes(_ what: String, max: Int) throws(TutelaError) -> (
        string: String, bytes: ArraySlice<UInt8>
    ) {
        let raw = try slice(what, max: max)
        guard let text = Self.strictUTF8(raw) else { throw fail("\(what) is not valid UTF-8") }
        return (text, raw)
    }

    /// Whether two byte runs are equal: `memcmp`, where the generic `elementsEqual` walks an
    /// iterator a byte at a time (a tenth of a retention check). Not constant-time: for public
    /// bytes only.
    static func same(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        guard let x = a.baseAddress, let y = b.baseAddress else { return true }
        return memcmp(x, y, a.count) == 0
    }

    /// Whether `a` ends with `tail`, compared as ``same(_:_:)``.
    static func hasSuffix(_ a: ArraySlice<UInt8>, _ tail: some Collection<UInt8>) -> Bool {
        a.count >= tail.count
            && a.suffix(tail.count).withUnsafeBufferPointer { s in
                tail.withContiguousStorageIfAvailable { same(s, $0) }
                    ?? s.elementsEqual(tail)
            }
    }

    /// `raw` as a string, or nil when it is not well-formed UTF-8.
    ///
    /// Decoding repairs ill-formed UTF-8 with U+FFFD, so a repaired string no longer matches its
    /// bytes: comparing them is a strict check, and much cheaper than `String(validating:)`, which
    /// looks up generic metadata on every call (half the retention check's time). ASCII, which
    /// most fields are, cannot be repaired, so it skips the comparison.
    static func strictUTF8(_ raw: ArraySlice<UInt8>) -> String? {
        raw.withUnsafeBufferPointer { bytes in
            let text = String(decoding: bytes, as: UTF8.self)
            var high: UInt8 = 0
            for byte in bytes { high |= byte }
            if high < 0x80 { return text }
            let exact =
                text.utf8.count == bytes.count
                && (text.utf8.withContiguousStorageIfAvailable { Self.same($0, bytes) }
                    ?? text.utf8.elementsEqual(bytes))
            return exact ? text : nil
        }
    }

    /// A string field expected to equal `known` (a column stored beside the encoding): when it
    /// does, `known` itself is returned and no new string is built.
    mutating func string(_ what: String, max: Int, expecting known: String?) throws(TutelaError)
        -> String
    {
        guard let known else { return try string(what, max: max) }
        let start = offset
        if try matches(what, max: max, known) { return known }
        offset = start
        return try string(what, max: max)
    }

    /// Reads a string field and says whether it spells `known`, building no string.
    mutating func matches(_ what: String, max: Int, _ known: String) throws(TutelaError) -> Bool {
        var known = known
        let raw = try slice(what, max: max)
        return known.withUTF8 { k in raw.withUnsafeBufferPointer { Self.same(k, $0) } }
    }

    /// An id field: the text of a valid id, reusing `known` when the bytes spell it.
    /// - Throws: `.tampered` when the text is not a valid id.
    mutating func id<Kind>(_ what: String, expecting known: ID<Kind>? = nil) throws(TutelaError)
        -> ID<Kind>
    {
        let text = try string(what, max: Identifier.maximumLength, expecting: known?.text)
        if let known, known.text.utf8.elementsEqual(text.utf8) { return known }
        guard let id = ID<Kind>(validating: text) else {
            throw .tampered("\(context): \(what) is not a valid id")
        }
        return id
    }

    /// A string field that must be one of `table`'s spellings, matched without building a string.
    mutating func oneOf<T>(_ what: String, max: Int, _ table: [(utf8: [UInt8], value: T)])
        throws(TutelaError) -> T?
    {
        let raw = try slice(what, max: max)
        return raw.withUnsafeBufferPointer { raw in
            table.first { entry in entry.utf8.withUnsafeBufferPointer { Self.same($0, raw) } }?
                .value
        }
    }

    mutating func optionalString(_ what: String, max: Int) throws(TutelaError) -> String? {
        try bool("\(what) presence") ? try string(what, max: max) : nil
    }

    /// An optional id field.
    /// - Throws: `.tampered` when the text is present and not a valid id.
    mutating func optionalID<Kind>(_ what: String) throws(TutelaError) -> ID<Kind>? {
        try bool("\(what) presence") ? try id(what) : nil
    }

    /// A list of at most `maxCount` ids.
    /// - Throws: `.tampered` when an entry is not a valid id.
    mutating func ids<Kind>(_ what: String, maxCount: Int) throws(TutelaError) -> [ID<Kind>] {
        let count = try count(what, maxCount: maxCount)
        var result: [ID<Kind>] = []
        for _ in 0..<count { result.append(try id(what)) }
        return result
    }

    /// The entry count of a list field, at most `maxCount`.
    mutating func count(_ what: String, maxCount: Int) throws(TutelaError) -> Int {
        let count = Int(try u16("\(what) count"))
        guard count <= maxCount else {
            throw fail("\(what) has \(count) entries, over \(maxCount)")
        }
        return count
    }

    mutating func strings(_ what: String, maxCount: Int, max: Int) throws(TutelaError) -> [String] {
        let count = try count(what, maxCount: maxCount)
        var result: [String] = []
        for _ in 0..<count { result.append(try string(what, max: max)) }
        return result
    }

    mutating func date(_ what: String) throws(TutelaError) -> CalendarDate {
        try dateWithBytes(what).date
    }

    /// A date field and the bytes it was written as.
    mutating func dateWithBytes(_ what: String) throws(TutelaError)
        -> (date: CalendarDate, bytes: ArraySlice<UInt8>)
    {
        let bytes = try slice(what, max: 10)
        guard let date = CalendarDate(utf8: bytes) else { throw fail("\(what) is not a date") }
        return (date, bytes)
    }

    /// Refuses trailing bytes.
    func finish() throws(TutelaError) {
        guard offset == bytes.count else {
            throw fail("\(bytes.count - offset) unexpected trailing bytes")
        }
    }
}
