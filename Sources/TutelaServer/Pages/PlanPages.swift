import Foundation
import HTTPTypes
import Hummingbird
import Tutela

/// Planning tutorials, for tutors and heads of centre: whose review is due, the tutorials
/// planned, a form to plan one (the learner is told at once), cancelling, and the tutor's diary
/// as an iCalendar file.
struct PlanPages {
    let server: ServerState

    func add(to pages: RouterGroup<TutelaRequestContext>, post: PageRoutes.Wrapper) {
        pages.get("/plans", use: plans)
        pages.post("/plans", use: post(plan))
        pages.get("/plans/calendar.ics", use: calendar)
        pages.get("/plans/:id/cancel", use: cancelForm)
        pages.post("/plans/:id/cancel", use: post(cancel))
    }

    @Sendable func plans(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        let learner = request.uri.queryParameters.get("learner") ?? ""
        return try await page(visitor, ["learner": learner], told: Done.told(request))
            .response(for: visitor)
    }

    func page(
        _ visitor: Visitor, _ values: [String: String], problems: Field.Problems = .init(),
        told: (Done, String)? = nil, status: HTTPResponse.Status = .ok
    ) async throws -> Page {
        let planning = visitor.session.planning
        let isHead = visitor.principal.has(.headOfCentre)
        guard isHead || visitor.principal.has(.tutor) else {
            throw TutelaError(.permissionDenied, "planning is for tutors and heads of centre")
        }
        var content: [HTML] = [H.h1("Tutorial planning")]
        switch told {
        case (.planned, let id)?:
            content.append(
                Done.notice(
                    "Tutorial planned", "Planned as \(id). The learner has been sent a notice."))
        case (.plannedUntold, let id)?:
            content.append(
                Done.notice(
                    "Tutorial planned",
                    "Planned as \(id). The learner does not sign in to Tutela, so no notice "
                        + "reached them: tell them the day, time and place yourself."))
        case (.cancelled, let id)?:
            content.append(
                Done.notice(
                    "Tutorial cancelled",
                    "\(id) is cancelled. Everyone sent a notice of it has been told; a learner "
                        + "who does not sign in to Tutela needs telling yourself."))
        default: break
        }
        content.append(Field.summary(problems))
        let rows = try await planning.cadence()
        content.append(H.h2("Reviews this term", id: "reviews"))
        if rows.isEmpty {
            content.append(
                H.p("No learner you follow has a review falling due in the school calendar now."))
        } else {
            content.append(
                H.table(
                    caption: "Each learner's review for the term or half-term",
                    headers: ["Learner", "Programme", "Period", "Due by", "Standing", "Plan"],
                    rows: rows.map { row in
                        [
                            HTML("\(row.name) (\(row.learner))"), HTML(row.programme),
                            HTML(row.period.name), HTML(row.period.ends.description),
                            H.strong(Self.words(row.standing)),
                            [.done, .planned].contains(row.standing)
                                ? HTML("")
                                : H.link(
                                    "Plan", to: "/plans?learner=\(row.learner)#plan",
                                    [("aria-label", "Plan a tutorial with \(row.name)")]),
                        ]
                    }))
        }
        let planned = try await planning.plans(from: try todayOf(visitor))
        content.append(H.h2("Planned tutorials", id: "planned"))
        if planned.isEmpty {
            content.append(H.p("No tutorials are planned from today."))
        } else {
            content.append(
                H.table(
                    caption: "Tutorials planned from today",
                    headers: ["Day", "Time", "Learner", "Place", "Tutor", "Status", ""],
                    rows: planned.map { plan in
                        let name = visitor.session.directory.learners[plan.learner]?.name
                        return [
                            HTML(plan.day.description),
                            HTML(plan.startMinute.map(PlanTime.clock) ?? "To agree"),
                            HTML(name.map { "\($0) (\(plan.learner))" } ?? plan.learner.text),
                            HTML(plan.place.isEmpty ? "To agree" : plan.place),
                            HTML(plan.tutor.text), HTML(plan.status.word),
                            plan.status == .planned
                                ? H.link(
                                    "Cancel", to: "/plans/\(plan.id)/cancel",
                                    [("aria-label", "Cancel the tutorial \(plan.id)")])
                                : HTML(""),
                        ]
                    }))
        }
        content.append(
            H.p(
                [],
                [
                    H.link("Download my tutorials for a diary (.ics)", to: "/plans/calendar.ics")
                ]))
        content.append(H.h2("Plan a tutorial", id: "plan"))
        content.append(form(visitor, values, problems))
        return Page("Tutorial planning", status: status, content)
    }

