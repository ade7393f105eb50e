import Foundation

/// Failed sign-ins (and activations) counted per account and per client address over a sliding
/// window.
///
/// An attempt is booked before its Argon2id work and counts against both allowances while it
/// runs, so a burst of simultaneous guesses gets no more than the allowance: once failures and
/// attempts under way reach it, further attempts are refused at once (429 with `Retry-After`)
/// until the oldest failure leaves the window. Accounts are counted case-folded (as ids resolve)
/// and IPv6 clients by their /64, the block one household or machine is given. A successful
/// sign-in clears its account's failures, not its address's.
public actor SignInThrottle {
    private var failures: [String: [Double]] = [:]
    private var underWay: [String: Int] = [:]
    private let perAccount: Int
    private let perAddress: Int
    private let window: Double
    private let now: @Sendable () -> Double

    /// - Parameter now: seconds on a monotonic clock.
    public init(configuration: ServerConfiguration, now: @escaping @Sendable () -> Double) {
        perAccount = configuration.failuresPerAccount
        perAddress = configuration.failuresPerAddress
        window = SignedInSessions.seconds(configuration.throttleWindow)
        self.now = now
    }

    /// Books an attempt as `account` from `address`.
    /// - Returns: nil when booked (end it with ``end(account:address:outcome:)``), else the
    ///   seconds to wait.
    public func begin(account: String, address: String) -> Int? {
        let keys = Self.keys(account: account, address: address)
        let waits = [
            wait(key: keys.account, allowed: perAccount),
            wait(key: keys.address, allowed: perAddress),
        ].compactMap { $0 }
        if let longest = waits.max() { return longest }
        for key in [keys.account, keys.address] { underWay[key, default: 0] += 1 }
        return nil
    }

    /// How a booked attempt ended.
    public enum Outcome: Sendable {
        /// Signed in: the account's failures are cleared.
        case succeeded
        /// Refused: a failure, counted for the window.
        case failed
        /// Neither (busy, or the vault's fault): only the booking is released. Never a success,
        /// or an attacker who makes the server busy could clear an account's failures.
        case undecided
    }

    /// Ends a booked attempt.
    public func end(account: String, address: String, outcome: Outcome) {
        let keys = Self.keys(account: account, address: address)
        let at = now()
        for key in [keys.account, keys.address] {
            underWay[key] = (underWay[key] ?? 1) > 1 ? (underWay[key] ?? 1) - 1 : nil
            if outcome == .failed { failures[key, default: []].append(at) }
        }
        if outcome == .succeeded { failures[keys.account] = nil }
    }

    /// Forgets failures that have left the window (the server's sweep runs this).
    public func prune() {
        let at = now()
        failures = failures.compactMapValues { times in
            let recent = times.filter { at - $0 < window }
            return recent.isEmpty ? nil : recent
        }
    }

    /// How many accounts and addresses have failures remembered.
    public var remembered: Int { failures.count }

    static func keys(account: String, address: String) -> (account: String, address: String) {
        ("account:" + account.lowercased(), "address:" + ClientAddress.block(address))
    }

    private func wait(key: String, allowed: Int) -> Int? {
        let at = now()
        let recent = (failures[key] ?? []).filter { at - $0 < window }
        failures[key] = recent.isEmpty ? nil : recent
        guard recent.count + (underWay[key] ?? 0) >= allowed else { return nil }
        guard let oldest = recent.first else { return 1 }  // only attempts under way: shortly
        return max(1, Int((oldest + window - at).rounded(.up)))
    }
}

/// Client addresses as the throttle counts them.
enum ClientAddress {
    /// Whether `text` is an IPv4 or IPv6 address (what a proxy's `X-Real-IP` must hold).
    static func isAddress(_ text: String) -> Bool { bytes(text) != nil }

    /// An IPv4 address itself; an IPv6 address's /64 (the first eight bytes, in hex).
    static func block(_ text: String) -> String {
        guard let bytes = bytes(text), bytes.count == 16 else { return text }
        return bytes.prefix(8).map { String(format: "%02x", $0) }.joined() + "::/64"
    }

    private static func bytes(_ text: String) -> [UInt8]? {
        guard text.utf8.count <= 45 else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }
}
