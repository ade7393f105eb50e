import Foundation
import HTTPTypes
import Hummingbird
import Tutela

/// A tutor's pages: their tutees, a tutorial on the progress-review form, an informal note.
struct TutorPages {
    let server: ServerState

    func add(
        to pages: RouterGroup<TutelaRequestContext>,
        post: PageRoutes.Wrapper
    ) {
        pages.get("/tutees", use: tutees)
        pages.get("/tutorials/new", use: tutorialForm)
        pages.post("/tutorials", use: post(sealTutorial))
        pages.get("/notes/new", use: noteForm)
        pages.post("/notes", use: post(sealNote))
    }

    @Sendable func tutees(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        let finding = visitor.session.finding
        let learners = finding.learners(tutor: visitor.principal.id)
        var rows: [[HTML]] = []
        for learner in learners {
            // The newest tutorial's date is on its label; nothing is opened to list it.
            let newest = try await finding.records(
                RecordQuery(learner: learner.id, perPage: 1)
            ).records.first
            rows.append([
                HTML(learner.name), HTML(learner.id.text), HTML(learner.programme ?? ""),
                HTML(learner.tutor.text),
                HTML(newest.map { $0.label.tutorialDate.description } ?? "None yet"),
                HTML([
                    H.link(
                        "Write a tutorial", to: "/tutorials/new?learner=\(learner.id)",
                        [("aria-label", "Write a tutorial for \(learner.name)")]),
                    HTML(" "),
                    H.link(
                        "Informal note", to: "/notes/new?learner=\(learner.id)",
                        [("aria-label", "Write an informal support note for \(learner.name)")]),
                    HTML(" "),
                    H.link(
                        "Records", to: "/records?learner=\(learner.id)",
                        [("aria-label", "Records of \(learner.name)")]),
                ]),
            ])
        }
        var content: [HTML] = [H.h1("My tutees")]
        if rows.isEmpty {
            content.append(H.p("No learners are assigned to you as their tutor."))
        } else {
            content.append(
                H.table(
                    caption: "Learners you are the tutor of",
                    headers: ["Name", "Id", "Programme", "Tutor", "Last tutorial", "Write"],
                    rows: rows))
        }
        return Page("My tutees", content).response(for: visitor)
    }

    // MARK: The progress review

    @Sendable func tutorialForm(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        let id = request.uri.queryParameters.get("learner") ?? ""
        let learner = (try? LearnerID(id)).flatMap(visitor.session.finding.learner)
        let form = ReviewForm.blank(learner: learner, id: id, today: server.vault.clock.today)
        return ReviewPage.page(form, visitor: visitor, learners: tutees(of: visitor))
            .response(for: visitor)
    }

    private func tutees(of visitor: Visitor) -> [Learner] {
        visitor.session.finding.learners(tutor: visitor.principal.id)
    }

    @Sendable func sealTutorial(
        _ posted: PageForm, _ visitor: Visitor, _ request: Request, _ context: TutelaRequestContext
    ) async throws -> Response {
        var form = ReviewForm(posted)
        guard let (review, confidential) = form.validated(today: server.vault.clock.today) else {
            return ReviewPage.page(
                form, visitor: visitor, learners: tutees(of: visitor), status: .unprocessableContent
            ).response(for: visitor)
        }
        let label: Label
        do {
            label = try await visitor.session.seal(review, confidential: confidential)
        } catch let error as TutelaError where [.invalidInput, .usage].contains(error.kind) {
            form.problems.add(ReviewForm.box(named: error.message), Page.sentence(error.message))
            return ReviewPage.page(
                form, visitor: visitor, learners: tutees(of: visitor), status: .unprocessableContent
            ).response(for: visitor)
        }
        // The next tutorial agreed on the form becomes a plan (the learner is told). The record
        // is sealed whatever happens here: only damage is reported, never a reason to seal again.
        do {
            _ = try await visitor.session.planning.afterSeal(
                label, plan: nil, nextTutorial: review.nextTutorial)
        } catch let error as TutelaError where error.kind != .tampered {}
        return sealed(label, visitor: visitor)
    }

    private func sealed(_ label: Label, visitor: Visitor) -> Response {
        Done.sealed.redirect(to: "/records", id: label.record.text)
    }

    // MARK: Informal note

    @Sendable func noteForm(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let visitor = Visitor(signedIn: try context.requireSignedIn())
        let id = request.uri.queryParameters.get("learner") ?? ""
        return NotePage.page(
            ["learner": id, "date": server.vault.clock.today.description], copies: [],
            problems: .init(), visitor: visitor, learners: tutees(of: visitor)
        ).response(for: visitor)
    }

    @Sendable func sealNote(
        _ posted: PageForm, _ visitor: Visitor, _ request: Request, _ context: TutelaRequestContext
    ) async throws -> Response {
        var values: [String: String] = [:]
        for name in ["learner", "date", "summary", "followUp", "recordedOnILR"] {
            values[name] = posted[name].trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let copies = Set(posted.all("copiesTo"))
        var problems = Field.Problems()
        let note = NotePage.validated(
            values, copies: copies, today: server.vault.clock.today,
            problems: &problems)
        var label: Label?
        if let note {
            do {
                label = try await visitor.session.seal(.informalNote(note), as: .informalNote)
            } catch let error as TutelaError where [.invalidInput, .usage].contains(error.kind) {
                problems.add(ReviewForm.box(named: error.message), Page.sentence(error.message))
            }
        }
        guard let label else {
            return NotePage.page(
                values, copies: copies, problems: problems, visitor: visitor,
                learners: tutees(of: visitor), status: .unprocessableContent
            ).response(for: visitor)
        }
        return sealed(label, visitor: visitor)
    }
}
