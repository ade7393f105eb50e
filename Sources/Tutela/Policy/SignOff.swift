import TutelaCrypto

/// One class's part of the sign-off table.
public struct SignOffSection: Sendable {
    /// The class this section describes.
    public let recordClass: RecordClass
    /// Lines describing the class: label text, break-glass, retention.
    public let title: [String]
    /// The column headings: `WHO`, then one per action.
    public let header: [String]
    /// One row per person: who they are, then `yes` or `—` under each action.
    public let rows: [[String]]
}

/// The people a sign-off table asks about: relations to a record, then one person per declared role
/// with no relation to it.
public struct SignOffPerson: Sendable {
    /// Who they are, in words: "the assigned tutor", "any record-keeper" and so on.
    public let description: String
    let principal: Principal
}

extension Policy {
    /// The actions shown in the sign-off table, with the record state each is asked in.
    static let signOffColumns: [(String, PolicyAction, RecordState)] = [
        ("open", .open, RecordState()),
        ("open if flagged", .open, RecordState(flagged: true)),
        ("see label", .viewLabel, RecordState()),
        ("write", .seal, RecordState()),
        ("flag", .flag, RecordState()),
        ("disclose flagged", .disclose, RecordState(flagged: true)),
        ("break-glass", .breakGlassRequest, RecordState()),
        ("approve", .breakGlassApprove, RecordState()),
        ("hold", .hold, RecordState()),
        ("destroy", .destroy, RecordState()),
        ("audit", .auditRead, RecordState()),
    ]

    /// Representative people and the directory and label they are asked about. Every copy the form
    /// allows is agreed on the label, so copy rules show.
    func signOffWorld(_ recordClass: RecordClass) -> (
        people: [SignOffPerson], label: Label, directory: Directory
    ) {
        // Zero keys: these principals only ever meet the decision point, never cryptography.
        let zero = [UInt8](repeating: 0, count: 32)
        guard let signing = try? SigningPublicKey(bytes: zero),
            let agreement = try? KeyAgreementPublicKey(bytes: zero)
        else { preconditionFailure("32 bytes is a valid key length") }
        func person(_ id: String, _ roles: [Role]) -> Principal {
            Principal(
                id: PrincipalID(known: id), name: id, roles: roles,
                identity: PublicIdentity(signingKey: signing, agreementKey: agreement),
                isAuthority: false, enrolledBy: PrincipalID(constant: "policy-check"))
        }
        var people: [SignOffPerson] = [
            SignOffPerson(
                description: "the author (a tutor)", principal: person("author", [.tutor])),
            SignOffPerson(description: "the assigned tutor", principal: person("tutor", [.tutor])),
            SignOffPerson(description: "the learner", principal: person("learner", [.learner])),
        ]
        let related: [(Role, String, String)] = [
            (.parentCarer, "their parent/carer (copy agreed)", "parent"),
            (.homeSchool, "their home school (copy agreed)", "school"),
            (.workBasedProvider, "their work-based provider (copy agreed)", "provider"),
        ]
        for (role, description, id) in related where roles[role] != nil {
            people.append(SignOffPerson(description: description, principal: person(id, [role])))
        }
        for role in Role.allCases where roles[role] != nil {
            people.append(
                SignOffPerson(
                    description: "any \(role.rawValue)",
                    principal: person("any-\(role.rawValue)", [role])))
        }
        var directory = Directory.synthetic(
            principals: people.map(\.principal),
            learner: Learner(
                id: LearnerID(constant: "learner"), name: "learner",
                tutor: PrincipalID(constant: "tutor"),
                dateOfBirth: nil, programme: nil,
                leftOn: nil, enrolled: nil,
                contacts: LearnerContacts(
                    parents: [PrincipalID(constant: "parent")],
                    homeSchool: PrincipalID(constant: "school"),
                    provider: PrincipalID(constant: "provider"))))
        directory = directory.with(policy: self)
        let label = Label(
            record: RecordID(constant: "R-0000-0000-0000"), recordClass: recordClass,
            learner: LearnerID(constant: "learner"),
            author: PrincipalID(constant: "author"),
            created: CalendarDate(year: 2026, month: 1, day: 1),
            tutorialDate: CalendarDate(year: 2026, month: 1, day: 1),
            policyVersion: "\(version)", copies: CopyKind.allCases,
            wording: classes[recordClass]?.label ?? recordClass.rawValue, sealedUnder: 1)
        return (people, label, directory)
    }

    /// Who can do what to each class, asked of ``decide(_:actor:label:state:directory:)`` itself.
    public func signOffTable() -> [SignOffSection] {
        RecordClass.allCases.compactMap { recordClass in
            guard let rules = classes[recordClass] else { return nil }
            let (people, label, directory) = signOffWorld(recordClass)
            var title = ["\(recordClass.rawValue): envelope reads \"\(rules.label) – DATE\""]
            if let bg = rules.safeguarding.breakGlass {
                title.append(
                    "  break-glass: requested by "
                        + bg.requesters.map(\.rawValue).joined(separator: " or ")
                        + "; \(bg.approvals) approval(s) by distinct people in different roles among "
                        + bg.approvers.map(\.rawValue).joined(separator: ", ")
                        + ", never the requester; a request lasts \(bg.lifetimeHours) hours")
            } else {
                title.append("  break-glass: none")
            }
            title.append(
                "  keep until \(rules.retention.schedule.keepUntil), then \(rules.retention.schedule.then.rawValue)"
            )
            title.append(
                "  if flagged: keep until \(rules.retention.flagged.keepUntil), then \(rules.retention.flagged.then.rawValue)"
                    + (rules.safeguarding.withholdFromCopies
                        ? "; learner and parent copies leave it out" : ""))
            let rows = people.map { person in
                [person.description]
                    + Self.signOffColumns.map { _, action, state in
                        let d =
                            action == .seal
                            ? decideSeal(recordClass, actor: person.principal)
                            : decide(
                                action, actor: person.principal, label: label, state: state,
                                directory: directory)
                        return d.allowed ? "yes" : "—"
                    }
            }
            return SignOffSection(
                recordClass: recordClass, title: title,
                header: ["WHO"] + Self.signOffColumns.map(\.0), rows: rows)
        }
    }
}
