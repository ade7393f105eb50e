import Yams

/// A parsed JSON or YAML document, before it is checked against a schema.
///
/// Objects keep their key order and refuse duplicate keys. Parsing is bounded: a size cap, a depth cap
/// and a node budget, so a hostile file (deep nesting, a YAML alias bomb) is refused quickly.
indirect enum Document: Equatable, Sendable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([Document])
    case object([(key: String, value: Document)])

    /// Nothing filled in: no value, or a list or group whose every value is blank.
    var isBlank: Bool {
        switch self {
        case .null: return true
        case .array(let items): return items.allSatisfy(\.isBlank)
        case .object(let pairs): return pairs.allSatisfy(\.value.isBlank)
        default: return false
        }
    }

    static func == (a: Document, b: Document) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.integer(let x), .integer(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)):
            return x.count == y.count
                && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    struct Limits: Sendable {
        var maximumBytes = 1 << 20
        var maximumDepth = 32
        var maximumNodes = 20_000
    }

    /// Parses JSON (RFC 8259, strictly) or YAML, chosen by content: a document whose first
    /// non-blank character is `{` or `[` is JSON.
    static func parse(
        _ bytes: [UInt8], source: String, limits: Limits = Limits()
    ) throws(TutelaError) -> Document {
        guard bytes.count <= limits.maximumBytes else {
            throw .invalidInput(
                "\(source) is \(bytes.count) bytes, over the limit of \(limits.maximumBytes)")
        }
        let first = bytes.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
        if first == UInt8(ascii: "{") || first == UInt8(ascii: "[") {
            var parser = JSONParser(bytes: bytes, source: source, limits: limits)
            return try parser.parseDocument()
        }
        return try parseYAML(bytes, source: source, limits: limits)
    }

    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "true/false"
        case .integer: return "a whole number"
        case .number: return "a number"
        case .string: return "text"
        case .array: return "a list"
        case .object: return "an object"
        }
    }

    private static func parseYAML(
        _ bytes: [UInt8], source: String, limits: Limits
    ) throws(TutelaError) -> Document {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .invalidInput("\(source) is not valid UTF-8")
        }
        guard !text.contains("\0") else {
            throw .invalidInput("\(source) contains a NUL character")
        }
        if let line = YAMLGuard.firstAnchorOrAlias(in: text) {
            throw .invalidInput(
                "\(source) uses a YAML anchor or alias at line \(line); write the value out "
                    + "(quote text that starts with & or *)")
        }
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            let (line, problem) = yamlProblem(error)
            throw .invalidInput(
                "\(source) is not valid YAML: \(problem)" + (line.map { " at line \($0)" } ?? ""))
        }
        guard let node else { throw .invalidInput("\(source) is empty") }
        var budget = limits.maximumNodes
        return try convert(node, depth: 0, budget: &budget, limits: limits, source: source)
    }

    /// What libyaml (through Yams) said was wrong, and on which line, without echoing the input.
    static func yamlProblem(_ error: any Error) -> (line: Int?, problem: String) {
        guard let yaml = error as? YamlError else { return (nil, "it could not be parsed") }
        switch yaml {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return (mark.line, problem)
        case .duplicatedKeysInMapping(let duplicates, let context):
            return (
                context.mark.line,
                "the key '\(Identifier.printable(duplicates.first ?? "?"))' appears twice in one mapping"
            )
        case .reader(let problem, _, _, _):
            return (nil, problem)
        default:
            return (nil, "it could not be parsed")
        }
    }

    private static func convert(
        _ node: Node, depth: Int, budget: inout Int, limits: Limits, source: String
    ) throws(TutelaError) -> Document {
        budget -= 1
        guard budget >= 0 else {
            throw .invalidInput("\(source) has more than \(limits.maximumNodes) values")
        }
        guard depth <= limits.maximumDepth else {
            throw .invalidInput("\(source) is nested more than \(limits.maximumDepth) levels deep")
        }
        let line = node.mark.map { " (line \($0.line))" } ?? ""
        switch node {
        case .alias:
            throw .invalidInput("\(source) uses a YAML alias\(line); write the value out instead")
        case .scalar(let scalar):
            if scalar.style != .plain { return .string(scalar.string) }
            switch Tag.Name(rawValue: node.tag.rawValue) {
            case .null: return .null
            case .bool:
                guard let b = node.bool else { return .string(scalar.string) }
                return .bool(b)
            case .int:
                guard let i = Int64(exactly: node.int ?? Int.max), node.int != nil else {
                    throw .invalidInput("\(source) has a number out of range\(line)")
                }
                return .integer(i)
            case .float:
                guard let f = node.float, f.isFinite else {
                    throw .invalidInput("\(source) has a number out of range\(line)")
                }
                return .number(f)
            default: return .string(scalar.string)
            }
        case .sequence(let seq):
            var items: [Document] = []
            for child in seq {
                items.append(
                    try convert(
                        child, depth: depth + 1, budget: &budget, limits: limits, source: source))
            }
            return .array(items)
        case .mapping(let map):
            var pairs: [(key: String, value: Document)] = []
            var seen = Set<String>()
            for (k, v) in map {
                guard case .scalar(let keyScalar) = k else {
                    throw .invalidInput("\(source) has a key that is not text\(line)")
                }
                guard seen.insert(keyScalar.string).inserted else {
                    throw .invalidInput(
                        "\(source) has the key '\(Identifier.printable(keyScalar.string))' twice\(line)"
                    )
                }
                pairs.append(
                    (
                        keyScalar.string,
                        try convert(
                            v, depth: depth + 1, budget: &budget, limits: limits, source: source)
                    ))
            }
            return .object(pairs)
        }
    }
}
