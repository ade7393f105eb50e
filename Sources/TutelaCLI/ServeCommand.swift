import ArgumentParser
import Foundation
import Tutela

#if TUTELA_SERVER
    import Logging
    import TutelaServer

    struct ServeCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve",
            abstract: "Serve one vault to the whole centre over HTTP(S): the API of docs/API.md.",
            discussion: """
                Listens on 127.0.0.1:8080 unless told otherwise and prints 'listening on URL' when \
                ready (with --json, {"listening": URL}). People sign in with their id and passphrase (POST /api/v1/session); their \
                unlocked keys stay in this process's protected memory until they sign out, are idle \
                for --idle-minutes, reach --session-hours, are revoked, or the server stops. SIGTERM \
                or Ctrl-C stops it cleanly: requests in flight finish, then every session is wiped.

                Beyond loopback it serves HTTPS only (--tls-cert and --tls-key), unless a TLS \
                reverse proxy stands in front and you say so with --insecure-http \
                (docs/OPERATIONS.md shows both). Logs go to standard error, one line per request, \
                with no record content, passphrase or token.
                """)

        @Option(help: "HOST:PORT to listen on (port 0 picks a free one).")
        var listen = "127.0.0.1:8080"
        @Option(help: "The TLS certificate chain (PEM) to serve HTTPS with.") var tlsCert: String?
        @Option(help: "The TLS private key (PEM) for --tls-cert.") var tlsKey: String?
        @Flag(help: "Listen beyond loopback without TLS (only behind a TLS reverse proxy).")
        var insecureHTTP = false
        @Flag(
            help:
                "Behind a TLS reverse proxy on this machine (listening on loopback): take the client's address from X-Real-IP, mark cookies Secure."
        )
        var behindProxy = false
        @Option(help: "Minutes a session may sit unused before it ends (1–480).") var idleMinutes =
            15
        @Option(help: "Hours a session lasts at most, however busy (1–24).") var sessionHours = 8
        @Option(help: "Sign-ins (each one Argon2id derivation) run at once (1–16).")
        var parallelSignIns = 2
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard (tlsCert == nil) == (tlsKey == nil) else {
                throw ValidationError("--tls-cert and --tls-key go together")
            }
            guard (1...480).contains(idleMinutes), (1...24).contains(sessionHours),
                idleMinutes <= sessionHours * 60
            else {
                throw ValidationError(
                    "--idle-minutes must be 1–480 and --session-hours 1–24, the idle time no longer"
                )
            }
            guard (1...16).contains(parallelSignIns) else {
                throw ValidationError("--parallel-sign-ins must be 1–16")
            }
        }

        func run() async throws {
            var configuration = ServerConfiguration()
            try configuration.listen(on: listen)
            if let tlsCert, let tlsKey { configuration.tls = (tlsCert, tlsKey) }
            configuration.insecureHTTP = insecureHTTP
            configuration.behindProxy = behindProxy
            configuration.idleTimeout = .seconds(idleMinutes * 60)
            configuration.sessionLimit = .seconds(sessionHours * 3600)
            configuration.parallelSignIns = parallelSignIns
            try configuration.validate()
            let vault = try await vault.open()
            // The vault is checked before anyone can sign in: a tampered or rolled-back vault is
            // refused at start, as any command refuses it.
            _ = try await vault.verifiedDirectory()
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = .info
                return handler
            }
            let server = TutelaServer(
                state: ServerState(vault: vault, configuration: configuration),
                logger: Logger(label: "tutela.serve"))
            let json = output.json
            try await server.run { address in
                if json {
                    try? Terminal.json(["listening": address])
                } else {
                    Terminal.out("listening on \(address)")
                }
            }
        }
    }
#else
    /// `tutela serve` in a build made without the server (`TUTELA_CORE_ONLY=1`, CI's sanitizer stage).
    struct ServeCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve", abstract: "Serve one vault over HTTP(S) (not in this build).")
        @OptionGroup var output: OutputOptions

        func run() async throws {
            throw TutelaError(
                .usage, "this tutela was built without the server (TUTELA_CORE_ONLY)",
                hint: "build it without TUTELA_CORE_ONLY to run tutela serve")
        }
    }
#endif
