import Foundation
import HTTPTypes
import Hummingbird
import Tutela

/// Learners, for an administrator: adding one, recording that one has left, and moving one to
/// another tutor (with the warning when records would lose every reader).
struct LearnerPages {
    let server: ServerState

    func add(
        to pages: RouterGroup<TutelaRequestContext>,
        post: PageRoutes.Wrapper
    ) {
        pages.get("/learners", use: list)
        pages.get("/learners/new", use: addForm)
        pages.post("/learners", use: post(addLearner))
        pages.get("/learners/:id/leave", use: leaveForm)
        pages.post("/learners/:id/leave", use: post(leave))
        pages.get("/learners/:id/tutor", use: tutorForm)
        pages.post("/learners/:id/tutor", use: post(reassign))
    }

    @Sendable func list(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        let admin = visitor.principal.has(.admin)
        let learners = visitor.session.finding.learners()
        var content: [HTML] = [H.h1("Learners")]
        if admin { content.append(H.p([], [H.link("Add a learner", to: "/learners/new")])) }
        content.append(
            H.table(
                caption: "Learners (\(learners.count))",
                headers: ["Name", "Id", "Programme", "Tutor", "Left"] + (admin ? ["Actions"] : []),
                rows: learners.map { learner in
                    var cells: [HTML] = [
                        HTML(learner.name), HTML(learner.id.text), HTML(learner.programme ?? ""),
                        HTML(learner.tutor.text), HTML(learner.leftOn?.description ?? ""),
                    ]
                    if admin {
                        cells.append(
                            .element(
                                "div", [("class", "row-actions")],
                                [
                                    H.link(
                                        "Change tutor", to: "/learners/\(learner.id)/tutor",
                                        [("aria-label", "Change the tutor of \(learner.name)")]),
                                    learner.leftOn == nil
                                        ? H.link(
                                            "Record leaving", to: "/learners/\(learner.id)/leave",
                                            [("aria-label", "Record that \(learner.name) left")])
                                        : .empty,
                                ]))
                    }
                    return cells
                }))
        return Page("Learners", content).response(for: visitor)
    }

    private func tutors(_ visitor: Visitor) -> [(value: String, label: String)] {
        visitor.session.finding.people().filter {
            $0.roles.contains(.tutor) && $0.standing == .active
        }
        .map { ($0.id.text, "\($0.name) (\($0.id))") }
    }

    @Sendable func addForm(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        return addPage(visitor, form: nil, problems: .init()).response(for: visitor)
    }

    private func addPage(
        _ visitor: Visitor, form: PageForm?, problems: Field.Problems
    ) -> Page {
        Page(
            "Add a learner", status: problems.isEmpty ? .ok : .badRequest,
            [
                H.h1("Add a learner"), Field.summary(problems),
                Field.form(
                    action: "/learners", csrf: visitor.csrf, submit: "Add the learner",
                    secondary: H.link("Cancel", to: "/learners"),
                    [
                        Field.input(
                            "id", label: "Learner id", value: form?["id"],
                            hint: "Your centre's learner number or a short id.",
                            error: problems["id"], required: true),
                        Field.input(
                            "name", label: "Name", value: form?["name"], error: problems["name"],
                            required: true),
                        Field.select(
                            "tutor", label: "Assigned tutor",
                            options: [("", "Choose a tutor")] + tutors(visitor),
                            selected: form?["tutor"] ?? "", error: problems["tutor"]),
                        Field.input(
                            "dob", label: "Date of birth", value: form?["dob"],
                            hint: "Retention periods count from it.", error: problems["dob"],
                            type: "date", width: "short"),
                        Field.input(
                            "programme", label: "Programme", value: form?["programme"],
                            hint: "Such as Young Apprenticeship.", error: problems["programme"]),
                    ]),
            ])
    }

    @Sendable func addLearner(
        _ form: PageForm, _ visitor: Visitor, _ request: Request, _ context: TutelaRequestContext
    ) async throws -> Response {
        var problems = Field.Problems()
        var id: LearnerID?
        do { id = try LearnerID(form["id"].trimmingCharacters(in: .whitespaces)) } catch {
            problems.add("id", Page.sentence(error.message))
        }
        let name = form["name"].trimmingCharacters(in: .whitespaces)
        if name.isEmpty { problems.add("name", "Enter the learner's name") }
        var tutor: PrincipalID?
        do { tutor = try PrincipalID(form["tutor"]) } catch {
            problems.add("tutor", "Choose the learner's tutor")
        }
        let dob = form["dob"].isEmpty ? nil : CalendarDate(form["dob"])
        if !form["dob"].isEmpty, dob == nil {
            problems.add("dob", "The date of birth must be a real date, like 2010-03-14")
        }
        let programme = form["programme"].trimmingCharacters(in: .whitespaces)
        guard problems.isEmpty, let id, let tutor else {
            return addPage(visitor, form: form, problems: problems).response(for: visitor)
        }
        do {
            try await visitor.session.administration.addLearner(
                id, name: name, tutor: tutor, dateOfBirth: dob,
                programme: programme.isEmpty ? nil : programme)
        } catch let error as TutelaError
            where [.usage, .exists, .invalidInput, .notFound].contains(error.kind)
        {
            problems.add(
                error.kind == .exists ? "id" : error.kind == .notFound ? "tutor" : "name",
                Page.sentence(error.message))
            return addPage(visitor, form: form, problems: problems).response(for: visitor)
        }
        return Page.redirect(to: "/learners")
    }

