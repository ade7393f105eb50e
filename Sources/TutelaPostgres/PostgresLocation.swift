public import Foundation
import NIOSSL
public import PostgresNIO
public import Tutela

/// Where a PostgreSQL store is: a `postgres://` address without a password, the schema the vault's
/// tables live in, and where the password comes from (a file private to its owner, or an
/// environment variable) — never the command line, where every user of the machine can read it.
public struct PostgresLocation: Sendable, Equatable {
    /// The address as given, which holds no password.
    public let address: String
    /// The server's host name, or nil for a Unix socket.
    public let host: String?
    /// The TCP port, or the socket's port number.
    public let port: Int
    /// The Unix socket directory, when the address names one (`?host=/run/postgresql`).
    public let socketDirectory: String?
    /// The PostgreSQL user.
    public let user: String
    /// The database.
    public let database: String
    /// The schema holding the tables (default `tutela`; the key store's default `tutela_keys`).
    public let schema: String
    /// Whether TLS is off (`sslmode=disable`): allowed only to this machine.
    public let tlsDisabled: Bool
    /// A PEM file of the certificate authorities to trust (`sslrootcert=`), else the system's.
    public let rootCertificates: String?

    /// Parses `address`, refusing one that carries a password or that sends the vault's bytes off
    /// this machine without TLS.
    /// - Throws: `.usage` naming what is wrong.
    public init(_ address: String, defaultSchema: String) throws(TutelaError) {
        guard let url = URLComponents(string: address),
            url.scheme == "postgres" || url.scheme == "postgresql"
        else {
            throw TutelaError(
                .usage, "a store address starts postgres:// (as postgres://USER@HOST:PORT/DATABASE)"
            )
        }
        guard url.password == nil else {
            throw TutelaError(
                .usage, "the store address holds a password; Tutela never takes one there",
                hint:
                    "remove it from the address, and give it in a file (passwordFile) or $TUTELA_STORE_PASSWORD"
            )
        }
        var options: [String: String] = [:]
        for item in url.queryItems ?? [] {
            guard ["sslmode", "sslrootcert", "schema", "host"].contains(item.name),
                let value = item.value, !value.isEmpty
            else {
                throw TutelaError(
                    .usage,
                    "the store address has an option Tutela does not know: \(item.name)",
                    hint:
                        "known options: sslmode (verify-full or disable), sslrootcert, schema, host"
                )
            }
            options[item.name] = value
        }
        guard let user = url.user, !user.isEmpty else {
            throw TutelaError(
                .usage, "the store address names no user (postgres://USER@HOST/DATABASE)")
        }
        let database = String(url.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            throw TutelaError(
                .usage, "the store address names no database (postgres://USER@HOST/DATABASE)")
        }
        let schema = options["schema"] ?? defaultSchema
        guard Self.isIdentifier(schema) else {
            throw TutelaError(
                .usage,
                "the schema name \(schema) is not plain: use lower-case letters, digits and _ (up to 40)"
            )
        }
        let socket = options["host"].flatMap { $0.hasPrefix("/") ? $0 : nil }
        let host = socket == nil ? (options["host"] ?? url.host) : nil
        guard socket != nil || !(host ?? "").isEmpty else {
            throw TutelaError(.usage, "the store address names no host")
        }
        let mode = options["sslmode"] ?? (socket == nil ? "verify-full" : "disable")
        guard mode == "verify-full" || mode == "disable" else {
            throw TutelaError(
                .usage, "sslmode \(mode) is not one Tutela uses",
                hint:
                    "verify-full (TLS, the server's certificate checked) or disable (this machine only)"
            )
        }
        if mode == "disable", let host, !["localhost", "127.0.0.1", "::1", "[::1]"].contains(host) {
            throw TutelaError(
                .usage,
                "sslmode=disable would send the vault's bytes to \(host) unencrypted; it is allowed only to this machine",
                hint:
                    "use sslmode=verify-full, with sslrootcert= naming the server's certificate authority"
            )
        }
        self.address = address
        self.host = host
        self.port = url.port ?? 5432
        self.socketDirectory = socket
        self.user = user
        self.database = database
        self.schema = schema
        self.tlsDisabled = mode == "disable"
        self.rootCertificates = options["sslrootcert"]
    }

