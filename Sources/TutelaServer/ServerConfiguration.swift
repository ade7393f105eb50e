import Foundation
public import Tutela

/// How `tutela serve` listens and how long a signed-in person stays signed in.
public struct ServerConfiguration: Sendable {
    /// The address to listen on; loopback unless told otherwise.
    public var host = "127.0.0.1"
    /// The port to listen on; 0 picks a free one (its number is printed when ready).
    public var port = 8080
    /// The certificate chain and private key (PEM files) to serve HTTPS with, or nil for HTTP.
    public var tls: (certificate: String, key: String)?
    /// Listen beyond loopback without TLS, as behind a reverse proxy on another machine. Off unless
    /// an operator asks for it in so many words.
    public var insecureHTTP = false
    /// Behind a TLS reverse proxy (nginx) on this machine: the client's address is taken from the
    /// `X-Real-IP` header the proxy sets, and cookies are marked `Secure` (browsers reach the
    /// server over HTTPS, through the proxy).
    public var behindProxy = false
    /// Whether cookies get the `Secure` attribute: under TLS, or behind a TLS proxy.
    public var secureCookies: Bool { tls != nil || behindProxy || insecureHTTP }
    /// A session not used for this long ends (15 minutes).
    public var idleTimeout: Duration = .seconds(15 * 60)
    /// A session ends this long after signing in, however busy (8 hours).
    public var sessionLimit: Duration = .seconds(8 * 60 * 60)
    /// How long after signing in (or confirming it) a session may issue credentials or change
    /// who may do what — invite, re-key, revoke, set roles, apply a policy, ask for or approve
    /// an identity recovery — before it must confirm the passphrase (and code) again.
    public var recentSignIn: Duration = .seconds(10 * 60)
    /// How many Argon2id derivations (sign-ins) run at once; each holds the vault's Argon2id
    /// memory (256 MiB at the moderate profile) while it runs.
    public var parallelSignIns = 2
    /// How many sign-ins may wait for one of those; more are answered 503 `busy` at once.
    public var waitingSignIns = 32
    /// The largest request body accepted, in bytes (a form is never larger than 1 MiB).
    public var maximumBody = 1 << 20
    /// The largest import accepted in one request (JSON lines), in bytes: about 12,000 forms.
    /// Larger imports are split, or run with `tutela import` on the vault's machine.
    public var maximumImport = 32 << 20
    /// Failed sign-ins allowed per account, and per client address, within `throttleWindow`.
    public var failuresPerAccount = 5
    /// Failed sign-ins allowed from one client address within `throttleWindow`.
    public var failuresPerAddress = 20
    /// The window failed sign-ins are counted over (15 minutes).
    public var throttleWindow: Duration = .seconds(15 * 60)

    /// The defaults: loopback, port 8080, HTTP.
    public init() {}

    /// Whether the configured host is a loopback address, reachable from this machine only.
    public var isLoopback: Bool {
        let host = host.lowercased()
        if host == "localhost" || host == "::1" { return true }
        // An IPv4 address in 127.0.0.0/8, parsed as one: a name that merely starts with "127."
        // is not loopback.
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127"
            && parts.allSatisfy { UInt8($0) != nil && $0.allSatisfy(\.isASCII) }
    }

    /// The scheme and address to print when ready.
    public func url(port: Int) -> String {
        let shown = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "\(tls == nil ? "http" : "https")://\(shown):\(port)"
    }

    /// Reads `HOST:PORT` (an IPv6 host in brackets: `[::1]:8080`).
    /// - Throws: `.usage` naming what is wrong.
    public mutating func listen(on text: String) throws(TutelaError) {
        let problem = TutelaError(
            .usage, "--listen takes HOST:PORT, e.g. 127.0.0.1:8080, not '\(text)'")
        guard let colon = text.lastIndex(of: ":"),
            let port = Int(text[text.index(after: colon)...]),
            (0...65_535).contains(port)
        else { throw problem }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, !host.contains("/"), !host.contains(" ") else { throw problem }
        self.host = host
        self.port = port
    }

    /// Refuses a configuration that would send passphrases and records in the clear beyond this
    /// machine, and limits that make no sense.
    /// - Throws: `.usage` naming the problem and what to do.
    public func validate() throws(TutelaError) {
        if !isLoopback, tls == nil, !insecureHTTP {
            throw TutelaError(
                .usage,
                "refusing to listen on \(host) without TLS: passphrases and records would cross "
                    + "the network in the clear",
                hint: "give --tls-cert and --tls-key, or put a TLS reverse proxy in front and pass "
                    + "--insecure-http (docs/OPERATIONS.md)")
        }
        if behindProxy, !isLoopback {
            throw TutelaError(
                .usage,
                "--behind-proxy trusts the X-Real-IP header, so the server must listen on loopback "
                    + "where only the proxy on this machine reaches it",
                hint: "listen on 127.0.0.1 behind the proxy; a proxy on another machine needs "
                    + "--insecure-http and a firewall that lets only it reach the port")
        }
        guard idleTimeout > .zero, sessionLimit >= idleTimeout else {
            throw TutelaError(
                .usage, "the idle timeout must be positive and no longer than the session limit")
        }
        guard parallelSignIns >= 1, waitingSignIns >= 0, maximumBody >= 1024 else {
            throw TutelaError(.usage, "sign-in and body limits must be positive")
        }
    }
}