    @Sendable func leaveForm(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        let id: LearnerID = try context.pathID()
        return leavePage(visitor, id.text, problems: .init()).response(for: visitor)
    }

    private func leavePage(_ visitor: Visitor, _ id: String, problems: Field.Problems) -> Page {
        Page(
            "Record leaving", status: problems.isEmpty ? .ok : .badRequest,
            [
                H.h1("Record that \(id) left"), Field.summary(problems),
                H.p("Retention periods that count from leaving start on this date."),
                Field.form(
                    action: "/learners/\(id)/leave", csrf: visitor.csrf, submit: "Record leaving",
                    secondary: H.link("Cancel", to: "/learners"),
                    [
                        Field.input(
                            "date", label: "The date they left",
                            value: server.vault.clock.today.description, error: problems["date"],
                            type: "date", width: "short")
                    ]),
            ])
    }

    @Sendable func leave(
        _ form: PageForm, _ visitor: Visitor, _ request: Request, _ context: TutelaRequestContext
    ) async throws -> Response {
        let id: LearnerID = try context.pathID()
        guard let date = CalendarDate(form["date"]) else {
            var problems = Field.Problems()
            problems.add("date", "Enter the date they left, like 2026-07-20")
            return leavePage(visitor, id.text, problems: problems).response(for: visitor)
        }
        try await visitor.session.administration.learnerLeft(id, on: date)
        return Page.redirect(to: "/learners")
    }

    @Sendable func tutorForm(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        let id: LearnerID = try context.pathID()
        return try await tutorPage(visitor, id.text, form: nil, warning: nil, problems: .init())
            .response(for: visitor)
    }

    private func tutorPage(
        _ visitor: Visitor, _ id: String, form: PageForm?, warning: String?,
        problems: Field.Problems, status: HTTPResponse.Status = .ok
    ) async throws -> Page {
        var fields: [HTML] = [
            Field.select(
                "tutor", label: "New tutor", options: [("", "Choose a tutor")] + tutors(visitor),
                selected: form?["tutor"] ?? "", error: problems["tutor"])
        ]
        if warning != nil {
            fields.append(
                Field.choices(
                    "confirm", legend: "Move anyway?",
                    options: [("yes", "Yes: I understand those records will have no reader")],
                    selected: [], error: problems["confirm"], multiple: true))
        }
        fields.append(await RecentSignIn.fields(visitor, server: server, problems: problems))
        return Page(
            "Change tutor", status: status,
            [
                H.h1("Change the tutor of \(id)"), Field.summary(problems),
                H.p(
                    "The new tutor can read what the policy gives a learner's tutor once someone "
                        + "who can open each record next signs in; the old tutor keeps only what "
                        + "they wrote."),
                warning.map { H.p(Page.sentence($0), [("class", "warning")]) } ?? .empty,
                Field.form(
                    action: "/learners/\(id)/tutor", csrf: visitor.csrf, submit: "Change tutor",
                    secondary: H.link("Cancel", to: "/learners"), fields),
            ])
    }

    @Sendable func reassign(
        _ form: PageForm, _ visitor: Visitor, _ request: Request, _ context: TutelaRequestContext
    ) async throws -> Response {
        let id: LearnerID = try context.pathID()
        var problems = Field.Problems()
        var tutor: PrincipalID?
        do { tutor = try PrincipalID(form["tutor"]) } catch {
            problems.add("tutor", "Choose the new tutor")
        }
        guard let tutor,
            try await RecentSignIn.check(
                form, visitor, server: server, request: request, context: context,
                problems: &problems)
        else {
            return try await tutorPage(
                visitor, id.text, form: form, warning: nil, problems: problems, status: .badRequest
            ).response(for: visitor)
        }
        do {
            try await visitor.session.administration.reassign(
                [id], to: tutor, confirmed: form.all("confirm").contains("yes"))
        } catch let error as TutelaError where error.needsConfirmation {
            problems.add("confirm", "Tick to move anyway")
            return try await tutorPage(
                visitor, id.text, form: form, warning: error.message, problems: problems,
                status: .conflict
            ).response(for: visitor)
        }
        return Page.redirect(to: "/learners")
    }
}
