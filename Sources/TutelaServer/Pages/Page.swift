import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Tutela

/// One page: its title (never a record's contents: a title reaches the browser's history and its
/// tabs), its content and its status, laid out with the site's header, navigation and footer.
struct Page {
    var title: String
    var content: [HTML]
    var status: HTTPResponse.Status = .ok
    /// `print` for a page laid out to be printed (a record, a certificate).
    var kind: String? = nil

    init(
        _ title: String, status: HTTPResponse.Status = .ok, kind: String? = nil,
        _ content: [HTML]
    ) {
        self.title = title
        self.content = content
        self.status = status
        self.kind = kind
    }

    /// The page as HTML for `visitor` (nil before signing in), with the navigation their roles
    /// use.
    func response(for visitor: Visitor?) -> Response {
        let head = HTML.element(
            "head", [],
            [
                .element("meta", [("charset", "utf-8")]),
                .element(
                    "meta",
                    [("name", "viewport"), ("content", "width=device-width, initial-scale=1")]),
                .element("meta", [("name", "referrer"), ("content", "no-referrer")]),
                .element("title", [], [HTML("\(title) – Tutela")]),
                .element("link", [("rel", "stylesheet"), ("href", Assets.stylesheetPath)]),
                .element("script", [("src", Assets.scriptPath), ("defer", "")]),
            ])
        let body = HTML.element(
            "body", [("class", kind)],
            [
                .element(
                    "a", [("class", "skip-link"), ("href", "#main")], [HTML("Skip to main content")]
                ),
                header(visitor),
                .element("main", [("id", "main"), ("tabindex", "-1")], content),
                .element(
                    "footer", [],
                    [
                        H.p(
                            "Tutela keeps confidential learner records sealed. Everything you open "
                                + "here is recorded in the audit log under your name.")
                    ]),
            ])
        let document = HTML.document(.element("html", [("lang", "en-GB")], [head, body]))
        return Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: document)))
    }

    private func header(_ visitor: Visitor?) -> HTML {
        var parts: [HTML] = [
            .element("a", [("class", "brand"), ("href", "/")], [HTML("Tutela")])
        ]
        if let visitor {
            let links = Self.navigation(for: visitor.principal).map { item in
                H.link(item.label, to: item.path)
            }
            parts.append(
                .element(
                    "nav", [("aria-label", "Main")],
                    [
                        H.ul(links),
                        Field.button("Sign out", action: "/sign-out", csrf: visitor.csrf),
                    ]
                ))
            parts.append(
                H.p(
                    "Signed in as \(visitor.principal.name) (\(visitor.principal.id))",
                    [("class", "who")]))
        }
        return .element("header", [("class", "site-header")], parts)
    }

    /// The pages a person's roles use, in the order they use them.
    /// (As the library counts roles: one awaiting new keys holds none yet.)
    static func navigation(for principal: Principal) -> [(label: String, path: String)] {
        let roles = Role.allCases.filter(principal.has)
        var items: [(String, String)] = [("Home", "/")]
        if roles.contains(.tutor) { items.append(("My tutees", "/tutees")) }
        if roles.contains(.tutor) || roles.contains(.headOfCentre) {
            items.append(("Planning", "/plans"))
        }
        items.append(("Records", "/records"))
        if roles.contains(.safeguardingOfficer) || roles.contains(.headOfCentre) {
            items.append(("Break-glass", "/break-glass"))
            items.append(("Reviews", "/reviews"))
        }
        if roles.contains(.admin) {
            items.append(("People", "/people"))
            items.append(("Learners", "/learners"))
            items.append(("Policy", "/policy"))
        }
        if roles.contains(.recordKeeper) || roles.contains(.headOfCentre) {
            items.append(("Retention", "/retention"))
        }
        if roles.contains(.ilrOfficer) { items.append(("ILR record", "/ilr")) }
        items.append(("Passphrase", "/passphrase"))
        return items
    }

    /// A page that says what went wrong, in plain words, and where to go next.
    static func problem(_ error: APIError, visitor: Visitor?) -> Page {
        let heading: String
        switch error.status {
        case .notFound: heading = "Not found"
        case .forbidden: heading = "You may not do that"
        case .tooManyRequests: heading = "Too many attempts"
        case .serviceUnavailable: heading = "Try again shortly"
        case .internalServerError where error.code == "tampered":
            heading = "The vault failed a check"
        case .internalServerError: heading = "Something went wrong"
        default: heading = "That could not be done"
        }
        var content: [HTML] = [H.h1(heading), H.p(Self.sentence(error.message))]
        if error.code == "tampered" {
            content.append(
                H.p(
                    "Nothing was shown or changed. Tell the person who looks after Tutela at once: "
                        + "the stored records may have been altered."))
        } else if let hint = error.hint, !hint.contains("/api/") {
            content.append(H.p(Self.sentence(hint)))
        }
        content.append(H.p([], [H.link("Back to your home page", to: "/")]))
        return Page(heading, status: error.status, content)
    }

    /// A moment as people read it: "7 December 2026 at 14:05", in the server's time zone (the
    /// centre's), not the log's UTC.
    static func when(_ seconds: Int64) -> String {
        Date(timeIntervalSince1970: TimeInterval(seconds)).formatted(
            Date.FormatStyle(
                date: .long, time: .shortened, locale: Locale(identifier: "en_GB"),
                calendar: Calendar(identifier: .gregorian), timeZone: .current))
    }

    /// A message as a sentence: capital first letter, full stop.
    static func sentence(_ text: String) -> String {
        guard let first = text.first else { return text }
        let capitalised = first.uppercased() + text.dropFirst()
        return capitalised.hasSuffix(".") ? capitalised : capitalised + "."
    }

    /// A redirect after a form (303: the browser then fetches the page, so going back or
    /// reloading never sends the form again).
    static func redirect(to path: String) -> Response {
        Response(status: .seeOther, headers: [.location: path])
    }
}

/// Who is looking at a page: their signed-in session and its CSRF token.
struct Visitor: Sendable {
    let signedIn: SignedInSessions.SignedIn
    var session: Session { signedIn.session }
    var principal: Principal { signedIn.session.principal }
    var csrf: String { signedIn.csrf }
}

/// What a form did, told on the page it redirects to. A form that changes something answers
/// 303 and the browser fetches that page anew: reloading it, or going back, never sends the form
/// again (a second tutorial sealed, a second request made). Only the step and an id travel in
/// the URL, never anything from a record.
enum Done: String {
    case sealed, addendum, flagged, requested, approved, declined, proposed, planned, cancelled
    case plannedUntold = "planned-untold"

    /// The redirect to `path` that tells, there, that `self` was done to `id`.
    func redirect(to path: String, id: String) -> Response {
        Page.redirect(to: "\(path)?done=\(rawValue)&id=\(id)")
    }

    /// The step a page's URL says was just done, and its id, when both are well formed.
    static func told(_ request: Request) -> (Done, String)? {
        let q = request.uri.queryParameters
        guard let done = q.get("done").flatMap(Done.init(rawValue:)), let id = q.get("id") else {
            return nil
        }
        let wellFormed =
            switch done {
            case .requested, .approved, .declined: Tutela.RequestID(validating: id) != nil
            case .planned, .plannedUntold, .cancelled: PlanID(validating: id) != nil
            default: RecordID(validating: id) != nil
            }
        return wellFormed ? (done, id) : nil
    }

    /// The box that says so, at the top of the page.
    static func notice(_ title: String, _ message: String) -> HTML {
        .element(
            "div", [("class", "notice"), ("role", "status")], [H.h2(title), H.p(message)])
    }
}
