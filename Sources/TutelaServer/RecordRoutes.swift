import Foundation
import Hummingbird
import Tutela

/// `/api/v1/tutorials`, `/api/v1/notes`, `/api/v1/records`: sealing, listing labels, opening.
///
/// Each handler reads its input, calls the library as the command line does, and answers with
/// the command line's JSON. An open's audit entry is durable before the library hands back the
/// record, and the machine's head pin is saved (`settle`) before the response exists.
struct RecordRoutes {
    let server: ServerState

    func add(to router: Router<TutelaRequestContext>) {
        let api = router.group("/api/v1").add(middleware: Authenticator(sessions: server.sessions))
        api.post("tutorials", use: sealTutorial)
        api.post("notes", use: sealNote)
        api.post("imports", use: importForms)
        api.get("records", use: list)
        api.get("records/:id", use: open)
        api.post("records/:id/flag", use: flag)
    }

    @Sendable func sealTutorial(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let bytes = try await server.body(of: request)
        let confidential = try server.confidential(request)
        let review: ProgressReview
        do { review = try ProgressReview.parse(bytes, source: "the form") } catch {
            throw APIError.invalidForm(error)
        }
        let label = try await context.requireSignedIn().session.seal(
            review, confidential: confidential)
        return JSONResponse.make(.created, LabelJSON(label))
    }

    @Sendable func sealNote(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let bytes = try await server.body(of: request)
        let note: InformalNote
        do { note = try InformalNote.parse(bytes, source: "the note") } catch {
            throw APIError.invalidForm(error)
        }
        let label = try await context.requireSignedIn().session.seal(
            .informalNote(note), as: .informalNote)
        return JSONResponse.make(.created, LabelJSON(label))
    }

    /// Many forms in one request, one per line (`application/x-ndjson`), as `tutela import` seals
    /// a file: every line checked first (a bad one stores nothing and is named), then sealed in
    /// batches; a form this person imported before is not sealed again but listed as skipped.
    @Sendable func importForms(_ request: Request, context: TutelaRequestContext) async throws
        -> Response
    {
        let bytes = try await server.body(
            of: request, type: "application/x-ndjson", limit: server.configuration.maximumImport)
        let confidential = try server.confidential(request)
        do { _ = try FormImport.check(jsonLines: bytes, source: "the request") } catch let error
            as TutelaError
        {
            throw APIError.invalidForm(error)
        }
        let session = try context.requireSignedIn().session
        // Batches of 500 commit as they go: a later one refused (a learner not recorded, a
        // revocation meanwhile) leaves the earlier sealed; sending the same body again seals only
        // the rest, since the import index skips what was sealed.
        let (labels, skipped) = try await server.importing.run {
            var labels: [Label] = []
            var skipped: [SkippedForm] = []
            do {
                try await session.importForms(
                    jsonLines: bytes, source: "the request", confidential: confidential,
                    onBatch: { labels += $0 }, onSkip: { skipped.append($0) })
            } catch let error as TutelaError where error.kind == .invalidInput {
                throw APIError.invalidForm(
                    TutelaError(
                        .invalidInput,
                        "\(labels.count) forms were sealed before this one was refused: "
                            + error.message,
                        hint: "correct it and send the same forms again: those sealed are skipped"))
            }
            return (labels, skipped)
        }
        struct Imported: Encodable {
            struct Skipped: Encodable {
                let line: Int
                let record: String
                let destroyed: Bool
            }
            let records: [String]
            let labels: [LabelJSON]
            let skipped: [Skipped]
        }
        return JSONResponse.make(
            .created,
            Imported(
                records: labels.map(\.record.text), labels: labels.map(LabelJSON.init),
                skipped: skipped.sorted { $0.line < $1.line }.map {
                    .init(line: $0.line, record: $0.record.text, destroyed: $0.destroyed)
                }))
    }

    @Sendable func list(_ request: Request, context: TutelaRequestContext) async throws -> Response
    {
        let q = request.uri.queryParameters
        func date(_ name: String) throws -> CalendarDate? {
            guard let text = q.get(name) else { return nil }
            guard let date = CalendarDate(text) else {
                throw TutelaError(.usage, "\(name) must be a date, YYYY-MM-DD")
            }
            return date
        }
        func number(_ name: String, default value: Int) throws -> Int {
            guard let text = q.get(name) else { return value }
            guard let n = Int(text) else { throw TutelaError(.usage, "\(name) must be a number") }
            return n
        }
        let recordClass = try q.get("class").map { text in
            guard let c = RecordClass(rawValue: text) else {
                throw TutelaError(
                    .usage,
                    "class must be one of "
                        + RecordClass.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return c
        }
        let query = RecordQuery(
            learner: try q.get("learner").map { try LearnerID($0) },
            author: try q.get("tutor").map { try PrincipalID($0) },
            recordClass: recordClass, from: try date("from"), to: try date("to"),
            flaggedOnly: q.get("flagged") == "true", page: try number("page", default: 1),
            perPage: try number("limit", default: RecordQuery.defaultPerPage))
        let page = try await context.requireSignedIn().session.finding.records(query)
        return JSONResponse.make(.ok, RecordPageJSON(page))
    }

    @Sendable func open(_ request: Request, context: TutelaRequestContext) async throws -> Response
    {
        let id: RecordID = try context.pathID()
        let session = try context.requireSignedIn().session
        let opened = try await session.open(id)
        try await session.settle()
        return JSONResponse.make(.ok, OpenedJSON(opened))
    }

    @Sendable func flag(_ request: Request, context: TutelaRequestContext) async throws -> Response
    {
        let id: RecordID = try context.pathID()
        let body = try await server.decode(ReasonBody.self, from: request, context: context)
        let flag = try await context.requireSignedIn().session.safeguarding.flag(
            id, reason: body.reason)
        struct FlagJSON: Encodable {
            let record: String
            let flagged: Bool
            let by: String
            let time: String
        }
        return JSONResponse.make(
            .created,
            FlagJSON(
                record: flag.record.text, flagged: true, by: flag.flaggedBy.text,
                time: Timestamp.iso(flag.time)))
    }
}
