/// Reads the fields of one JSON/YAML object, remembering which were used so that unknown ones can be
/// refused, and producing messages of the form `form.json: field 'attendance.absences': …`.
struct FieldReader {
    let path: String
    let source: String
    private var pairs: [(key: String, value: Document)]
    private var used = Set<String>()

    init(_ document: Document, path: String, source: String) throws(TutelaError) {
        guard case .object(let pairs) = document else {
            throw .invalidInput(
                "\(source): \(path.isEmpty ? "the form" : "field '\(path)'") must be an object")
        }
        self.pairs = pairs
        self.path = path
        self.source = source
    }

    private func fieldPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func problem(_ key: String, _ what: String) -> TutelaError {
        .invalidInput("\(source): field '\(fieldPath(key))': \(what)")
    }

    private mutating func value(_ key: String, required: Bool) throws(TutelaError) -> Document? {
        used.insert(key)
        // A box left empty — no value, or a group of boxes all left empty, as a template leaves
        // them — is a box not filled in.
        guard let v = pairs.first(where: { $0.key == key })?.value, !v.isBlank else {
            if required { throw problem(key, "is required") }
            return nil
        }
        return v
    }

    /// Refuses any field that no reader asked for, suggesting the field that was meant.
    func finish() throws(TutelaError) {
        if let unknown = pairs.first(where: { !used.contains($0.key) }) {
            throw .invalidInput(
                "\(source): unknown field '\(Identifier.printable(fieldPath(unknown.key)))'",
                hint: Self.hint(for: unknown.key, known: used))
        }
    }

    /// What a misspelt or misplaced field was probably meant to be.
    static func hint(for key: String, known: Set<String>) -> String {
        let folded = key.lowercased().filter { $0.isLetter }
        if folded == "confidential" || folded == "totallyconfidential" {
            return "whether a tutorial is totally confidential is not a box on the form: seal it "
                + "with --confidential"
        }
        let nearest = known.map { ($0, distance(folded, $0.lowercased())) }
            .filter { $0.1 <= max(1, min(3, $0.0.count / 4)) }
            .min { ($0.1, $0.0) < ($1.1, $1.0) }
        if let (name, _) = nearest { return "did you mean '\(name)'? (see docs/FORM.md)" }
        return "check the spelling against the form in docs/FORM.md ('tutela tutorial seal "
            + "--help' lists the fields)"
    }

    /// The edit distance between two short names (insertions, deletions, substitutions).
    static func distance(_ a: String, _ b: String) -> Int {
        let (a, b) = (Array(a.prefix(64)), Array(b.prefix(64)))
        guard !a.isEmpty else { return b.count }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var diagonal = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let above = row[j]
                row[j] = min(above + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1))
                diagonal = above
            }
        }
        return row[b.count]
    }

    static func text(
        _ v: Document, path: String, max: Int, source: String
    ) throws(TutelaError) -> String {
        guard case .string(let s) = v else {
            throw .invalidInput("\(source): field '\(path)': must be text, not \(v.typeName)")
        }
        // Most text is ASCII without carriage returns, where characters are bytes and the control
        // characters are the bytes below space and DEL: a fast path for the same rule.
        let ascii = s.utf8.allSatisfy { $0 < 0x80 && $0 != 0x0D }
        let length = ascii ? s.utf8.count : s.count
        guard length <= max else {
            throw .invalidInput(
                "\(source): field '\(path)': is \(length) characters, over the limit of \(max)")
        }
        let forbidden =
            ascii
            ? s.utf8.contains { ($0 < 0x20 && $0 != 0x0A && $0 != 0x09) || $0 == 0x7F }
            : s.unicodeScalars.contains {
                $0.properties.generalCategory == .control && $0 != "\n" && $0 != "\t"
                    && $0 != "\r"
            }
        guard !forbidden else {
            throw .invalidInput("\(source): field '\(path)': contains a control character")
        }
        return s
    }

    static func choice<T: RawRepresentable & CaseIterable>(
        _ v: Document, _ type: T.Type, path: String, source: String
    ) throws(TutelaError) -> T where T.RawValue == String {
        guard case .string(let s) = v, let c = T(rawValue: s) else {
            throw .invalidInput(
                "\(source): field '\(path)': must be one of "
                    + T.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return c
    }

    mutating func text(_ key: String, max: Int, required: Bool = false) throws(TutelaError)
        -> String?
    {
        guard let v = try value(key, required: required) else { return nil }
        let s = try Self.text(v, path: fieldPath(key), max: max, source: source)
        if required, s.allSatisfy(\.isWhitespace) { throw problem(key, "is required") }
        return s
    }

    /// A required id field of `Kind`.
    mutating func id<Kind>(_ key: String) throws(TutelaError) -> ID<Kind> {
        let s = try text(key, max: Identifier.maximumLength, required: true).orThrow()
        guard let id = ID<Kind>(validating: s) else {
            throw problem(key, "'\(Identifier.printable(s))' is not a valid id")
        }
        return id
    }

    mutating func date(_ key: String, required: Bool = false) throws(TutelaError) -> CalendarDate? {
        guard let v = try value(key, required: required) else { return nil }
        guard case .string(let s) = v, let d = CalendarDate(s) else {
            throw problem(key, "must be a date written YYYY-MM-DD")
        }
        return d
    }

    mutating func integer(
        _ key: String, range: ClosedRange<Int>, required: Bool = false
    ) throws(TutelaError) -> Int? {
        guard let v = try value(key, required: required) else { return nil }
        guard case .integer(let i) = v else {
            throw problem(key, "must be a whole number, not \(v.typeName)")
        }
        guard i >= range.lowerBound, i <= range.upperBound else {
            throw problem(key, "\(i) is outside \(range.lowerBound)–\(range.upperBound)")
        }
        return Int(i)
    }

    mutating func bool(_ key: String) throws(TutelaError) -> Bool? {
        guard let v = try value(key, required: false) else { return nil }
        guard case .bool(let b) = v else { throw problem(key, "must be true or false") }
        return b
    }

    mutating func choice<T: RawRepresentable & CaseIterable>(
        _ key: String, _ type: T.Type
    ) throws(TutelaError) -> T? where T.RawValue == String {
        guard let v = try value(key, required: false) else { return nil }
        return try Self.choice(v, type, path: fieldPath(key), source: source)
    }

    mutating func object<T>(
        _ key: String, _ read: (inout FieldReader) throws(TutelaError) -> T
    ) throws(TutelaError) -> T? {
        guard let v = try value(key, required: false) else { return nil }
        var reader = try FieldReader(v, path: fieldPath(key), source: source)
        let result = try read(&reader)
        try reader.finish()
        return result
    }

    mutating func list<T>(
        _ key: String, max: Int, _ read: ((value: Document, path: String)) throws(TutelaError) -> T
    ) throws(TutelaError) -> [T]? {
        guard let v = try value(key, required: false) else { return nil }
        guard case .array(let items) = v else { throw problem(key, "must be a list") }
        guard items.count <= max else {
            throw problem(key, "has \(items.count) entries, over \(max)")
        }
        var result: [T] = []
        for (i, item) in items.enumerated() where !item.isBlank {
            result.append(try read((item, "\(fieldPath(key))[\(i)]")))
        }
        return result
    }
}
