/// The directory's statements about learners: recorded, leaving (and its corrections), contacts
/// and tutor. Applied in order by ``Directory/apply(_:signer:isGenesis:time:)``, never in the
/// first statement.
extension Directory {
    mutating func applyLearnerStatement(_ statement: DirectoryStatement) throws(TutelaError) {
        switch statement {
        case .addLearner(let data):
            guard learners[data.id] == nil else {
                throw .exists("learner '\(data.id)' is already recorded")
            }
            try requireDistinct(data.id.text, learner: true)
            if let enrolled = data.enrolled, let born = data.dateOfBirth, enrolled < born {
                throw .invalidInput("learner '\(data.id)' is enrolled before they were born")
            }
            guard let tutor = principals[data.tutor] else {
                throw .notFound("tutor '\(data.tutor)' is not enrolled")
            }
            guard tutor.has(.tutor) else {
                throw .usage("'\(data.tutor)' does not hold the tutor role")
            }
            learnerFolds[data.id.text.lowercased()] = data.id
            learners[data.id] = Learner(
                id: data.id, name: data.name, tutor: data.tutor, dateOfBirth: data.dateOfBirth,
                programme: data.programme, leftOn: nil, enrolled: data.enrolled,
                contacts: LearnerContacts())
        case .learnerLeft(let id, let date):
            guard let learner = learners[id] else {
                throw .notFound("learner '\(id)' is not recorded")
            }
            guard learner.leftOn == nil else {
                throw .exists(
                    "learner '\(id)' already left on \(learner.leftOn?.description ?? "")")
            }
            learners[id] = learner.with(leftOn: date)
        case .correctLeaving(let id, let date, _):
            guard let learner = learners[id] else {
                throw .notFound("learner '\(id)' is not recorded")
            }
            guard let was = learner.leftOn else {
                throw .usage(
                    "learner '\(id)' has no leaving date to correct",
                    hint: "record a leaver with 'tutela learner leave'")
            }
            guard date != was else {
                throw .usage("learner '\(id)' already left on \(was): nothing to correct")
            }
            // New with statement version 6, so checked wherever it is read: a correction to a date
            // before birth or enrolment, signed by a client that skipped the check, would bring
            // every record on a leaving schedule due at once.
            if let date, let problem = learner.leavingProblem(date) { throw .invalidInput(problem) }
            learners[id] = learner.correctingLeaving(to: date)
        case .learnerContacts(let id, let contacts):
            guard let learner = learners[id] else {
                throw .notFound("learner '\(id)' is not recorded")
            }
            guard Set(contacts.parents).count == contacts.parents.count else {
                throw .usage("a parent or carer is listed twice")
            }
            // The statement's reader takes at most this many: a longer list, once signed, would
            // make every later reading of the directory fail.
            guard contacts.parents.count <= DirectoryStatement.maximumParents else {
                throw .usage(
                    "a learner has at most \(DirectoryStatement.maximumParents) parents or carers")
            }
            let links: [(PrincipalID?, Role, String)] =
                contacts.parents.map { ($0, .parentCarer, "parent or carer") }
                + [
                    (contacts.homeSchool, .homeSchool, "home school"),
                    (contacts.provider, .workBasedProvider, "provider"),
                ]
            for case (let id?, let role, let what) in links {
                guard let p = principals[id] else {
                    throw .notFound("\(what) '\(id)' is not enrolled")
                }
                guard p.has(role) else {
                    throw .usage("'\(id)' does not hold the \(role.rawValue) role")
                }
            }
            learners[id] = learner.with(contacts: contacts)
        case .reassign(let id, let tutorID):
            guard let learner = learners[id] else {
                throw .notFound("learner '\(id)' is not recorded")
            }
            guard let tutor = principals[tutorID], tutor.has(.tutor) else {
                throw .usage("'\(tutorID)' is not an enrolled tutor")
            }
            guard learner.tutor != tutorID else {
                throw .usage("\(id)'s tutor is '\(tutorID)' already")
            }
            learners[id] = learner.with(tutor: tutorID)
        default:
            throw .internal("not a statement about a learner")
        }
    }
}
