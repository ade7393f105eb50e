/// The controls of the pages' forms, each with its label, its hint and its error tied to it
/// (`aria-describedby`, `aria-invalid`), as WCAG 2.2 asks: a screen reader hears what went wrong
/// with a box when it reaches the box.
enum Field {
    /// What a form says is wrong, box by box, in the order of the form.
    struct Problems: Sendable {
        private(set) var all: [(field: String, message: String)] = []

        var isEmpty: Bool { all.isEmpty }

        mutating func add(_ field: String, _ message: String) {
            guard self[field] == nil else { return }
            all.append((field, message))
        }

        subscript(field: String) -> String? { all.first { $0.field == field }?.message }
    }

    /// The box at the top of a page whose form came back with problems: each one a link to its
    /// box. It takes the focus by being the first heading after the page's own (`role=alert`).
    static func summary(_ problems: Problems) -> HTML {
        guard !problems.isEmpty else { return .empty }
        return .element(
            "div",
            [("class", "error-summary"), ("role", "alert"), ("aria-labelledby", "error-summary")],
            [
                H.h2("There is a problem", id: "error-summary"),
                H.ul(problems.all.map { H.link($0.message, to: "#\(id($0.field))") }),
            ])
    }

    /// A box's element id: its name, made safe for an id.
    static func id(_ name: String) -> String {
        "f-" + String(name.map { $0.isLetter || $0.isNumber ? $0 : "-" })
    }

    private static func described(_ name: String, hint: String?, error: String?) -> (
        HTML, String?
    ) {
        var parts: [HTML] = []
        var ids: [String] = []
        if let hint {
            parts.append(
                .element("p", [("class", "hint"), ("id", id(name) + "-hint")], [HTML(hint)]))
            ids.append(id(name) + "-hint")
        }
        if let error {
            parts.append(
                .element(
                    "p", [("class", "error-message"), ("id", id(name) + "-error")],
                    [
                        .element("span", [("class", "visually-hidden")], [HTML("Error: ")]),
                        HTML(error),
                    ]
                ))
            ids.append(id(name) + "-error")
        }
        return (HTML(parts), ids.isEmpty ? nil : ids.joined(separator: " "))
    }

    /// A labelled control: its label, its hint and error (tied to it), and the control itself,
    /// given the ids it is described by and the attributes every control carries.
    private static func labelled(
        _ name: String, label: String, hint: String?, error: String?,
        _ control: (_ common: H.Attributes) -> HTML
    ) -> HTML {
        let (described, ids) = described(name, hint: hint, error: error)
        return .element(
            "div", [("class", error == nil ? "field" : "field field-error")],
            [
                .element("label", [("for", id(name))], [HTML(label)]),
                described,
                control([
                    ("id", id(name)), ("name", name), ("aria-describedby", ids),
                    ("aria-invalid", error == nil ? nil : "true"),
                ]),
            ])
    }

    /// A one-line box.
    /// - Parameters:
    ///   - type: `text`, `date`, `number`, `password`…
    ///   - autocomplete: the WCAG 1.3.5 purpose (`username`, `current-password`…), or `off`.
    static func input(
        _ name: String, label: String, value: String? = nil, hint: String? = nil,
        error: String? = nil, type: String = "text", required: Bool = false,
        autocomplete: String? = nil, width: String? = nil, inputmode: String? = nil
    ) -> HTML {
        labelled(name, label: label, hint: hint, error: error) { common in
            .element(
                "input",
                [("type", type)] + common + [
                    ("value", value), ("required", required ? "" : nil),
                    ("autocomplete", autocomplete), ("class", width), ("inputmode", inputmode),
                ])
        }
    }

    /// A box for paragraphs.
    static func textarea(
        _ name: String, label: String, value: String? = nil, hint: String? = nil,
        error: String? = nil, rows: Int = 5, required: Bool = false
    ) -> HTML {
        labelled(name, label: label, hint: hint, error: error) { common in
            .element(
                "textarea",
                common + [("rows", String(rows)), ("required", required ? "" : nil)],
                [HTML(value ?? "")])
        }
    }

    /// A drop-down list.
    static func select(
        _ name: String, label: String, options: [(value: String, label: String)],
        selected: String, hint: String? = nil, error: String? = nil
    ) -> HTML {
        labelled(name, label: label, hint: hint, error: error) { common in
            .element(
                "select", common,
                options.map { option in
                    .element(
                        "option",
                        [
                            ("value", option.value),
                            ("selected", option.value == selected ? "" : nil),
                        ], [HTML(option.label)])
                })
        }
    }

    /// One choice of several (or several of several, `multiple`), as a fieldset with a legend.
    static func choices(
        _ name: String, legend: String, options: [(value: String, label: String)],
        selected: Set<String>, hint: String? = nil, error: String? = nil, multiple: Bool = false
    ) -> HTML {
        let (described, ids) = described(name, hint: hint, error: error)
        let items: [HTML] = options.enumerated().map { index, option in
            let itemID = id(name) + (index == 0 ? "" : "-\(index)")
            return .element(
                "div", [("class", "choice")],
                [
                    .element(
                        "input",
                        [
                            ("type", multiple ? "checkbox" : "radio"), ("id", itemID),
                            ("name", name), ("value", option.value),
                            ("checked", selected.contains(option.value) ? "" : nil),
                        ]),
                    .element("label", [("for", itemID)], [HTML(option.label)]),
                ])
        }
        return .element(
            "fieldset",
            [
                ("class", error == nil ? "field" : "field field-error"),
                ("aria-describedby", ids),
            ],
            [.element("legend", [], [HTML(legend)]), described, .element("div", [], items)])
    }

    /// A form that posts to this server, carrying the session's CSRF token.
    static func form(
        action: String, csrf: String?, submit: String, secondary: HTML = .empty,
        _ children: [HTML], attributes: H.Attributes = []
    ) -> HTML {
        var content: [HTML] = []
        if let csrf {
            content.append(
                .element("input", [("type", "hidden"), ("name", "csrf"), ("value", csrf)]))
        }
        content += children
        content.append(
            .element(
                "div", [("class", "actions")],
                [.element("button", [("type", "submit")], [HTML(submit)]), secondary]))
        return .element(
            // No box of a record or a reason is kept in the browser's form history (a shared
            // school computer would offer one tutor's words to the next); a box that names its
            // own purpose (a user name, a new password) still says so.
            "form",
            [("method", "post"), ("action", action), ("novalidate", ""), ("autocomplete", "off")]
                + attributes,
            content)
    }

    /// A button that posts to `action` (open, sign out): a form of its own.
    static func button(_ text: String, action: String, csrf: String, label: String? = nil)
        -> HTML
    {
        .element(
            "form", [("method", "post"), ("action", action), ("class", "inline")],
            [
                .element("input", [("type", "hidden"), ("name", "csrf"), ("value", csrf)]),
                .element(
                    "button",
                    [("type", "submit"), ("class", "link-button"), ("aria-label", label)],
                    [HTML(text)]),
            ])
    }
}
