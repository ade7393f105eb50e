/// An error a person can act on.
///
/// Every error says what went wrong and, where it helps, what to do next. None ever carries record
/// content, a passphrase or key material. ``kind`` decides the command line's exit code (sysexits).
public struct TutelaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The class of failure, which the CLI turns into an exit code.
    public enum Kind: Sendable, Equatable {
        /// The command was used wrongly (64).
        case usage
        /// Input or stored data is malformed, or tampering was detected (65).
        case data
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
            case .data: return 65
            case .notFound: return 66
            case .exists: return 73
            case .tryAgain: return 75
            case .permissionDenied: return 77
            case .internal: return 70
            }
        }
    }

    public let kind: Kind
    /// What went wrong, lower-case, no trailing full stop.
    public let message: String
    /// What to do about it, if there is something useful to say.
    public let hint: String?

    public init(_ kind: Kind, _ message: String, hint: String? = nil) {
        self.kind = kind
        self.message = message
        self.hint = hint
    }

    public var description: String { message }

    static func usage(_ message: String, hint: String? = nil) -> TutelaError {
        TutelaError(.usage, message, hint: hint)
    }
    static func data(_ message: String, hint: String? = nil) -> TutelaError {
        TutelaError(.data, message, hint: hint)
    }
    static func tampered(_ message: String) -> TutelaError {
        TutelaError(
            .data, message,
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
