import Yams

/// The policy sections that are not about one record class: quorums and the directory.
extension PolicyReader {
    /// A quorum: `approvals` (2…, never more than the approver roles, each of whose groups holds one
    /// share) among `approvers` (at least one role), for the section `what`.
    mutating func quorum(
        _ map: [String: Node], _ node: Node, _ what: String, alone: String
    ) throws(TutelaError) -> (approvals: Int, approvers: [Role]) {
        let approvers = try roles(map["approvers"], "\(what) approvers")
        let approvals = try integer(map["approvals"] ?? node, "\(what) approvals", range: 1...10)
        guard !approvers.isEmpty else { throw fail(node, "\(what) approvers must name a role") }
        guard approvals >= 2 else {
            throw fail(
                map["approvals"],
                "\(what) approvals must be at least 2: with \(approvals), one approver group "
                    + alone)
        }
        guard approvals <= approvers.count else {
            throw fail(
                map["approvals"],
                "\(what) approvals (\(approvals)) cannot exceed the number of approver roles "
                    + "(\(approvers.count)): each role's group holds one share")
        }
        return (approvals, approvers.map(\.value))
    }

    /// The `identity-recovery` section: a quorum of approver roles, at least two.
    mutating func recoveryRules(_ node: Node) throws(TutelaError) -> RecoveryRules {
        let map = try mapping(
            node, "identity-recovery", allowed: ["approvals", "approvers", "lifetime-hours"],
            required: ["approvals", "approvers"])
        // Each approver role's group holds one share of every person's keys: with one approval,
        // one group's members could rebuild anyone's keys alone.
        let (approvals, approvers) = try quorum(
            map, node, "identity-recovery", alone: "could rebuild anyone's keys alone")
        for r in approvers
        where [.learner, .parentCarer, .homeSchool, .workBasedProvider].contains(r) {
            throw fail(
                map["approvers"],
                "identity-recovery approvers must be staff roles: '\(r.rawValue)' may not "
                    + "hold a share of other people's keys")
        }
        return RecoveryRules(
            approvals: approvals, approvers: approvers,
            lifetimeHours: try map["lifetime-hours"].map { (n) throws(TutelaError) in
                try integer(n, "identity-recovery lifetime-hours", range: 1...168)
            } ?? 72,
            line: line(node))
    }

    /// The `directory` section: which roles list every learner and every person.
    mutating func directoryRules(_ node: Node) throws(TutelaError) -> DirectoryRules {
        let map = try mapping(
            node, "directory", allowed: ["learners", "people"], required: ["learners", "people"])
        let learners = try roles(map["learners"], "directory.learners")
        let people = try roles(map["people"], "directory.people")
        for (list, what) in [(learners, "learners"), (people, "people")] {
            for r in list where DirectoryRules.neverListing.contains(r.value) {
                throw fail(
                    map[what],
                    "directory.\(what) must name staff roles: '\(r.value.rawValue)' may not list "
                        + "other learners and families")
            }
        }
        return DirectoryRules(learners: learners, people: people, line: line(node))
    }

    /// The centre's time zone: the shape of an IANA name. Whether this machine knows it is asked
    /// only of a policy being checked or published (``Policy/check(_:source:)``): a published
    /// policy replayed on a machine with an older time-zone database must still open the vault.
    mutating func timeZone(_ node: Node) throws(TutelaError) -> String {
        let name = try string(node, "timezone", max: 64)
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_-+")
        guard name.allSatisfy(allowed.contains), name.first?.isLetter == true else {
            throw fail(
                node,
                "timezone '\(Identifier.printable(name))' is not a time zone name (write one such "
                    + "as Europe/London)")
        }
        return name
    }

    /// `sessions:`: how long a server keeps someone signed in, within its own limits.
    mutating func sessionLimits(_ node: Node) throws(TutelaError) -> SessionLimits {
        let limits = try mapping(node, "sessions", allowed: ["idle-minutes", "hours"])
        return SessionLimits(
            idleMinutes: try limits["idle-minutes"].map { (m) throws(TutelaError) in
                try integer(m, "sessions.idle-minutes", range: 1...480)
            },
            hours: try limits["hours"].map { (h) throws(TutelaError) in
                try integer(h, "sessions.hours", range: 1...24)
            })
    }

    /// `second-factor: required:`: the roles whose holders must give a code to sign in.
    mutating func secondFactorRoles(_ node: Node) throws(TutelaError) -> Set<Role> {
        let section = try mapping(
            node, "second-factor", allowed: ["required"], required: ["required"])
        return Set(try roles(section["required"], "second-factor.required").map(\.value))
    }
}
