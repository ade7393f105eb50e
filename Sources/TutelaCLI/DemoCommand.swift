import ArgumentParser
import Foundation
import Tutela
import TutelaCrypto
import TutelaSQLite

/// `tutela demo`: the whole story, narrated, on a throwaway vault.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Tell Tutela's story on a throwaway vault.")

    @Option(
        help: "Where to create the demo vault (default: a new temporary directory, removed after).")
    var dir: String?
    @Option(
        help: "The policy to use (default: KeyPolicies/school.yaml, here or beside the program).")
    var policy: String?
    @OptionGroup var output: OutputOptions

    /// The shipped school policy: from --policy, the working directory, or the source tree the
    /// program was built in.
    func policyFile() throws -> (text: [UInt8], source: String) {
        var candidates = [policy].compactMap { $0 }
        if policy == nil {
            candidates.append("KeyPolicies/school.yaml")
            var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
                .deletingLastPathComponent()
            for _ in 0..<5 {
                candidates.append(dir.appendingPathComponent("KeyPolicies/school.yaml").path)
                dir = dir.deletingLastPathComponent()
            }
        }
        for path in candidates {
            if let data = FileManager.default.contents(atPath: path) {
                return ([UInt8](data), URL(fileURLWithPath: path).lastPathComponent)
            }
        }
        throw TutelaError(
            .notFound, "cannot find the school policy (KeyPolicies/school.yaml)",
            hint: "run the demo from the Tutela source folder, or pass --policy FILE")
    }

    func run() async throws {
        let fm = FileManager.default
        let base: URL
        let removeAfter: Bool
        if let dir {
            base = URL(fileURLWithPath: dir)
            removeAfter = false
        } else {
            base = fm.temporaryDirectory.appendingPathComponent("tutela-demo-\(UUID().uuidString)")
            removeAfter = true
        }
        defer { if removeAfter { try? fm.removeItem(at: base) } }
        let vaultURL = base.appendingPathComponent("vault")
        // With --json the story is told as one document at the end: each step and its lines.
        let story = Story(json: output.json)
        func say(_ text: String) { story.say(text) }
        func step(_ text: String) { story.step(text) }
        let pass = { (who: String) in try Passphrase("demo passphrase for \(who)") }

        say("Tutela demo: a confidential tutorial, sealed like a paper envelope, opened only by")
        say("the people the policy names. Throwaway vault: \(vaultURL.path)")

        step("The centre office creates the vault, its authority and its signed access policy")
        let shippedPolicy = try policyFile()
        let store = try SQLiteVaultStore(directory: vaultURL, create: true)
        let authority = try await Vault.create(
            store: store, authorityID: try PrincipalID("office"), authorityName: "Centre office",
            passphrase: pass("office"), kdf: .interactive, policy: shippedPolicy)
        let vault = Vault(store: store)
        say("Authority 'office' fingerprint \(authority.fingerprint) — written down, kept outside.")
        say(
            "Policy v1 is KeyPolicies/school.yaml, signed off by the safeguarding lead. Who may open a"
        )
        say("confidential tutorial, by the policy's own decision point:")
        if let section = try Policy.parse(shippedPolicy.text, source: shippedPolicy.source)
            .signOffTable()
            .first(where: { $0.recordClass == .confidentialTutorial })
        {
            let rows = section.rows.map { [$0[0], $0[1]] }
            say(
                Table.render(header: ["WHO", "OPEN"], rows: rows).split(separator: "\n").map {
                    "  " + $0
                }.joined(separator: "\n"))
        }

        step(
            "Enrolment: an administrator invites each person with a one-time code; each makes their "
                + "own keys with it, sealed under their own passphrase")
        let office = try await vault.unlock(try PrincipalID("office"), passphrase: pass("office"))
        let people: [(String, String, [Role])] = [
            ("price", "Mr Price", [.tutor]), ("jones", "Ms Jones", [.tutor]),
            ("hale", "Mrs Hale", [.recordKeeper]), ("sam", "Sam Taylor", [.learner]),
            ("khan", "Mrs Khan (DSL)", [.safeguardingOfficer]),
            ("lewis", "Dr Lewis (head)", [.headOfCentre]),
        ]
        for (id, name, roles) in people {
            let code = try await office.administration.invite(
                try PrincipalID(id), name: name, roles: roles)
            // In a school, the code goes to the person on paper; they activate on their own device.
            let identity = try await vault.activate(
                try PrincipalID(id), code: code.text, passphrase: pass(id))
            code.text.wipe()
            say(
                "  \(id) (\(name)), \(roles.map(\.rawValue).joined(separator: ", ")): \(identity.fingerprint)"
            )
        }
        try await office.administration.addLearner(
            try LearnerID("sam"), name: "Sam Taylor", tutor: try PrincipalID("price"),
            dateOfBirth: CalendarDate("2010-03-14"),
            programme: "Young Apprenticeship")
        say("  learner sam (Young Apprenticeship), assigned tutor: price")
        // Each group's key is made by its first member, in their own session: never by the office.
        for (id, role) in [("khan", Role.safeguardingOfficer), ("lewis", .headOfCentre)] {
            let member = try await vault.unlock(try PrincipalID(id), passphrase: pass(id))
            try await member.lifecycle.createGroupKey(role)
        }
        say("  group keys for the safeguarding team and the heads of centre, made by their members")

        step("Mr Price writes up a tutorial; Sam asks for it to stay totally confidential")
        let form = try ProgressReview.parse(Array(Self.form.utf8), source: "demo form")
        let price = try await vault.unlock(try PrincipalID("price"), passphrase: pass("price"))
        let label = try await price.seal(form, confidential: true)
        say("Sealed \(label.record). On the envelope: \"\(label.envelopeText)\".")

        step("Mr Price opens it")
        let opened = try await price.open(label.record)
        try await price.settle()
        say(
            FormText.render(opened).split(separator: "\n").prefix(8).map { "  " + $0 }.joined(
                separator: "\n"))
        say("  …")

        step("Mrs Hale, the record keeper, sees the label — and only the label")
        let hale = try await vault.unlock(try PrincipalID("hale"), passphrase: pass("hale"))
        for l in try await hale.labels(learner: nil) {
            say("  \(l.record)  \(l.envelopeText)  learner \(l.learner)  by \(l.author)")
        }
        do {
            _ = try await hale.open(label.record)
            say("  (unexpected: the record keeper could open it)")
        } catch let error as TutelaError {
            say("  She tries to open it: refused (\(error.kind.exitCode)) — \(error.message)")
        }

        step("Ms Jones, another tutor, tries to open it")
        let jones = try await vault.unlock(try PrincipalID("jones"), passphrase: pass("jones"))
        do {
            _ = try await jones.open(label.record)
            say("  (unexpected: another tutor could open it)")
        } catch let error as TutelaError {
            say("  Refused (\(error.kind.exitCode)) — \(error.message)")
        }

        step("Sam, the learner, opens their own record")
        let sam = try await vault.unlock(try PrincipalID("sam"), passphrase: pass("sam"))
        let samCopy = try await sam.open(label.record)
        try await sam.settle()
        say(
            "  Sam reads the tutorial of \(samCopy.label.tutorialDate) about \(samCopy.form?.course ?? "?")."
        )

        step("Mr Price corrects a detail without rewriting the record: a signed addendum")
        let addendum = try await price.corrections.addendum(
            to: label.record, text: "Absences were 4, not 3: one was recorded after the review.")
        let withAddendum = try await price.open(label.record)
        try await price.settle()
        say(
            "  Sealed \(addendum.record) (\"\(addendum.envelopeText)\"), read by the same people; "
                + "opening \(label.record) now lists "
                + (withAddendum.addenda.count == 1
                    ? "it." : "\(withAddendum.addenda.count) addenda."))

        step("Something Sam said comes under the Safeguarding Policy: Mr Price flags the record")
        try await price.safeguarding.flag(label.record, reason: "concern logged, CPOMS ref 4411")
        let khan = try await vault.unlock(try PrincipalID("khan"), passphrase: pass("khan"))
        for item in try await khan.safeguarding.queue() {
            say(
                "  Mrs Khan's queue: \(item.label.record) \(item.label.envelopeText), flagged by \(item.flag.flaggedBy)"
            )
        }
        do {
            _ = try await khan.safeguarding.disclose(label.record, reason: "")
        } catch let error as TutelaError {
            say(
                "  Opening it without a reason: refused (\(error.kind.exitCode)) — \(error.message)"
            )
        }
        let disclosed = try await khan.safeguarding.disclose(
            label.record, reason: "following up CPOMS 4411")
        try await khan.settle()
        say(
            "  With a reason, she opens it (\(disclosed.form?.course ?? "?")); the audit entry came first."
        )
        let lewis = try await vault.unlock(try PrincipalID("lewis"), passphrase: pass("lewis"))
        for notice in try await lewis.inbox() where notice.entry.action == .disclose {
            say(
                "  Dr Lewis's inbox: \(notice.entry.actor) opened \(notice.entry.subject ?? "?") — \(notice.entry.reason ?? "")"
            )
        }
        let review = try await lewis.safeguarding.reviews().filter { $0.outcome == nil }
        say("  \(review.count) opening(s) wait for Dr Lewis's review after the fact.")

        step("Every step is on the audit log: signed by whoever acted, hash-chained, no contents")
        let log = try await hale.auditLog(record: label.record)
        for item in log {
            let e = item.entry
            say(
                "  #\(item.sequence) \(Timestamp.iso(e.time)) \(e.actor) \(e.action.rawValue) \(e.outcome.rawValue)"
            )
        }
        let report = try await vault.verifyAudit(checkpoint: nil)
        say("  audit verify: \(report.entries) entries, every hash and signature checks out.")
        say(
            removeAfter
                ? "The throwaway vault is removed now." : "The vault stays at \(vaultURL.path).")
        if output.json {
            try Terminal.json(
                DemoJSON(
                    vault: vaultURL.path, kept: !removeAfter, record: label.record.text,
                    addendum: addendum.record.text, auditEntries: report.entries,
                    steps: story.steps))
        }
    }

    /// What `demo --json` prints.
    struct DemoJSON: Encodable {
        let vault: String
        let kept: Bool
        let record: String
        let addendum: String
        let auditEntries: Int64
        let steps: [Story.Step]
    }

    /// The demo's narration: printed as it goes, or kept for one JSON document.
    final class Story {
        struct Step: Encodable {
            let step: String
            var lines: [String]
        }

        let json: Bool
        private(set) var steps: [Step] = [Step(step: "Tutela demo", lines: [])]

        init(json: Bool) { self.json = json }

        func say(_ text: String) {
            if json {
                steps[steps.count - 1].lines += text.split(separator: "\n").map(String.init)
            } else {
                Terminal.out(text)
            }
        }

        func step(_ text: String) {
            if json {
                steps.append(Step(step: text, lines: []))
            } else {
                Terminal.out("\n== " + text)
            }
        }
    }

    static let form = """
        {
          "learner": "sam",
          "date": "2026-11-20",
          "course": "Level 2 Diploma in Construction",
          "school": "Hereford Academy",
          "formTutor": "Mr Price",
          "yearOfCourse": 1,
          "attendance": { "lessons": 40, "absences": 3 },
          "punctuality": "good",
          "workingTowards": "Level 2 Merit",
          "onTarget": true,
          "comments": "Good progress on the brickwork unit; portfolio behind.",
          "learnerComments": "Finding the evening job hard to balance with coursework.",
          "tutorComments": "Agreed a plan for the portfolio; check in weekly.",
          "previousTargetsMet": false,
          "previousTargetsNote": "Unit 2 evidence not yet photographed.",
          "targets": [ { "target": "Hand in unit 3 portfolio", "byWhen": "2027-01-15" } ],
          "agreedActions": [ "Weekly ten-minute check-in" ],
          "nextTutorial": "2027-01-10",
          "copiesTo": [ "learner" ],
          "signedByLearner": "2026-11-20",
          "signedByTutor": "2026-11-20"
        }
        """
}
