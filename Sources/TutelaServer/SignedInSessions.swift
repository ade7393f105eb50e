import Foundation
public import Tutela
import TutelaCrypto

/// The people signed in to one server, each with their unlocked session.
///
/// A token is 32 random bytes, sent to the person once and kept here only as its BLAKE2b hash: a
/// copy of this table (a core dump, a debugger) gives no token that signs in. A session ends after
/// `idleTimeout` unused, `sessionLimit` after signing in, at sign-out, at revocation and at
/// shutdown; its unlocked identity lives in secret memory, which is zeroed as the last request
/// using it lets go of it.
public actor SignedInSessions {
    /// One signed-in person, as a request sees them.
    public struct SignedIn: Sendable {
        /// Their unlocked session (the core's unlocked actor).
        public let session: Session
        /// The hash under which this sign-in is kept.
        let key: String
        /// The CSRF token a cookie-authenticated change must carry.
        public let csrf: String
        /// When it ends however busy, in the server's monotonic seconds.
        let ends: Double
        /// Seconds it may sit unused.
        let idle: Double
        /// True while the policy requires this person to enrol a second factor and they have not:
        /// the session may do that and sign out, nothing else.
        public let enrolOnly: Bool
    }

    struct Entry {
        var signedIn: SignedIn
        /// The order of signing in (clock readings can tie).
        let serial: Int
        var lastUsed: Double
        /// When they signed in, in the server's monotonic seconds.
        let started: Double
        /// When they last proved who they are (signing in, or confirming it since).
        var verified: Double
        /// An authenticator key shown to the person, waiting for a code from their app.
        var pendingKey: SecretBytes?
    }

    /// Sessions one person may hold at once; signing in again ends their oldest beyond it.
    static let perPerson = 5
    /// Sessions the server holds at once; beyond it sign-ins are refused (503) until some end.
    static let maximum = 2_000

    private var entries: [String: Entry] = [:]
    private var serial = 0
    private let idle: Double
    private let limit: Double
    private let now: @Sendable () -> Double

    /// - Parameter now: seconds on a monotonic clock (tests move it on).
    /// The session cookie's name: `__Host-tutela_session` over HTTPS (or behind a TLS proxy), so
    /// that a sibling site of the same domain cannot plant one (the browser accepts that prefix
    /// only from this host, secure, for the whole path); `tutela_session` on plain loopback.
    public nonisolated let cookieName: String

    public init(configuration: ServerConfiguration, now: @escaping @Sendable () -> Double) {
        cookieName = configuration.secureCookies ? "__Host-tutela_session" : "tutela_session"
        idle = Self.seconds(configuration.idleTimeout)
        limit = Self.seconds(configuration.sessionLimit)
        self.now = now
    }

    static func seconds(_ duration: Duration) -> Double {
        let (s, attoseconds) = duration.components
        return Double(s) + Double(attoseconds) / 1e18
    }

    /// Keeps `session` signed in under a new random token.
    /// - Returns: the token (given to the person, never stored), the CSRF token, and how many
    ///   seconds the session lasts at most.
    public func add(
        _ session: Session, enrolOnly: Bool = false
    ) throws -> (token: String, csrf: String, lasts: Double) {
        let id = session.principal.id
        let theirs = entries.filter { $0.value.signedIn.session.principal.id == id }
            .sorted { $0.value.serial < $1.value.serial }
        for (key, _) in theirs.dropLast(Self.perPerson - 1) { entries[key] = nil }
        if entries.count >= Self.maximum { sweep() }
        guard entries.count < Self.maximum else {
            throw TutelaError(
                .tryAgain, "the server holds as many sessions as it may",
                hint: "try again when some have ended")
        }
        // The policy may shorten the server's limits, never lengthen them.
        let policy = session.directory.policy?.sessions
        let idle = min(self.idle, policy?.idleMinutes.map { Double($0) * 60 } ?? .infinity)
        let lasts = min(limit, policy?.hours.map { Double($0) * 3600 } ?? .infinity)
        let token = Base64URL.encode(try SecureRandom.bytes(count: 32))
        let csrf = Base64URL.encode(try SecureRandom.bytes(count: 32))
        let key = try Self.key(token)
        let at = now()
        entries[key] = Entry(
            signedIn: SignedIn(
                session: session, key: key, csrf: csrf, ends: at + lasts, idle: idle,
                enrolOnly: enrolOnly),
            serial: serial, lastUsed: at, started: at, verified: at)
        serial += 1
        return (token, csrf, lasts)
    }

    /// The person signed in under `token`, if their session has not ended. Not yet activity:
    /// ``use(_:)`` is, once the session has brought its directory up to date.
    public func find(_ token: String) -> SignedIn? {
        guard let key = try? Self.key(token), let entry = entries[key] else { return nil }
        guard live(entry, at: now()) else {
            entries[key] = nil
            return nil
        }
        return entry.signedIn
    }

    /// Counts a request of `signedIn` as activity, if the session has not ended under the
    /// limits its refreshed directory's policy sets (a policy applied meanwhile binds now).
    /// - Returns: false, having ended it, when it has.
    public func use(_ signedIn: SignedIn) -> Bool {
        guard let entry = entries[signedIn.key] else { return false }
        let at = now()
        guard live(entry, at: at) else {
            entries[signedIn.key] = nil
            return false
        }
        entries[signedIn.key]?.lastUsed = at
        return true
    }

    /// Seconds until `signedIn` ends, whichever of its limits comes first.
    public func remaining(_ signedIn: SignedIn) -> Double {
        let at = now()
        guard let entry = entries[signedIn.key] else { return 0 }
        let (idle, ends) = Self.limits(entry)
        return max(0, min(entry.lastUsed + idle, ends) - at)
    }

    /// `signedIn`'s person proved who they are again (passphrase and code).
    public func confirmed(_ signedIn: SignedIn) { entries[signedIn.key]?.verified = now() }

    /// Whether `signedIn`'s person proved who they are within the last `seconds`.
    public func verifiedRecently(_ signedIn: SignedIn, within seconds: Double) -> Bool {
        guard let entry = entries[signedIn.key] else { return false }
        return now() - entry.verified < seconds
    }

    /// Keeps `key`, a new authenticator key shown to `signedIn`'s person, until they confirm it
    /// (replacing any shown before).
    func offer(_ key: SecretBytes, to signedIn: SignedIn) {
        entries[signedIn.key]?.pendingKey = key
    }

    /// The authenticator key last shown to `signedIn`'s person, if any.
    func offered(to signedIn: SignedIn) -> SecretBytes? {
        entries[signedIn.key]?.pendingKey
    }

    /// `signedIn`'s person has enrolled the key offered: this session may now do all they may.
    public func enrolled(_ signedIn: SignedIn) {
        guard let entry = entries[signedIn.key] else { return }
        let was = entry.signedIn
        entries[signedIn.key]?.pendingKey = nil
        entries[signedIn.key]?.signedIn = SignedIn(
            session: was.session, key: was.key, csrf: was.csrf, ends: was.ends, idle: was.idle,
            enrolOnly: false)
    }

    /// Ends one sign-in (sign-out, or its person revoked).
    public func end(_ signedIn: SignedIn) { entries[signedIn.key] = nil }

    /// Ends every sign-in of `principal` (revoked, or their keys replaced), whatever the case it
    /// was typed in.
    public func end(principal: PrincipalID) {
        let id = principal.text.lowercased()
        entries = entries.filter { $0.value.signedIn.session.principal.id.text.lowercased() != id }
    }

    /// Ends every sign-in of `signedIn`'s person but that one (their second factor changed: a
    /// session signed in before proved nothing of the new one).
    public func endOthers(of signedIn: SignedIn) {
        let id = signedIn.session.principal.id.text.lowercased()
        entries = entries.filter {
            $0.key == signedIn.key || $0.value.signedIn.session.principal.id.text.lowercased() != id
        }
    }

    /// Ends every session whose time is up; the server runs this every half minute.
    public func sweep() {
        let at = now()
        entries = entries.filter { live($0.value, at: at) }
    }

    /// Whether `entry` has not ended by `at`.
    private func live(_ entry: Entry, at: Double) -> Bool {
        let (idle, ends) = Self.limits(entry)
        return at - entry.lastUsed < idle && at < ends
    }

    /// `entry`'s limits now: those it signed in under, shortened by the policy its session has
    /// verified since — a policy applied meanwhile that shortens `sessions:` binds from the
    /// person's next request, never lengthening what they signed in with.
    private static func limits(_ entry: Entry) -> (idle: Double, ends: Double) {
        let policy = entry.signedIn.session.directory.policy?.sessions
        let idle = min(
            entry.signedIn.idle, policy?.idleMinutes.map { Double($0) * 60 } ?? .infinity)
        let ends = min(
            entry.signedIn.ends,
            entry.started + (policy?.hours.map { Double($0) * 3600 } ?? .infinity))
        return (idle, ends)
    }

    /// Ends every sign-in (shutdown).
    public func endAll() { entries = [:] }

    /// How many people are signed in.
    public var count: Int { entries.count }

    static func key(_ token: String) throws -> String {
        Base64URL.encode(
            try BLAKE2b.hash(parts: [Array("tutela/session-token/v1".utf8), Array(token.utf8)]))
    }
}

/// URL-safe base64 without padding (RFC 4648 §5): tokens fit a cookie and a header as they are.
enum Base64URL {
    static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
