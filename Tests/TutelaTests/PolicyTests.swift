import Foundation
import Testing

@testable import Tutela

@Suite("Policy files")
struct PolicyTests {
    static let shipped = ["school.yaml", "college.yaml"]

    func parse(_ text: String, source: String = "test.yaml") throws -> Policy {
        try Policy.parse(Array(text.utf8), source: source)
    }

    @Test("the shipped policies parse and define every class", arguments: shipped)
    func shippedParse(name: String) throws {
        let (text, source) = try Fixture.shippedPolicy(name)
        let policy = try Policy.parse(text, source: source)
        #expect(Set(policy.classes.keys) == Set(RecordClass.allCases))
        #expect(policy.classes[.confidentialTutorial]?.safeguarding.breakGlass?.lifetimeHours == 24)
        #expect(policy.classes[.tutorial]?.retention.flagged.then == .review)
    }

    /// An independent, deliberately plain reading of what a shipped policy means, to check the
    /// decision point against: who may open each class of record.
    static func expectedOpen(
        _ file: String, _ recordClass: RecordClass, _ who: String, flagged: Bool
    ) -> Bool {
        let family: Set = ["the learner", "their parent/carer (copy agreed)"]
        if flagged && family.contains(who) { return false }  // withhold-from-copies in both files
        switch (file, recordClass) {
        case (_, .confidentialTutorial):
            return ["the author (a tutor)", "the learner"].contains(who)
        case ("school.yaml", .tutorial):
            return [
                "the author (a tutor)", "the assigned tutor", "the learner",
                "their parent/carer (copy agreed)",
            ]
            .contains(who)
        case ("college.yaml", .tutorial):
            return [
                "the author (a tutor)", "the assigned tutor", "the learner",
                "their parent/carer (copy agreed)",
                "their home school (copy agreed)", "their work-based provider (copy agreed)",
            ].contains(who)
        case ("school.yaml", .informalNote):
            return ["the author (a tutor)", "the assigned tutor", "any ilr-officer"].contains(who)
        case ("college.yaml", .informalNote):
            return [
                "the author (a tutor)", "the assigned tutor", "any ilr-officer",
                "their home school (copy agreed)",
            ].contains(who)
        default:
            return false
        }
    }

