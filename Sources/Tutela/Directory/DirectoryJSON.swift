/// The JSON shapes of the directory's lists and changes, shared by the command line's `--json`
/// and the server's answers so that the two cannot drift.

/// One person of `principal list --json` and `GET /api/v1/principals`.
public struct PersonJSON: Encodable, Sendable {
    public let id: String
    public let name: String
    public let roles: [String]
    public let standing: String

    public init(_ person: ListedPerson) {
        id = person.id.text
        name = person.name
        roles = person.roles.map(\.rawValue)
        standing = person.standing.rawValue
    }
}

/// One learner of `learner list --json` and `GET /api/v1/learners`.
public struct LearnerJSON: Encodable, Sendable {
    public let id: String
    public let name: String
    public let tutor: String
    public let tutorName: String?
    public let programme: String?
    public let left: String?

    /// `learner`, with their tutor's name as `directory` knows it.
    public init(_ learner: Learner, in directory: Directory) {
        id = learner.id.text
        name = learner.name
        tutor = learner.tutor.text
        tutorName = directory.principals[learner.tutor]?.name
        programme = learner.programme
        left = learner.leftOn?.description
    }
}

/// The answer to `learner contacts --json` and `POST /api/v1/learners/{id}/contacts`.
public struct ContactsJSON: Encodable, Sendable {
    public let learner: String
    public let parents: [String]
    public let homeSchool: String
    public let provider: String

    public init(_ learner: LearnerID, _ contacts: LearnerContacts) {
        self.learner = learner.text
        parents = contacts.parents.map(\.text)
        homeSchool = contacts.homeSchool?.text ?? ""
        provider = contacts.provider?.text ?? ""
    }
}

/// The answer to `learner reassign --json` and `POST /api/v1/learners/reassign`.
public struct ReassignedJSON: Encodable, Sendable {
    public let tutor: String
    public let moved: [String]

    public init(tutor: PrincipalID, moved: [LearnerID]) {
        self.tutor = tutor.text
        self.moved = moved.map(\.text)
    }
}

/// The answer to `learner correct-leaving --json` and its route: `left` is the corrected date,
/// or `false` when the learner has not left after all.
public struct LeavingCorrectedJSON: Encodable, Sendable {
    public let learner: String
    public let left: String?

    public init(_ learner: LearnerID, left: CalendarDate?) {
        self.learner = learner.text
        self.left = left?.description
    }

    enum CodingKeys: CodingKey { case learner, left }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(learner, forKey: .learner)
        if let left {
            try container.encode(left, forKey: .left)
        } else {
            try container.encode(false, forKey: .left)
        }
    }
}

/// The answer to `principal passphrase --json` and `POST /api/v1/session/passphrase`.
public struct PassphraseChangedJSON: Encodable, Sendable {
    public let principal: String
    public let passphraseChanged = true
    /// The group keys made anew because the old key opened them.
    public let newGroupKeys: [String]

    public init(_ principal: PrincipalID, newGroupKeys: [GroupKey]) {
        self.principal = principal.text
        self.newGroupKeys = newGroupKeys.map { "\($0.holder)" }
    }
}
