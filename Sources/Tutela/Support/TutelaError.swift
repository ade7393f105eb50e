/// An error a person can act on.
///
/// Every error says what went wrong and, where it helps, what to do next. None ever carries record
/// content, a passphrase or key material. ``kind`` decides the command line's exit code (sysexits)
/// and, for a server, the HTTP status and error code (`../shared/API.md`).
///
/// Two errors are equal when their kinds are: callers and tests decide by kind, never by message
/// text, which is for people and may be reworded.
public struct TutelaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The class of failure, which the CLI turns into an exit code and a server into a status.
    public enum Kind: Sendable, Equatable, CaseIterable {
        /// The command was used wrongly (64).
        case usage
        /// Input is malformed or fails validation: a form, a policy, a checkpoint or share file (65).
        case invalidInput
        /// Stored data failed an integrity check: edited, moved, replayed, deleted or rolled back.
        /// Nothing was released and nothing was repaired (65 on the command line, like bad input;
        /// a server answers 500 `tampered`, never 4xx, because the requester did nothing wrong).
        case tampered
        /// The thing named does not exist (66).
        case notFound
        /// The thing to create exists already (73).
        case exists
        /// A transient failure: busy, locked, or the audit log could not be written (75).
        case tryAgain
        /// The person may not do this (77).
        case permissionDenied
        /// A fault inside Tutela (70).
        case `internal`

        /// The sysexits code for this kind.
        public var exitCode: Int32 {
            switch self {
            case .usage: return 64
            case .invalidInput, .tampered: return 65
            case .notFound: return 66
            case .exists: return 73
            case .tryAgain: return 75
            case .permissionDenied: return 77
            case .internal: return 70
            }
        }

        /// The stable error code of the HTTP API and of the CLI's `--json` errors.
        public var code: String {
            switch self {
            case .usage: return "usage"
            case .invalidInput: return "invalid-input"
            case .tampered: return "tampered"
            case .notFound: return "not-found"
            case .exists: return "exists"
            case .tryAgain: return "busy"
            case .permissionDenied: return "denied"
            case .internal: return "internal"
            }
        }
    }

    /// The class of failure: what callers and tests decide by.
    public let kind: Kind
    /// What went wrong, lower-case, no trailing full stop.
    public let message: String
    /// What to do about it, if there is something useful to say.
    public let hint: String?
    /// Whether the same call with `confirmed: true` would go ahead: the refusal only shows what a
    /// change would do (records left with no reader) and asks for a yes.
    public private(set) var needsConfirmation = false

    /// Makes an error of `kind`.
    /// - Parameters:
    ///   - kind: the class of failure.
    ///   - message: what went wrong, for a person; never record content or a secret.
    ///   - hint: what to do about it, where there is something useful to say.
    public init(_ kind: Kind, _ message: String, hint: String? = nil) {
        self.kind = kind
        self.message = message
        self.hint = hint
    }

    /// The message, so that an error printed by accident says no more than Tutela would.
    public var description: String { message }

    /// Errors are equal when their kinds are; the message and hint are for people.
    public static func == (lhs: TutelaError, rhs: TutelaError) -> Bool { lhs.kind == rhs.kind }

    static func usage(_ message: String, hint: String? = nil) -> TutelaError {
        TutelaError(.usage, message, hint: hint)
    }
    /// A change shown before it is made: the caller may ask the person and confirm.
    static func confirm(_ message: String, hint: String) -> TutelaError {
        var error = TutelaError(.usage, message, hint: hint)
        error.needsConfirmation = true
        return error
    }
    static func invalidInput(_ message: String, hint: String? = nil) -> TutelaError {
        TutelaError(.invalidInput, message, hint: hint)
    }
    static func tampered(_ message: String) -> TutelaError {
        TutelaError(
            .tampered, message,
            hint: "the vault was altered outside Tutela; keep it as evidence and restore a backup")
    }
    static func notFound(_ message: String, hint: String? = nil) -> TutelaError {
        TutelaError(.notFound, message, hint: hint)
    }
    static func exists(_ message: String, hint: String? = nil) -> TutelaError {
        TutelaError(.exists, message, hint: hint)
    }
    static func denied(_ message: String, hint: String? = nil) -> TutelaError {
        TutelaError(.permissionDenied, message, hint: hint)
    }
    static func tryAgain(_ message: String, hint: String? = nil) -> TutelaError {
        TutelaError(.tryAgain, message, hint: hint)
    }
    static func `internal`(_ message: String) -> TutelaError {
        TutelaError(.internal, message)
    }
}
