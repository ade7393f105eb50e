import Foundation
import Tutela

/// What waits for someone, as their home page shows it: only the counts their roles see.
struct HomeSummary: Sendable {
    var notices: [Notice]
    var unread: Int
    var tutees: Int?
    var records: Int
    /// Flagged records still to act on (officers).
    var queue: Int?
    /// Openings of flagged records waiting for a review (heads, officers).
    var reviews: Int?
    /// Break-glass requests waiting for this person's approval.
    var approvals: Int?
    /// A tutor's tutees whose review falls due within the notice with nothing planned, or was
    /// missed: the reminder a week before.
    var reviewsToPlan: Int?

    static func of(_ session: Session) async throws -> HomeSummary {
        let principal = session.principal
        let notices = try await session.inbox()
        let finding = session.finding
        var summary = HomeSummary(
            notices: Array(notices.prefix(10)), unread: notices.filter(\.unread).count,
            tutees: principal.has(.tutor)
                ? finding.learners(tutor: principal.id).count : nil,
            records: try await finding.records(RecordQuery(perPage: 1)).total)
        if principal.has(.tutor) {
            summary.reviewsToPlan = try await session.planning.reminders().count
        }
        if principal.has(.safeguardingOfficer) {
            summary.queue = try await session.safeguarding.queue().filter { !$0.closed }.count
        }
        if principal.has(.headOfCentre) || principal.has(.safeguardingOfficer) {
            summary.reviews = try await session.safeguarding.reviews().filter { $0.outcome == nil }
                .count
            summary.approvals = try await session.breakGlass.requests().filter(\.mayApprove).count
        }
        return summary
    }
}

/// The home page: a greeting, the counts, the newest notices.
enum HomePage {
    static func page(_ summary: HomeSummary, visitor: Visitor) -> Page {
        var counts: [HTML] = []
        func count(_ number: Int, _ what: String, link: String) {
            counts.append(
                .element(
                    "a", [("href", link)],
                    [H.strong(String(number)), HTML(what)]))
        }
        count(summary.unread, summary.unread == 1 ? "new notice" : "new notices", link: "#notices")
        if let tutees = summary.tutees {
            count(tutees, tutees == 1 ? "tutee" : "tutees", link: "/tutees")
        }
        if let due = summary.reviewsToPlan, due > 0 {
            count(
                due,
                due == 1
                    ? "review to plan (due soon or missed)"
                    : "reviews to plan (due "
                        + "soon or missed)", link: "/plans#reviews")
        }
        count(
            summary.records, summary.records == 1 ? "record you may see" : "records you may see",
            link: "/records")
        if let queue = summary.queue {
            count(
                queue, queue == 1 ? "flagged record to act on" : "flagged records to act on",
                link: "/records?flagged=true")
        }
        if let reviews = summary.reviews {
            count(
                reviews, reviews == 1 ? "opening to review" : "openings to review", link: "/reviews"
            )
        }
        if let approvals = summary.approvals {
            count(
                approvals,
                approvals == 1 ? "break-glass request for you" : "break-glass requests for you",
                link: "/break-glass")
        }
        var content: [HTML] = [
            H.h1("Hello, \(visitor.principal.name)"),
            .element("ul", [("class", "counts")], counts.map { .element("li", [], [$0]) }),
            H.h2("Notices", id: "notices"),
        ]
        if summary.notices.isEmpty {
            content.append(H.p("Nothing is waiting for you."))
        } else {
            content.append(
                H.table(
                    caption: "Your newest notices",
                    headers: ["When", "Who", "What", "Record", "Their words", "New"],
                    rows: summary.notices.map { notice in
                        let entry = notice.entry
                        return [
                            HTML(Page.when(entry.time)), HTML(entry.actor.text),
                            HTML(describe(entry.action)), HTML(entry.subject ?? ""),
                            // The library leaves a safeguarding step's reason out for whoever
                            // may not read it.
                            HTML(entry.reason ?? ""), HTML(notice.unread ? "New" : ""),
                        ]
                    }))
            if let newest = summary.notices.first, summary.unread > 0 {
                content.append(
                    Field.form(
                        action: "/inbox/read", csrf: visitor.csrf, submit: "Mark all as read",
                        [
                            .element(
                                "input",
                                [
                                    ("type", "hidden"), ("name", "through"),
                                    ("value", String(newest.sequence)),
                                ])
                        ]))
            }
        }
        return Page("Home", content)
    }

    /// An audit action in a few plain words.
    static func describe(_ action: AuditEntry.Action) -> String {
        switch action {
        case .seal: return "sealed a record"
        case .open: return "opened a record"
        case .flag: return "flagged a concern"
        case .disclose: return "opened a flagged record"
        case .breakGlassRequest: return "asked to break the glass"
        case .breakGlassApprove: return "approved breaking the glass"
        case .breakGlassDecline: return "declined a break-glass request"
        case .breakGlassOpen: return "opened a record by breaking the glass"
        case .review: return "reviewed an opening"
        case .hold: return "put a record on hold"
        case .release: return "released a hold"
        case .destroyProposal: return "proposed destruction"
        case .destroy: return "destroyed a record"
        case .addendum: return "added an addendum"
        case .void: return "marked a record void"
        case .plan: return "planned a tutorial"
        case .planChange: return "changed a planned tutorial"
        case .planCancel: return "cancelled a planned tutorial"
        case .planHeld: return "held a planned tutorial"
        default: return action.rawValue.replacingOccurrences(of: "-", with: " ")
        }
    }
}
