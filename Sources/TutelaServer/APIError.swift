import Foundation
import Hummingbird
public import Tutela

/// The API's error body and status for every failure (`../shared/API.md`, "Errors").
///
/// A message names the problem and never carries record content; a tampered vault is 500
/// `tampered` (the requester did nothing wrong), a refusal 403, what a person may not know of 404.
struct APIError: Error, Sendable {
    let status: HTTPResponse.Status
    let code: String
    let message: String
    let hint: String?
    var retryAfter: Int?

    init(
        _ status: HTTPResponse.Status, _ code: String, _ message: String, hint: String? = nil,
        retryAfter: Int? = nil
    ) {
        self.status = status
        self.code = code
        self.message = message
        self.hint = hint
        self.retryAfter = retryAfter
    }

    /// The status and code for a library error, as the contract maps its kind.
    init(_ error: TutelaError) {
        let status: HTTPResponse.Status
        switch error.kind {
        case .usage, .invalidInput: status = .badRequest
        case .notFound: status = .notFound
        case .exists: status = .conflict
        case .permissionDenied: status = .forbidden
        case .tampered, .internal: status = .internalServerError
        case .tryAgain: status = .serviceUnavailable
        }
        self.init(
            status, error.kind.code, error.message, hint: error.hint,
            retryAfter: error.kind == .tryAgain ? 1 : nil)
    }

    static let unauthenticated = APIError(
        .unauthorized, "unauthenticated", "sign in first",
        hint: "POST /api/v1/session with your id and passphrase")

    static func invalidForm(_ error: TutelaError) -> APIError {
        var mapped = APIError(error)
        if error.kind == .invalidInput {
            mapped = APIError(
                .unprocessableContent, error.kind.code, error.message, hint: error.hint)
        }
        return mapped
    }

    struct Body: Encodable {
        struct Inner: Encodable {
            let code: String
            let message: String
            let hint: String?
        }
        let error: Inner
    }

    var response: Response {
        var headers = HTTPFields()
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return JSONResponse.make(
            status, Body(error: .init(code: code, message: message, hint: hint)), headers: headers)
    }
}

/// JSON responses, encoded as the command line's `--json` output is (sorted keys).
enum JSONResponse {
    static func make(
        _ status: HTTPResponse.Status, _ value: some Encodable, headers: HTTPFields = [:]
    ) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        guard let data = try? encoder.encode(value) else {
            return Response(status: .internalServerError, headers: headers)
        }
        return Response(
            status: status, headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
