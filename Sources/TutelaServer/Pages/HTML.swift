/// A piece of HTML built from escaped parts: text can only enter it escaped, and element and
/// attribute names only from this module's own literals, so nothing a person typed — a learner's
/// name, a reason, a form's box — can become markup or script.
struct HTML: Sendable {
    /// The markup, escaped as it was built.
    private(set) var source: String

    private init(markup: String) { source = markup }

    /// Text, escaped: `<`, `>`, `&`, `"` and `'` become character references.
    init(_ text: String) { source = Self.escape(text) }

    /// Nothing.
    static let empty = HTML(markup: "")

    /// `parts` one after another.
    init(_ parts: [HTML]) { source = parts.map(\.source).joined() }

    /// An element. An attribute with a nil value is left out; one with an empty value is written as
    /// a bare (boolean) attribute.
    /// - Parameters:
    ///   - name: the element, a literal of this module.
    ///   - attributes: name (a literal) and value (escaped) pairs, in order.
    ///   - children: its content; ignored for a void element (`input`, `meta`, `link`, `br`).
    static func element(
        _ name: StaticString, _ attributes: [(String, String?)] = [], _ children: [HTML] = []
    ) -> HTML {
        var out = "<\(name)"
        for (attribute, value) in attributes {
            guard let value else { continue }
            out += value.isEmpty ? " \(attribute)" : " \(attribute)=\"\(escape(value))\""
        }
        out += ">"
        if voids.contains("\(name)") { return HTML(markup: out) }
        out += children.map(\.source).joined()
        out += "</\(name)>"
        return HTML(markup: out)
    }

    /// The whole document: the doctype, then `root`.
    static func document(_ root: HTML) -> String { "<!DOCTYPE html>\n" + root.source }

    private static let voids: Set<String> = ["input", "meta", "link", "br", "hr", "img"]

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            // Control characters other than tab and newline have no place on a page.
            case "\u{0}"..."\u{8}", "\u{B}", "\u{C}", "\u{E}"..."\u{1F}", "\u{7F}":
                out += "\u{FFFD}"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }
}

/// Short names for the elements the pages use, so a page reads like its markup.
enum H {
    typealias Attributes = [(String, String?)]

    static func text(_ text: String) -> HTML { HTML(text) }
    static func p(_ text: String, _ attributes: Attributes = []) -> HTML {
        .element("p", attributes, [HTML(text)])
    }
    static func p(_ attributes: Attributes = [], _ children: [HTML]) -> HTML {
        .element("p", attributes, children)
    }
    static func h1(_ text: String) -> HTML { .element("h1", [], [HTML(text)]) }
    static func h2(_ text: String, id: String? = nil) -> HTML {
        .element("h2", [("id", id)], [HTML(text)])
    }
    static func div(_ attributes: Attributes = [], _ children: [HTML]) -> HTML {
        .element("div", attributes, children)
    }
    static func section(_ attributes: Attributes = [], _ children: [HTML]) -> HTML {
        .element("section", attributes, children)
    }
    static func link(_ text: String, to href: String, _ attributes: Attributes = []) -> HTML {
        .element("a", [("href", href)] + attributes, [HTML(text)])
    }
    static func ul(_ items: [HTML], _ attributes: Attributes = []) -> HTML {
        .element("ul", attributes, items.map { .element("li", [], [$0]) })
    }
    static func strong(_ text: String) -> HTML { .element("strong", [], [HTML(text)]) }
    static func span(_ text: String, _ attributes: Attributes = []) -> HTML {
        .element("span", attributes, [HTML(text)])
    }

    /// A table with a caption, header cells and rows of cells (the first cell of a row is its
    /// header, for screen readers).
    static func table(caption: String, headers: [String], rows: [[HTML]]) -> HTML {
        .element(
            "div",
            [
                ("class", "table-wrap"), ("role", "region"), ("aria-label", caption),
                ("tabindex", "0"),
            ],
            [
                .element(
                    "table", [],
                    [
                        .element("caption", [], [HTML(caption)]),
                        .element(
                            "thead", [],
                            [
                                .element(
                                    "tr", [],
                                    headers.map { .element("th", [("scope", "col")], [HTML($0)]) })
                            ]),
                        .element(
                            "tbody", [],
                            rows.map { cells in
                                .element(
                                    "tr", [],
                                    cells.enumerated().map { index, cell in
                                        index == 0
                                            ? .element("th", [("scope", "row")], [cell])
                                            : .element("td", [], [cell])
                                    })
                            }),
                    ])
            ])
    }

    /// A definition list of label and value pairs (a record's boxes, a summary).
    static func facts(_ pairs: [(String, HTML)]) -> HTML {
        .element(
            "dl", [("class", "facts")],
            pairs.flatMap { [.element("dt", [], [HTML($0.0)]), .element("dd", [], [$0.1])] })
    }
}