    private func form(_ visitor: Visitor, _ values: [String: String], _ problems: Field.Problems)
        -> HTML
    {
        let finding = visitor.session.finding
        let isHead = visitor.principal.has(.headOfCentre)
        let learners = finding.learners(tutor: isHead ? nil : visitor.principal.id)
        let learner = values["learner"] ?? ""
        var options = learners.map { (value: $0.id.text, label: "\($0.name) (\($0.id))") }
        options.insert(("", "Choose a learner"), at: 0)
        return Field.form(
            action: "/plans", csrf: visitor.csrf, submit: "Plan the tutorial",
            [
                Field.select(
                    "learner", label: "Learner", options: options, selected: learner,
                    error: problems["learner"]),
                Field.input(
                    "day", label: "Day", value: values["day"], error: problems["day"],
                    type: "date", width: "short"),
                Field.input(
                    "time", label: "Time", value: values["time"],
                    hint: "24-hour, like 14:30. Leave empty to agree it later.",
                    error: problems["time"], type: "time", width: "short"),
                Field.input(
                    "minutes", label: "Length in minutes", value: values["minutes"] ?? "30",
                    error: problems["minutes"], width: "short", inputmode: "numeric"),
                Field.input(
                    "place", label: "Place", value: values["place"],
                    hint: "A room or a place, never what the tutorial is about.",
                    error: problems["place"]),
                Field.choices(
                    "tellFamily", legend: "Tell the learner's parents or carers too?",
                    options: [("yes", "Yes, the learner agreed"), ("no", "No")],
                    selected: [values["tellFamily"] ?? "no"], error: problems["tellFamily"]),
            ])
    }

    @Sendable func plan(
        _ posted: PageForm, _ visitor: Visitor, _ request: Request, _ context: TutelaRequestContext
    ) async throws -> Response {
        var values: [String: String] = [:]
        for name in ["learner", "day", "time", "minutes", "place", "tellFamily"] {
            values[name] = posted[name].trimmingCharacters(in: .whitespacesAndNewlines)
        }
        var problems = Field.Problems()
        let learner = LearnerID(validating: values["learner"] ?? "")
        if learner == nil { problems.add("learner", "Choose the learner") }
        let day = CalendarDate(values["day"] ?? "")
        if day == nil { problems.add("day", "Enter the day, like 2026-12-01") }
        let time = values["time"] ?? ""
        let start = time.isEmpty ? nil : PlanTime.minute(time)
        if !time.isEmpty, start == nil { problems.add("time", "Enter the time like 14:30") }
        let minutes = Int(values["minutes"] ?? "")
        if minutes == nil { problems.add("minutes", "Enter the length in minutes, like 30") }
        if let learner, let day, let minutes, problems.isEmpty {
            do {
                let outcome = try await visitor.session.planning.plan(
                    PlanRequest(
                        learner: learner, day: day, startMinute: start, minutes: minutes,
                        place: values["place"] ?? "", tellFamily: values["tellFamily"] == "yes"))
                // Said plainly when no notice could reach the learner: most never sign in.
                let told = outcome.notified.contains { $0.text == learner.text }
                return (told ? Done.planned : Done.plannedUntold).redirect(
                    to: "/plans", id: outcome.plan.id.text)
            } catch let error as TutelaError where [.usage, .notFound].contains(error.kind) {
                problems.add(Self.box(for: error.message), Page.sentence(error.message))
            }
        }
        return try await page(visitor, values, problems: problems, status: .unprocessableContent)
            .response(for: visitor)
    }

    @Sendable func cancelForm(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        let id: PlanID = try context.pathID()
        return cancelPage(visitor, id, problems: .init()).response(for: visitor)
    }

