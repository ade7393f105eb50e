import Synchronization

/// What a session has already proven of the state under one root: the newest entry it checked
/// (so an unchanged head is not verified again), and the buckets and nodes that hashed to its root.
/// Sound to reuse while the root stands: under one root, each bucket and node has one true value,
/// and rows read afresh are still compared with it. Transactions take buckets and nodes from it
/// too (their path is still hashed up to the root). A new root empties it, unless this session's
/// own transaction made it (``advance(from:link:state:buckets:children:)``).
final class StateCache: Sendable {
    private struct Proven {
        var link: [UInt8]
        var state: StateHead
        var children: [String: [[UInt8]]] = [:]
        var buckets: [UInt16: [String: [UInt8]]] = [:]
    }
    private let proven = Mutex<Proven?>(nil)
    /// The newest audit entry this session has seen, which the log must still hold.
    private let seen = Mutex<(sequence: Int64, hash: [UInt8])?>(nil)
    /// Buckets kept at most, so a long listing does not hold the whole map.
    let maxBuckets: Int

    init(maxBuckets: Int = 4096) { self.maxBuckets = maxBuckets }

    /// Checks that the log's last link does not go behind (or replace) the newest entry this
    /// session saw, then remembers it if it is newer.
    /// - Throws: `.tampered` for a log rolled back or replaced under a running session.
    func see(_ last: ChainLink) throws(TutelaError) {
        try seen.withLock { seen throws(TutelaError) in
            if let seen {
                guard last.sequence >= seen.sequence,
                    last.sequence > seen.sequence || last.hash == seen.hash
                else {
                    throw TutelaError(
                        .tampered,
                        "the vault's audit log no longer holds the \(seen.sequence + 1) entries this "
                            + "session saw: it was rolled back or replaced while in use",
                        hint: AuditLog.restoreHint)
                }
                if last.sequence == seen.sequence { return }
            }
            seen = (last.sequence, last.hash)
        }
    }

    func state(link: [UInt8]) -> StateHead? {
        proven.withLock { $0?.link == link ? $0?.state : nil }
    }

    /// Remembers the entry `link` as checked, committing to `state`. What was proven under the
    /// previous entry is kept when the root is the same (an open, a refusal: entries that change
    /// no fact), since under one root each bucket and node has one true value.
    func remember(link: [UInt8], state: StateHead) {
        proven.withLock { current in
            guard current?.link != link else { return }
            var next = Proven(link: link, state: state)
            if let current, current.state.root == state.root {
                next.children = current.children
                next.buckets = current.buckets
            }
            current = next
        }
    }

    /// Carries what was proven under `base` over to the state a transaction committed on top of
    /// it, ending with `link`: the buckets the transaction read, as it left them, and every node
    /// on their paths, as it re-hashed them; everything else is as it was, a node's children
    /// changing only with a bucket beneath it. An open (every entry now changes the root, through
    /// its subject's index) then leaves its session's next reading proven but for its own write.
    /// Nothing is carried if the session had moved on from `base` meanwhile. A transaction that
    /// then failed to commit leaves a root and a link no entry holds, which nothing will ask for.
    func advance(
        from base: [UInt8], link: [UInt8], state: StateHead,
        buckets: [UInt16: [String: [UInt8]]], children: [String: [[UInt8]]]
    ) {
        proven.withLock { current in
            // Changed where it is held: a copy of what was proven, merged into, would cost the
            // whole cache on every transaction.
            if current?.state.root != base { current = nil }
            var next = current.take() ?? Proven(link: link, state: state)
            next.link = link
            next.state = state
            next.children.merge(children) { $1 }
            if next.buckets.count + buckets.count > maxBuckets { next.buckets = [:] }
            if buckets.count <= maxBuckets { next.buckets.merge(buckets) { $1 } }
            current = next
        }
    }

    /// Bucket `b`, if it was proven under `root`, and whichever nodes on its path were.
    func proven(_ b: UInt16, root: [UInt8])
        -> (entries: [String: [UInt8]]?, children: [String: [[UInt8]]])
    {
        proven.withLock { current in
            guard let current, current.state.root == root else { return (nil, [:]) }
            var path: [String: [[UInt8]]] = [:]
            for depth in 0...3 {
                let prefix = StateMap.prefix(b, depth: depth)
                if let row = current.children[prefix] { path[prefix] = row }
            }
            return (current.buckets[b], path)
        }
    }

    func bucket(_ b: UInt16, root: [UInt8]) -> [String: [UInt8]]? {
        proven.withLock { $0?.state.root == root ? $0?.buckets[b] : nil }
    }

    func children(root: [UInt8]) -> [String: [[UInt8]]] {
        proven.withLock { $0?.state.root == root ? $0?.children ?? [:] : [:] }
    }

    func remember(
        bucket b: UInt16, _ entries: [String: [UInt8]], children: [String: [[UInt8]]],
        root: [UInt8]
    ) {
        proven.withLock { current in
            guard current?.state.root == root else { return }
            if (current?.buckets.count ?? 0) >= maxBuckets { current?.buckets = [:] }
            current?.buckets[b] = entries
            for depth in 0...3 {
                let prefix = StateMap.prefix(b, depth: depth)
                if let row = children[prefix] { current?.children[prefix] = row }
            }
        }
    }
}