    /// Whether `name` is safe to put in SQL as a schema name: it is never bound, so it is checked.
    static func isIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.properties.isLowercase || first == "_"
        else { return false }
        return name.count <= 40
            && name.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_"
            }
    }

    /// TLS that checks the server's certificate and name, against `sslrootcert` when given.
    var tls: TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let rootCertificates { tls.trustRoots = .file(rootCertificates) }
        return tls
    }

    /// Connects once and disconnects: a wrong address, password or certificate is reported at
    /// once, where the pool would retry for a minute before giving up.
    func probe(password: String?) async throws {
        do {
            let configuration: PostgresConnection.Configuration
            if let socketDirectory {
                configuration = PostgresConnection.Configuration(
                    unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: user,
                    password: password, database: database)
            } else {
                configuration = PostgresConnection.Configuration(
                    host: host ?? "localhost", port: port, username: user, password: password,
                    database: database,
                    tls: tlsDisabled ? .disable : .require(try NIOSSLContext(configuration: tls)))
            }
            let connection = try await PostgresConnection.connect(
                configuration: configuration, id: 0, logger: PostgresDatabase.logger)
            try await connection.close()
        } catch let error as NIOSSLError {
            throw TutelaError(
                .invalidInput, "TLS to \(host ?? "the server") cannot be set up: \(error)",
                hint:
                    "check sslrootcert names a readable PEM file of the server's certificate authority"
            )
        } catch {
            throw PostgresErrors.map(error, doing: "connect to \(address)")
        }
    }

    /// postgres-nio's configuration for this location, with `password`.
    func configuration(password: String?) throws -> PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        if let socketDirectory {
            configuration = PostgresClient.Configuration(
                unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: user,
                password: password, database: database)
        } else {
            configuration = PostgresClient.Configuration(
                host: host ?? "localhost", port: port, username: user, password: password,
                database: database, tls: tlsDisabled ? .disable : .require(tls))
        }
        configuration.options.maximumConnections = 16
        configuration.options.connectTimeout = .seconds(10)
        // A transaction whose client vanished (a killed server process) must not hold the vault's
        // writer lock: the database ends it, rolled back, after a minute idle.
        configuration.options.additionalStartupParameters = [
            ("idle_in_transaction_session_timeout", "60000"),
            // The server gives up a statement when the client does (fetch's deadline).
            ("statement_timeout", "60000"),
            // Every commit durable before it is answered, whatever the server's default; a writer
            // waits at most 30 s for the writer lock. Set for the connection's whole life (Tutela's
            // own pool): no statement per transaction.
            ("synchronous_commit", "on"),
            ("lock_timeout", "30000"),
            ("application_name", "tutela"),
        ]
        return configuration
    }
}

/// Reads a password from a file private to its owner, or from an environment variable.
public enum PostgresPassword {
    /// The password in `file` (its first line) or in `$variable`; nil when neither is given.
    /// - Throws: `.permissionDenied` when the file is not a regular file of this user's that no
    ///   one else can read, `.invalidInput` when it cannot be read.
    public static func read(file: String?, variable: String, environment: [String: String])
        throws -> String?
    {
        if let file {
            var info = stat()
            guard stat(file, &info) == 0 else {
                throw TutelaError(.invalidInput, "cannot read the password file \(file)")
            }
            guard info.st_mode & S_IFMT == S_IFREG, info.st_uid == getuid(),
                info.st_mode & 0o077 == 0
            else {
                throw TutelaError(
                    .permissionDenied,
                    "the password file \(file) is not private to you: someone else's, or others can read it",
                    hint: "make it yours alone: chmod 600 \(file)")
            }
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw TutelaError(.invalidInput, "cannot read the password file \(file)")
            }
            return String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
        }
        return environment[variable].flatMap { $0.isEmpty ? nil : $0 }
    }
}