    private func cancelPage(
        _ visitor: Visitor, _ id: PlanID, problems: Field.Problems,
        status: HTTPResponse.Status = .ok
    ) -> Page {
        Page(
            "Cancel a tutorial", status: status,
            [
                H.h1("Cancel tutorial \(id)"),
                Field.summary(problems),
                H.p("The learner, and everyone told of it, is sent a notice with your reason."),
                Field.form(
                    action: "/plans/\(id)/cancel", csrf: visitor.csrf,
                    submit: "Cancel the tutorial", secondary: H.link("Keep it", to: "/plans"),
                    [
                        Field.input(
                            "reason", label: "Why", hint: "The learner reads this.",
                            error: problems["reason"])
                    ]),
            ])
    }

    @Sendable func cancel(
        _ posted: PageForm, _ visitor: Visitor, _ request: Request, _ context: TutelaRequestContext
    ) async throws -> Response {
        let id: PlanID = try context.pathID()
        do {
            _ = try await visitor.session.planning.cancel(id, reason: posted["reason"])
        } catch let error as TutelaError where error.kind == .usage {
            var problems = Field.Problems()
            problems.add("reason", Page.sentence(error.message))
            return cancelPage(visitor, id, problems: problems, status: .unprocessableContent)
                .response(for: visitor)
        }
        return Done.cancelled.redirect(to: "/plans", id: id.text)
    }

    @Sendable func calendar(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        let file = try await visitor.session.planning.calendar()
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/calendar; charset=utf-8",
                .contentDisposition: "attachment; filename=\"tutorials.ics\"",
            ], body: ResponseBody(byteBuffer: ByteBuffer(string: file)))
    }

    private func todayOf(_ visitor: Visitor) throws -> CalendarDate {
        PlanTime.localDay(
            server.vault.clock.now(), zone: visitor.session.directory.policy?.timeZone ?? "UTC")
    }

    /// The box a planning error is about.
    static func box(for message: String) -> String {
        if message.contains("has passed") || message.contains("year ahead") { return "day" }
        if message.contains("starts between") { return "time" }
        if message.contains("minutes") { return "minutes" }
        if message.contains("place") { return "place" }
        return "learner"
    }

    /// A standing in words.
    static func words(_ standing: CadenceRow.Standing) -> String {
        switch standing {
        case .done: "Done"
        case .planned: "Planned"
        case .due: "Due"
        case .dueSoon: "Due soon — nothing planned"
        case .overdue: "Overdue"
        }
    }
}

/// The data officer's page: the ILR minimum record (learner, date, kind, who) as CSV.
struct ILRPages {
    func add(to pages: RouterGroup<TutelaRequestContext>) {
        pages.get("/ilr", use: page)
        pages.get("/ilr.csv", use: csv)
    }

    @Sendable func page(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        guard visitor.principal.has(.ilrOfficer) else {
            throw TutelaError(.permissionDenied, "the ILR record is the data officer's")
        }
        return Page(
            "The ILR record",
            [
                H.h1("The Individual Learner Record"),
                H.p(
                    "Every tutorial and informal support conversation you may see the label of, "
                        + "one line each: learner, date, kind and who. Nothing from any record. "
                        + "Each download is recorded in the audit log."),
                .element(
                    "form", [("method", "get"), ("action", "/ilr.csv")],
                    [
                        Field.input(
                            "from", label: "From", hint: "Leave empty for the start.",
                            type: "date", width: "short"),
                        Field.input(
                            "to", label: "To", hint: "Leave empty for today.", type: "date",
                            width: "short"),
                        .element(
                            "div", [("class", "actions")],
                            [.element("button", [("type", "submit")], [HTML("Download as CSV")])]),
                    ]),
            ]
        ).response(for: visitor)
    }

    @Sendable func csv(_ request: Request, context: TutelaRequestContext) async throws -> Response {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        func date(_ name: String) throws -> CalendarDate? {
            guard let text = request.uri.queryParameters.get(name), !text.isEmpty else {
                return nil
            }
            guard let date = CalendarDate(text) else {
                throw TutelaError(.usage, "'\(name)' must be a date like 2026-09-01")
            }
            return date
        }
        let lines = try await visitor.session.planning.ilrExport(
            from: try date("from"), to: try date("to"))
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/csv; charset=utf-8",
                .contentDisposition: "attachment; filename=\"ilr-minimum-record.csv\"",
            ],
            body: ResponseBody(
                byteBuffer: ByteBuffer(string: ILRLine.csvHeader + lines.map(\.csvLine).joined())))
    }
}
