// Over 400 lines: the strict policy reader, one method per section of the file; the sections not
// about a record class are in PolicyParser+Sections.swift.
import Yams

extension Policy {
    /// Parses a policy about to be signed off or published: as ``parse(_:source:)``, and its time
    /// zone must be one this machine knows.
    /// - Throws: a data error (65) naming the file and problem.
    public static func check(_ bytes: [UInt8], source: String) throws(TutelaError) -> Policy {
        let policy = try parse(bytes, source: source)
        guard Timestamp.knows(zone: policy.timeZone) else {
            throw .invalidInput(
                "\(source): timezone '\(Identifier.printable(policy.timeZone))' is not a time zone "
                    + "this machine knows (write one such as Europe/London)")
        }
        return policy
    }

    /// The largest policy file accepted.
    static let maximumBytes = 256 * 1024

    /// Parses and validates a policy file strictly: unknown keys, roles or classes, duplicate rules and
    /// impossible values are errors that cite `file:line`.
    /// - Parameters:
    ///   - bytes: the YAML text.
    ///   - source: the file name used in messages and in the rules decisions cite.
    /// - Throws: a data error (65) naming the file, line and problem.
    public static func parse(_ bytes: [UInt8], source: String) throws(TutelaError) -> Policy {
        guard bytes.count <= maximumBytes else {
            throw .invalidInput(
                "\(source): the policy is \(bytes.count) bytes, over the limit of \(maximumBytes)")
        }
        guard let text = String(validating: bytes, as: UTF8.self), !text.contains("\0") else {
            throw .invalidInput("\(source): the policy is not valid UTF-8 text")
        }
        if let line = YAMLGuard.firstAnchorOrAlias(in: text) {
            throw .invalidInput(
                "\(source):\(line): YAML anchors and aliases are not allowed in a policy "
                    + "(write the value out; quote text that starts with & or *)")
        }
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            let (line, problem) = Document.yamlProblem(error)
            throw .invalidInput("\(source):\(line ?? 1): not valid YAML: \(problem)")
        }
        guard let root else { throw .invalidInput("\(source): the policy is empty") }
        var reader = PolicyReader(source: source)
        return try reader.policy(root)
    }
}

/// Walks the YAML tree, checking every key and value and remembering lines.
struct PolicyReader {
    let source: String
    var nodes = 0
    var declaredRoles: [Role: String] = [:]

    func fail(_ node: Node?, _ message: String) -> TutelaError {
        .invalidInput("\(source):\(node?.mark?.line ?? 1): \(message)")
    }

    func line(_ node: Node) -> Int { node.mark?.line ?? 1 }

    mutating func count(_ node: Node) throws(TutelaError) {
        nodes += 1
        guard nodes <= 10_000 else { throw fail(node, "the policy is too large") }
        if case .alias = node { throw fail(node, "YAML aliases are not allowed in a policy") }
    }

    /// The entries of a mapping, refusing duplicate and unknown keys and checking required ones.
    mutating func mapping(
        _ node: Node, _ what: String, allowed: [String], required: [String] = []
    ) throws(TutelaError) -> [String: Node] {
        try count(node)
        guard case .mapping(let map) = node else { throw fail(node, "\(what) must be a mapping") }
        var result: [String: Node] = [:]
        for (key, value) in map {
            guard case .scalar(let k) = key else { throw fail(key, "\(what): a key must be text") }
            guard allowed.contains(k.string) else {
                throw fail(
                    key,
                    "unknown key '\(Identifier.printable(k.string))' in \(what) (expected one of: "
                        + allowed.joined(separator: ", ") + ")")
            }
            guard result.updateValue(value, forKey: k.string) == nil else {
                throw fail(key, "'\(k.string)' appears twice in \(what)")
            }
        }
        for key in required where result[key] == nil {
            throw fail(node, "\(what) must have '\(key)'")
        }
        return result
    }