    @Test(
        "decision table: every person × class × state × action of the shipped policies",
        arguments: shipped)
    func decisionTable(file: String) throws {
        let (text, source) = try Fixture.shippedPolicy(file)
        let policy = try Policy.parse(text, source: source).published(as: 1)
        var checked = 0
        for recordClass in RecordClass.allCases {
            let (people, label, directory) = policy.signOffWorld(recordClass)
            let rules = try #require(policy.classes[recordClass])
            for person in people {
                let p = person.principal
                for flagged in [false, true] {
                    for held in [false, true] {
                        for destroyed in [false, true] {
                            let state = RecordState(
                                flagged: flagged, held: held, destroyed: destroyed)
                            for action in PolicyAction.allCases where action != .seal {
                                let d = policy.decide(
                                    action, actor: p, label: label, state: state,
                                    directory: directory)
                                let expected: Bool
                                switch action {
                                case .open:
                                    expected =
                                        !destroyed
                                        && Self.expectedOpen(
                                            file, recordClass, person.description, flagged: flagged)
                                case .viewLabel:
                                    // A learner or parent never sees a flagged record's label.
                                    expected =
                                        Self.expectedOpen(
                                            file, recordClass, person.description,
                                            flagged: flagged)
                                        || [.recordKeeper, .headOfCentre, .admin, .ilrOfficer]
                                            .contains(where: p.has)
                                        // Officers find labels to ask for break-glass, and
                                        // see flagged ones to disclose them.
                                        || ((flagged || rules.safeguarding.breakGlass != nil)
                                            && p.has(.safeguardingOfficer))
                                case .disclose:
                                    expected = !destroyed && flagged && p.has(.safeguardingOfficer)
                                case .flag:
                                    let flaggers: Set<String> =
                                        recordClass == .confidentialTutorial
                                        ? ["the author (a tutor)"]
                                        : ["the author (a tutor)", "the assigned tutor"]
                                    expected =
                                        !destroyed && !flagged
                                        && flaggers.contains(person.description)
                                case .breakGlassRequest:
                                    expected =
                                        !destroyed && !flagged
                                        && rules.safeguarding.breakGlass != nil
                                        && p.has(.safeguardingOfficer)
                                case .breakGlassApprove:
                                    expected =
                                        !destroyed
                                        && (rules.safeguarding.breakGlass?.approvers.contains(
                                            where: p.has) ?? false)
                                case .hold:
                                    expected = !destroyed && !held && p.has(.recordKeeper)
                                case .release:
                                    expected = !destroyed && held && p.has(.recordKeeper)
                                case .destroy:
                                    expected = !destroyed && !held && p.has(.recordKeeper)
                                case .agreeDestroy:
                                    expected =
                                        !destroyed && !held
                                        && (p.has(.recordKeeper) || p.has(.headOfCentre))
                                case .auditRead:
                                    expected =
                                        p.has(.recordKeeper) || p.has(.safeguardingOfficer)
                                        || person.description == "the author (a tutor)"
                                case .seal:
                                    expected = false
                                }
                                #expect(
                                    d.allowed == expected,
                                    "\(file) \(recordClass.rawValue) \(person.description) \(action.rawValue) \(state): \(d.rule)"
                                )
                                #expect(!d.rule.isEmpty)
                                checked += 1
                            }
                        }
                    }
                }
                let seal = policy.decideSeal(recordClass, actor: p)
                #expect(seal.allowed == p.has(.tutor), "\(file) \(person.description) seal")
            }
        }
        print("Policy decision table \(file): \(checked) decisions checked")
    }

    @Test("explicit deny wins over an allow", arguments: shipped)
    func denyWins(file: String) throws {
        // A parent-carer who is also given a role that reads confidential tutorials is still refused.
        var text = String(decoding: try Fixture.shippedPolicy(file).text, as: UTF8.self)
        text = text.replacingOccurrences(
            of:
                "    read:\n      - author\n      - learner\n    label-only: [record-keeper, head-of-centre, admin, ilr-officer]",
            with:
                "    read:\n      - author\n      - learner\n      - role: parent-carer\n    label-only: [record-keeper, head-of-centre, admin, ilr-officer]"
        )
        let policy = try parse(text, source: file).published(as: 1)
        let rules = try #require(policy.classes[.confidentialTutorial])
        #expect(rules.read.contains { $0.value == .role(.parentCarer) })
        let (people, label, directory) = policy.signOffWorld(.confidentialTutorial)
        let parent = try #require(people.first { $0.description == "any parent-carer" })
        let d = policy.decide(.open, actor: parent.principal, label: label, directory: directory)
        #expect(!d.allowed)
        #expect(d.rule.contains("explicitly denied"))
    }

    /// A deterministic generator, so a failing property case can be replayed.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test(
        "property: no generated policy lets anyone open a record unless a read rule names them and no deny does"
    )
    func neverReleasesToUnnamed() throws {
        var rng = SplitMix(state: 20_261_129)
        let subjects =
            ["author", "assigned-tutor", "learner"] + Role.allCases.map { "{role: \($0.rawValue)}" }
            + CopyKind.allCases.map { "{copies: [\($0.rawValue)]}" }
        var decisions = 0
        for _ in 0..<200 {
            func pick(_ n: Int) -> [String] {
                Array(subjects.shuffled(using: &rng).prefix(Int.random(in: 0...n, using: &rng)))
            }
            func roles(_ n: Int) -> [String] {
                Array(
                    Role.allCases.map(\.rawValue).shuffled(using: &rng).prefix(
                        Int.random(in: 0...n, using: &rng)))
            }
            let read = pick(5)
            let deny = pick(3)
            let labelOnly = roles(3).filter { r in !read.contains("{role: \(r)}") }
            func list(_ xs: [String]) -> String { "[" + xs.joined(separator: ", ") + "]" }
            var classes = ""
            for c in RecordClass.allCases {
                classes += """
                      \(c.rawValue):
                        label: "X"
                        write: [tutor]
                        read: \(list(read))
                        label-only: \(list(labelOnly))
                        deny: \(list(deny))
                        safeguarding:
                          flag: [author]
                          open-flagged: \(list(roles(2)))
                          withhold-from-copies: \(Bool.random(using: &rng))
                        retention:
                          keep-until: "created + 1 years"
                          then: destroy
                          flagged: {keep-until: "dob + 25 years", then: review}
                          hold: [record-keeper]
                          destroy: [record-keeper]

                    """
            }
            let yaml = """
                policy: 1
                name: generated
                roles: {\(Role.allCases.map { "\($0.rawValue): x" }.joined(separator: ", "))}
                classes:
                \(classes)audit: {read-all: [], read-own: [], checkpoint: []}
                """
            let policy = try parse(yaml).published(as: 1)
            for recordClass in RecordClass.allCases {
                let (people, label, directory) = policy.signOffWorld(recordClass)
                let rules = try #require(policy.classes[recordClass])
                let recipients = Set(policy.recipients(for: label, directory: directory))
                for person in people {
                    for flagged in [false, true] {
                        let state = RecordState(flagged: flagged)
                        let p = person.principal
                        let d = policy.decide(
                            .open, actor: p, label: label, state: state, directory: directory)
                        let named = rules.read.contains {
                            policy.matches($0.value, actor: p, label: label, directory: directory)
                        }
                        let denied = rules.deny.contains {
                            policy.matches($0.value, actor: p, label: label, directory: directory)
                        }
                        if d.allowed {
                            #expect(
                                named && !denied, "released to \(person.description) in \(yaml)")
                        }
                        if !flagged {
                            #expect(
                                recipients.contains(p.id) == d.allowed,
                                "slot for \(person.description)")
                        }
                        decisions += 1
                    }
                }
            }
        }
        print(
            "Policy property: 200 generated policies, \(decisions) open decisions, none released to an unnamed subject"
        )
    }

    static let malformed: [(String, String, String)] = [
        ("unknown top-level key", "colour: red\n", "unknown key 'colour'"),
        ("unknown role", "roles:\n  janitor: x\n", "unknown role 'janitor'"),
        ("undeclared role", "ROLE_USE: [head-of-centre]", "not declared under roles"),
        ("unknown class", "  homework:\n    label: x\n", "unknown key 'homework'"),
        ("duplicate rule", "READ_DUP", "duplicate rule"),
        ("zero approvals", "approvals: 2", "approvals: 0"),
        ("one approval: one group would hold the whole key", "approvals: 2", "approvals: 1"),
        ("impossible lifetime", "lifetime-hours: 24", "lifetime-hours: 9999"),
        ("absurd retention", "\"dob + 25 years\"", "\"dob + 500 years\""),
        ("bad retention wording", "\"learner-left + 7 years\"", "\"when they leave\""),
        ("bad disposition", "then: destroy", "then: shred"),
        ("wrong schema version", "policy: 1", "policy: 2"),
        ("duplicate key", "name: ", "name: twice\nname: "),
    ]

    @Test("malformed policies are refused with file:line and the problem", arguments: malformed)
    func malformedPolicy(name: String, find: String, replace: String) throws {
        let base = String(decoding: try Fixture.shippedPolicy().text, as: UTF8.self)
        var text: String
        var expected: String
        switch find {
        case "colour: red\n":
            text = base + find
            expected = replace
        case "roles:\n  janitor: x\n":
            text = base.replacingOccurrences(of: "roles:\n", with: "roles:\n  janitor: x\n")
            expected = replace
        case "ROLE_USE: [head-of-centre]":
            text = base.replacingOccurrences(
                of: "  head-of-centre: \"The headteacher and deputy heads\"\n", with: "")
            expected = replace
        case "  homework:\n    label: x\n":
            text = base.replacingOccurrences(of: "classes:\n", with: "classes:\n" + find)
            expected = replace
        case "READ_DUP":
            text = base.replacingOccurrences(
                of: "      - author\n      - learner\n", with: "      - author\n      - author\n")
            expected = replace
        default:
            text = base.replacingOccurrences(of: find, with: replace)
            expected = ""
        }
        #expect(text != base, "\(name): the mutation did not apply")
        do {
            _ = try parse(text, source: "school.yaml")
            Issue.record("\(name): accepted")
        } catch let error as TutelaError {
            #expect(error.kind == .invalidInput)
            #expect(error.message.hasPrefix("school.yaml:"), "\(name): \(error.message)")
            let lineNumber = error.message.split(separator: ":").dropFirst().first.flatMap {
                Int($0)
            }
            #expect(lineNumber != nil, "\(name): no line in \(error.message)")
            if !expected.isEmpty {
                #expect(error.message.contains(expected), "\(name): \(error.message)")
            }
        }
    }

    @Test("hostile policy files: aliases, not YAML, too large, binary")
    func hostile() throws {
        for text in [
            "a: &x [1]\nb: *x\n", "{{{", String(repeating: "a", count: 300_000), "policy: 1\u{0}",
        ] {
            #expect(throws: TutelaError.self) { try parse(text) }
        }
    }
}
