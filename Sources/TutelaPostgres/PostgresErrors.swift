import NIOCore
import PostgresNIO
public import Tutela

/// Turns what postgres-nio throws into ``TutelaError`` kinds a person can act on.
///
/// Only the SQLSTATE code is kept: postgres-nio's errors carry the query and its bound values, which
/// may be labels, and nothing of them may reach a message, a log or a crash report.
enum PostgresErrors {
    /// `error`, mapped; ``TutelaError`` passes through as it is.
    static func map(_ error: any Error, doing what: String) -> any Error {
        if error is TutelaError || error is CancellationError { return error }
        guard let error = error as? PSQLError else {
            if error is PostgresDecodingError {
                return TutelaError(
                    .tampered,
                    "the vault database is damaged: a row holds a cell of the wrong type; could not \(what)",
                    hint: "keep the damaged copy as evidence and restore a backup")
            }
            // The network's and the pool's own errors; anything else is the caller's, untouched.
            let module = String(reflecting: type(of: error)).prefix { $0 != "." }
            guard
                ["NIOCore", "NIOPosix", "NIOSSL", "ConnectionPoolModule", "_ConnectionPoolModule"]
                    .contains(module)
            else { return error }
            return TutelaError(
                .tryAgain, "the vault database cannot be reached; could not \(what)",
                hint: "check that PostgreSQL is running and reachable, then try again")
        }
        switch error.code {
        case .server:
            return server(state: error.serverInfo?[.sqlState] ?? "", doing: what)
        case .authMechanismRequiresPassword, .unsupportedAuthMechanism, .saslError:
            return TutelaError(
                .permissionDenied,
                "PostgreSQL did not accept the store's sign-in; could not \(what)",
                hint: "check the store's user name and its password file or environment variable")
        case .sslUnsupported, .failedToAddSSLHandler, .receivedUnencryptedDataAfterSSLRequest:
            return TutelaError(
                .tryAgain, "a TLS connection to PostgreSQL could not be made; could not \(what)",
                hint: "check the server's TLS settings and the store's sslmode")
        default:
            return TutelaError(
                .tryAgain,
                "the connection to PostgreSQL failed (\(error.code)); could not \(what); nothing was released",
                hint: "check that PostgreSQL is running and reachable, then try again")
        }
    }

    /// A server error by its SQLSTATE class.
    static func server(state: String, doing what: String) -> TutelaError {
        switch state {
        case "23505":
            return TutelaError(.exists, "that is stored already; could not \(what)")
        case "23503", "23502", "23514":
            return TutelaError(
                .invalidInput, "the vault refused an inconsistent change; could not \(what)")
        case "40001", "40P01", "55P03", "57014", "25P03":
            return TutelaError(
                .tryAgain,
                "the vault is busy (another Tutela process is writing); could not \(what)",
                hint: "try again in a moment")
        case "XX001", "XX002":
            return TutelaError(
                .tampered, "the vault database is damaged (\(state)); could not \(what)",
                hint: "keep the damaged copy as evidence and restore a backup")
        case "42P01", "3F000":
            // Checked at open: a table missing afterwards was dropped.
            return TutelaError(
                .tampered,
                "the vault database is damaged: one of its tables is missing (\(state)); could not \(what)",
                hint: "keep the damaged copy as evidence and restore a backup")
        case "3D000":
            return TutelaError(
                .notFound, "that PostgreSQL database does not exist; could not \(what)",
                hint: "create the database first (docs/OPERATIONS.md, \"PostgreSQL\")")
        case _ where state.hasPrefix("28") || state == "42501":
            return TutelaError(
                .permissionDenied,
                "PostgreSQL refused the store's user (\(state)); could not \(what)",
                hint: "check the store's user, its password and its grants")
        case _ where state.hasPrefix("53") || state.hasPrefix("57") || state.hasPrefix("08"):
            return TutelaError(
                .tryAgain, "PostgreSQL cannot take the write now (\(state)); could not \(what)",
                hint: "check the database server's disk, memory and connections, then try again")
        default:
            return TutelaError(.internal, "PostgreSQL error \(state); could not \(what)")
        }
    }

    /// A connection found closed before a statement was sent.
    static let lost = TutelaError(
        .tryAgain,
        "the connection to PostgreSQL was lost; the change was not made and nothing was released",
        hint: "try again; if it keeps happening, check the database server")

    /// A statement unanswered at the deadline: its connection is closed. A write may or may not
    /// have been made; nothing was released either way.
    static let unanswered = TutelaError(
        .tryAgain,
        "PostgreSQL did not answer in time; the connection was closed and nothing was released "
            + "(a change may or may not have been made)",
        hint: "check the database server and the network to it, then try again")

    /// A stored identifier that does not parse: tampering.
    /// A chain link refused at a number another writer took first.
    static func movedOn(_ chain: ChainName) -> TutelaError {
        TutelaError(
            .tryAgain, "the \(chain.rawValue) log moved on while this command ran",
            hint: "run the command again")
    }

    static func damaged(_ what: String) -> TutelaError {
        TutelaError(
            .tampered, "the vault database is damaged: \(what)",
            hint: "keep the damaged copy as evidence and restore a backup")
    }
}