    mutating func string(_ node: Node, _ what: String, max: Int = 200) throws(TutelaError) -> String
    {
        try count(node)
        guard case .scalar(let s) = node, !s.string.isEmpty, s.string.count <= max else {
            throw fail(node, "\(what) must be text of 1–\(max) characters")
        }
        guard !Identifier.hasControlCharacters(s.string.utf8) else {
            throw fail(node, "\(what) must not hold control characters")
        }
        guard
            !s.string.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw fail(node, "\(what) contains a control character")
        }
        return s.string
    }

    mutating func integer(_ node: Node, _ what: String, range: ClosedRange<Int>) throws(TutelaError)
        -> Int
    {
        try count(node)
        guard case .scalar(let s) = node, s.style == .plain, let v = Int(s.string) else {
            throw fail(node, "\(what) must be a whole number")
        }
        guard range.contains(v) else {
            throw fail(
                node,
                "\(what) must be between \(range.lowerBound) and \(range.upperBound), not \(v)")
        }
        return v
    }

    mutating func bool(_ node: Node, _ what: String) throws(TutelaError) -> Bool {
        try count(node)
        guard case .scalar(let s) = node, s.style == .plain, ["true", "false"].contains(s.string)
        else {
            throw fail(node, "\(what) must be true or false")
        }
        return s.string == "true"
    }

    mutating func list(_ node: Node, _ what: String) throws(TutelaError) -> [Node] {
        try count(node)
        guard case .sequence(let seq) = node else { throw fail(node, "\(what) must be a list") }
        return Array(seq)
    }

    mutating func role(_ node: Node, _ what: String) throws(TutelaError) -> Located<Role> {
        let name = try string(node, what, max: 64)
        guard let role = Role(rawValue: name) else {
            throw fail(
                node,
                "unknown role '\(Identifier.printable(name))' in \(what) (roles: "
                    + Role.allCases.map(\.rawValue).joined(separator: ", ") + ")")
        }
        guard declaredRoles[role] != nil else {
            throw fail(node, "role '\(name)' is used in \(what) but not declared under roles")
        }
        return Located(value: role, line: line(node))
    }

    mutating func roles(_ node: Node?, _ what: String) throws(TutelaError) -> [Located<Role>] {
        guard let node else { return [] }
        var result: [Located<Role>] = []
        for item in try list(node, what) {
            let r = try role(item, what)
            guard !result.contains(where: { $0.value == r.value }) else {
                throw fail(item, "duplicate rule: '\(r.value.rawValue)' is listed twice in \(what)")
            }
            result.append(r)
        }
        return result
    }

    /// A list of subjects: `author`, `assigned-tutor`, `learner`, `{role: R}`, `{copies: K or [K…]}`.
    mutating func subjects(_ node: Node?, _ what: String) throws(TutelaError) -> [Located<Subject>]
    {
        guard let node else { return [] }
        var result: [Located<Subject>] = []
        func add(_ s: Subject, _ at: Node) throws(TutelaError) {
            guard !result.contains(where: { $0.value == s }) else {
                throw fail(at, "duplicate rule: '\(s)' is listed twice in \(what)")
            }
            result.append(Located(value: s, line: line(at)))
        }
        for item in try list(node, what) {
            if case .scalar(let s) = item {
                try count(item)
                switch s.string {
                case "author": try add(.author, item)
                case "assigned-tutor": try add(.assignedTutor, item)
                case "learner":
                    guard declaredRoles[.learner] != nil else {
                        throw fail(
                            item, "'learner' reads need the learner role declared under roles")
                    }
                    try add(.learner, item)
                default:
                    throw fail(
                        item,
                        "unknown subject '\(Identifier.printable(s.string))' in \(what) (expected author, "
                            + "assigned-tutor, learner, {role: ROLE} or {copies: [KIND…]})")
                }
                continue
            }
            let map = try mapping(item, "a subject in \(what)", allowed: ["role", "copies"])
            guard map.count == 1 else {
                throw fail(item, "a subject names one role or one copies list")
            }
            if let r = map["role"] {
                try add(.role(try role(r, what).value), r)
            }
            if let c = map["copies"] {
                let kinds: [Node]
                if case .sequence = c { kinds = try list(c, "copies") } else { kinds = [c] }
                for k in kinds {
                    let name = try string(k, "a copy recipient", max: 64)
                    guard let kind = CopyKind(rawValue: name) else {
                        throw fail(
                            k,
                            "unknown copy recipient '\(Identifier.printable(name))' (expected: "
                                + CopyKind.allCases.map(\.rawValue).joined(separator: ", ") + ")")
                    }
                    try add(.copies(kind), k)
                }
            }
        }
        return result
    }

    /// `"learner-left + 7 years"`, or `{later-of: [...]}` / `{earlier-of: [...]}`.
    mutating func retentionRule(_ node: Node, _ what: String) throws(TutelaError) -> RetentionRule {
        if case .scalar = node {
            let text = try string(node, what, max: 64)
            let parts = text.split(separator: " ")
            guard parts.count == 4, parts[1] == "+", parts[3] == "years" || parts[3] == "year",
                let trigger = RetentionRule.Trigger(rawValue: String(parts[0])),
                let years = Int(parts[2])
            else {
                throw fail(
                    node,
                    "\(what) must read 'TRIGGER + N years' with TRIGGER one of created, learner-left, dob"
                )
            }
            guard (0...100).contains(years) else {
                throw fail(
                    node, "\(what): \(years) years is not a sensible retention period (0–100)")
            }
            return .after(trigger, years: years)
        }
        let map = try mapping(node, what, allowed: ["later-of", "earlier-of"])
        guard map.count == 1, let (key, value) = map.first else {
            throw fail(node, "\(what) must be one of later-of or earlier-of")
        }
        let items = try list(value, key)
        guard items.count >= 2 else { throw fail(value, "\(key) needs at least two periods") }
        var rules: [RetentionRule] = []
        for item in items { rules.append(try retentionRule(item, key)) }
        return key == "later-of" ? .laterOf(rules) : .earlierOf(rules)
    }

    mutating func schedule(_ node: Node, _ what: String, allowFlagged: Bool) throws(TutelaError)
        -> (
            RetentionSchedule, Node?
        )
    {
        let keys =
            allowFlagged
            ? ["keep-until", "then", "flagged", "hold", "destroy"]
            : ["keep-until", "then"]
        let map = try mapping(node, what, allowed: keys, required: ["keep-until", "then"])
        let outcomeNode = map["then"] ?? node
        let outcomeText = try string(outcomeNode, "\(what).then", max: 16)
        guard let outcome = Disposition(rawValue: outcomeText) else {
            throw fail(outcomeNode, "\(what).then must be destroy or review")
        }
        let rule = try retentionRule(map["keep-until"] ?? node, "\(what).keep-until")
        return (RetentionSchedule(keepUntil: rule, then: outcome, line: line(node)), map["flagged"])
    }

    mutating func classRules(_ node: Node, _ recordClass: RecordClass) throws(TutelaError)
        -> ClassRules
    {
        let what = "classes.\(recordClass.rawValue)"
        let map = try mapping(
            node, what,
            allowed: ["label", "write", "read", "label-only", "deny", "safeguarding", "retention"],
            required: ["label", "write", "read", "safeguarding", "retention"])
        let label = try string(map["label"] ?? node, "\(what).label", max: 60)
        let write = try roles(map["write"], "\(what).write")
        guard !write.isEmpty else {
            throw fail(map["write"], "\(what).write must name at least one role")
        }
        let read = try subjects(map["read"], "\(what).read")
        let labelOnly = try roles(map["label-only"], "\(what).label-only")
        for r in labelOnly where read.contains(where: { $0.value == .role(r.value) }) {
            throw fail(
                map["label-only"],
                "'\(r.value.rawValue)' both reads \(recordClass.rawValue) records and sees labels only"
            )
        }
        let deny = try subjects(map["deny"], "\(what).deny")

        let sgNode = map["safeguarding"] ?? node
        let sg = try mapping(
            sgNode, "\(what).safeguarding",
            allowed: ["flag", "open-flagged", "break-glass", "withhold-from-copies"],
            required: ["flag", "open-flagged", "withhold-from-copies"])
        var breakGlass: BreakGlassRules?
        if let bgNode = sg["break-glass"] {
            let bg = try mapping(
                bgNode, "\(what).safeguarding.break-glass",
                allowed: ["request", "approvals", "approvers", "lifetime-hours"],
                required: ["request", "approvals", "approvers"])
            // Each approver role's group holds one share of the key: with one approval, one
            // group's share is the whole key, and any of its members could open every record of
            // the class from the vault's files, with no request, approval or audit entry.
            let (approvals, approvers) = try quorum(
                bg, bgNode, "break-glass",
                alone: "would hold the whole key and could open records alone")
            let requesters = try roles(bg["request"], "break-glass request").map(\.value)
            // A requester sees every label of the class, to find the record to ask about.
            for r in requesters where DirectoryRules.neverListing.contains(r) {
                throw fail(
                    bg["request"],
                    "break-glass request must name staff roles: '\(r.rawValue)' may not see "
                        + "other learners' records")
            }
            breakGlass = BreakGlassRules(
                approvals: approvals, approvers: approvers,
                requesters: requesters,
                lifetimeHours: try bg["lifetime-hours"].map { (n) throws(TutelaError) in
                    try integer(n, "break-glass lifetime-hours", range: 1...168)
                } ?? 24,
                line: line(bgNode))
        }
        let safeguarding = SafeguardingRules(
            flag: try subjects(sg["flag"], "\(what).safeguarding.flag"),
            openFlagged: try roles(sg["open-flagged"], "\(what).safeguarding.open-flagged"),
            breakGlass: breakGlass,
            withholdFromCopies: try bool(
                sg["withhold-from-copies"] ?? sgNode, "withhold-from-copies"))

        let retNode = map["retention"] ?? node
        let (schedule, flaggedNode) = try self.schedule(
            retNode, "\(what).retention", allowFlagged: true)
        let retMap = try mapping(
            retNode, "\(what).retention",
            allowed: ["keep-until", "then", "flagged", "hold", "destroy"],
            required: ["flagged", "hold", "destroy"])
        guard let flaggedNode else { throw fail(retNode, "\(what).retention must have 'flagged'") }
        let (flagged, _) = try self.schedule(
            flaggedNode, "\(what).retention.flagged", allowFlagged: false)
        let retention = RetentionRules(
            schedule: schedule, flagged: flagged,
            hold: try roles(retMap["hold"], "\(what).retention.hold"),
            destroy: try roles(retMap["destroy"], "\(what).retention.destroy"))
        return ClassRules(
            recordClass: recordClass, label: label, write: write, read: read, labelOnly: labelOnly,
            deny: deny, safeguarding: safeguarding, retention: retention, line: line(node))
    }

    mutating func policy(_ root: Node) throws(TutelaError) -> Policy {
        let top = try mapping(
            root, "the policy",
            allowed: [
                "policy", "name", "roles", "classes", "audit", "identity-recovery", "directory",
                "timezone", "sessions", "second-factor", "tutorials",
            ],
            required: ["policy", "name", "roles", "classes", "audit"])
        guard try integer(top["policy"] ?? root, "policy (the schema version)", range: 1...1) == 1
        else {
            throw fail(root, "unknown schema version")
        }
        let name = try string(top["name"] ?? root, "name", max: 120)
        let rolesNode = top["roles"] ?? root
        try count(rolesNode)
        guard case .mapping(let roleMap) = rolesNode else {
            throw fail(rolesNode, "roles must map each role to what it means at this centre")
        }
        for (key, value) in roleMap {
            guard case .scalar(let k) = key, let role = Role(rawValue: k.string) else {
                throw fail(
                    key,
                    "unknown role '\(Identifier.printable(key.string ?? "?"))' (roles: "
                        + Role.allCases.map(\.rawValue).joined(separator: ", ") + ")")
            }
            guard declaredRoles[role] == nil else {
                throw fail(key, "role '\(k.string)' is declared twice")
            }
            declaredRoles[role] = try string(value, "the meaning of \(k.string)", max: 200)
        }
        let classesNode = top["classes"] ?? root
        let classMap = try mapping(
            classesNode, "classes", allowed: RecordClass.allCases.map(\.rawValue),
            required: RecordClass.allCases.map(\.rawValue))
        var classes: [RecordClass: ClassRules] = [:]
        for recordClass in RecordClass.allCases {
            if let node = classMap[recordClass.rawValue] {
                classes[recordClass] = try classRules(node, recordClass)
            }
        }
        let auditNode = top["audit"] ?? root
        let audit = try mapping(
            auditNode, "audit", allowed: ["read-all", "read-own", "checkpoint"],
            required: ["read-all", "read-own", "checkpoint"])
        return Policy(
            source: source, name: name, roles: declaredRoles, classes: classes,
            audit: AuditRules(
                readAll: try roles(audit["read-all"], "audit.read-all"),
                readOwn: try roles(audit["read-own"], "audit.read-own"),
                checkpoint: try roles(audit["checkpoint"], "audit.checkpoint")),
            identityRecovery: try top["identity-recovery"].map { (n) throws(TutelaError) in
                try recoveryRules(n)
            },
            directory: try top["directory"].map { (n) throws(TutelaError) in
                try directoryRules(n)
            } ?? DirectoryRules.defaults(declared: declaredRoles),
            timeZone: try top["timezone"].map { (n) throws(TutelaError) in try timeZone(n) }
                ?? Policy.defaultTimeZone,
            sessions: try top["sessions"].map { (n) throws(TutelaError) in try sessionLimits(n) },
            secondFactor: try top["second-factor"].map { (n) throws(TutelaError) in
                try secondFactorRoles(n)
            },
            tutorials: try top["tutorials"].map { (n) throws(TutelaError) in
                try tutorialRules(n)
            } ?? .defaults,
            version: 0)
    }
}
