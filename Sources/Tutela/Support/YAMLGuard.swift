/// Finds YAML anchors (`&name`) and aliases (`*name`) before the text reaches the YAML composer.
///
/// Tutela's forms and policies never need them, and the composer resolves an alias by sharing the
/// anchored node: aliases used as mapping keys make its duplicate-key check compare exponentially
/// large trees (a 292-byte file took about 10 s). So they are refused from the text itself, by a
/// scan that knows where a YAML node may begin: at the start of a line, after `- `, `? `, `: `, a
/// tag, or `[`, `{` and `,` in flow collections. `&` and `*` inside plain text ("R&D", "a *b*"),
/// inside quotes, in comments and in block scalars (`|`, `>`) are ordinary characters.
///
/// The scan errs towards refusing: text on a continuation line of a plain scalar that starts with
/// `&` or `*` is refused too, with a message saying to quote it.
enum YAMLGuard {
    /// The line of the first anchor or alias in `text`, or nil when there is none.
    static func firstAnchorOrAlias(in text: String) -> Int? {
        let bytes = Array(text.utf8)
        var i = 0
        var line = 1
        var lineStart = true
        var nodeStart = true
        var flowDepth = 0
        var lineIndent = 0
        var lineBegin = 0
        // The indentation of the line that opened a block scalar; its content is more indented.
        var blockParent: Int?

        func at(_ k: Int) -> UInt8 { k < bytes.count ? bytes[k] : 0x0A }
        /// The length of the line break at `k`, or 0: LF, CR, CR LF, and — as libyaml reads
        /// them — NEL (U+0085), LS (U+2028) and PS (U+2029).
        func breakLength(_ k: Int) -> Int {
            switch at(k) {
            case 0x0A: return 1
            case 0x0D: return at(k + 1) == 0x0A ? 2 : 1
            case 0xC2: return at(k + 1) == 0x85 ? 2 : 0
            case 0xE2: return at(k + 1) == 0x80 && (at(k + 2) == 0xA8 || at(k + 2) == 0xA9) ? 3 : 0
            default: return 0
            }
        }
        func isBlank(_ k: Int) -> Bool { at(k) == 0x20 || at(k) == 0x09 || breakLength(k) > 0 }
        /// One step inside a quoted scalar, counting the line it may end.
        func step(_ k: inout Int) {
            let lineBreak = breakLength(k)
            if lineBreak > 0 { line += 1 }
            k += max(1, lineBreak)
        }
        func toLineEnd(_ k: Int) -> Int {
            var k = k
            while k < bytes.count, breakLength(k) == 0 { k += 1 }
            return k
        }
        /// Past a plain scalar starting at `start`: up to a line end, `: `, ` #`, or (in a flow
        /// collection) a flow indicator.
        func plain(from start: Int) -> Int {
            var k = start
            while k < bytes.count {
                let c = bytes[k]
                if breakLength(k) > 0 { return k }
                if c == UInt8(ascii: ":"), isBlank(k + 1) || flowDepth > 0 { return k }
                if c == UInt8(ascii: "#"), k > start, isBlank(k - 1) { return k }
                if flowDepth > 0,
                    c == UInt8(ascii: ",") || c == UInt8(ascii: "]") || c == UInt8(ascii: "}")
                        || c == UInt8(ascii: "[") || c == UInt8(ascii: "{")
                {
                    return k
                }
                k += 1
            }
            return k
        }

        while i < bytes.count {
            if lineStart {
                // Measure the line; inside a block scalar, skip it whole.
                lineStart = false
                lineBegin = i
                var k = i
                while at(k) == 0x20 { k += 1 }
                lineIndent = k - i
                let empty = breakLength(k) > 0
                if let parent = blockParent, empty || lineIndent > parent {
                    i = toLineEnd(i)
                    continue
                }
                blockParent = nil
                if flowDepth == 0 { nodeStart = true }
                i = k
                continue
            }
            let b = bytes[i]
            let lineBreak = breakLength(i)
            if lineBreak > 0 {
                line += 1
                lineStart = true
                i += lineBreak
                continue
            }
            switch b {
            case 0x20, 0x09:
                i += 1
            case UInt8(ascii: "#") where i == 0 || isBlank(i - 1):
                i = toLineEnd(i)
            case UInt8(ascii: "&"), UInt8(ascii: "*"):
                if nodeStart { return line }
                i += 1
            case UInt8(ascii: "\""):
                i += 1
                while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
                    if bytes[i] == UInt8(ascii: "\\") { i += 1 }
                    step(&i)
                }
                i += 1
                nodeStart = false
            case UInt8(ascii: "'"):
                i += 1
                while i < bytes.count {
                    if bytes[i] == UInt8(ascii: "'") {
                        if at(i + 1) == UInt8(ascii: "'") {
                            i += 2
                            continue
                        }
                        break
                    }
                    step(&i)
                }
                i += 1
                nodeStart = false
            case UInt8(ascii: "-") where at(i + 1) == b && at(i + 2) == b && isBlank(i + 3):
                nodeStart = true  // a document marker
                i += 3
            case UInt8(ascii: "-"), UInt8(ascii: "?"), UInt8(ascii: ":"):
                if isBlank(i + 1) || (flowDepth > 0 && b == UInt8(ascii: ":")) {
                    nodeStart = true
                    i += 1
                } else if nodeStart {
                    nodeStart = false
                    i = plain(from: i)
                } else {
                    i += 1
                }
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                flowDepth += 1
                nodeStart = true
                i += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                flowDepth = max(0, flowDepth - 1)
                nodeStart = false
                i += 1
            case UInt8(ascii: ","):
                nodeStart = flowDepth > 0
                i += 1
            case UInt8(ascii: "!") where nodeStart:
                // A tag is a node property; the node itself follows it.
                while i < bytes.count, !isBlank(i) { i += 1 }
            case UInt8(ascii: "|") where nodeStart && flowDepth == 0,
                UInt8(ascii: ">") where nodeStart && flowDepth == 0:
                // The block's content is indented past the node holding it: the key before the
                // indicator (`- a: |` → column 2), or the sequence entry it is (`- |` → the dash).
                var k = lineBegin + lineIndent
                var parent = lineIndent
                while k < i, at(k) == UInt8(ascii: "-"), isBlank(k + 1) {
                    parent = k - lineBegin
                    k += 1
                    while at(k) == 0x20 { k += 1 }
                }
                if k < i { parent = k - lineBegin }
                blockParent = parent
                nodeStart = false
                i = toLineEnd(i)
            case UInt8(ascii: "%") where i == 0 || breakLength(i - 1) > 0:
                i = toLineEnd(i)  // a directive
            default:
                if nodeStart {
                    nodeStart = false
                    i = plain(from: i)
                } else {
                    i += 1
                }
            }
        }
        return nil
    }
}
