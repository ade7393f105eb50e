import Foundation
import Testing

@Suite("tutela policy")
struct CLIPolicyTests {
    @Test("policy check prints who can do what to each class, for sign-off")
    func check() throws {
        for name in ["school.yaml", "college.yaml"] {
            let r = try CLI.run(["policy", "check", CLIVault.policyPath(name)])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(
                r.stdout.contains(
                    "confidential-tutorial: envelope reads \"Confidential tutorial – DATE\""))
            #expect(r.stdout.contains("the author (a tutor)"))
            #expect(r.stdout.contains("informal-note"))
            // The recovery quorum is signed off with the rest.
            #expect(
                r.stdout.contains(
                    "Identity recovery after a lost passphrase: 2 approvals by distinct people in "
                        + "different roles among head-of-centre, safeguarding-officer"))
        }
    }

    @Test("identity recovery: a quorum of one, or a family role, is refused with file:line")
    func recoveryQuorum() throws {
        let v = try CLIVault(people: false)
        let shipped = try String(
            contentsOfFile: CLIVault.policyPath("school.yaml"), encoding: .utf8)
        let lines = shipped.components(separatedBy: "\n")
        let at = try #require(lines.firstIndex(of: "identity-recovery:")) + 1
        for (change, words) in [
            ("approvals: 1", "identity-recovery approvals must be at least 2"),
            (
                "approvals: 3",
                "identity-recovery approvals (3) cannot exceed the number of approver roles"
            ),
        ] {
            let file = try v.write(
                "q.yaml",
                shipped.replacingOccurrences(
                    of: "  approvals: 2\n  approvers: [head",
                    with: "  \(change)\n  approvers: [head"))
            let r = try CLI.run(["policy", "check", file])
            #expect(
                r.status == 65 && r.stderr.contains("q.yaml:\(at + 1): \(words)"), "\(r.stderr)")
        }
        let family = try v.write(
            "f.yaml",
            shipped.replacingOccurrences(
                of: "approvers: [head-of-centre, safeguarding-officer]\n  lifetime-hours: 72",
                with: "approvers: [head-of-centre, parent-carer]\n  lifetime-hours: 72"))
        let r = try CLI.run(["policy", "check", family])
        #expect(r.status == 65 && r.stderr.contains("must be staff roles"), "\(r.stderr)")
    }

    @Test("a malformed policy is refused with 65 and file:line")
    func malformed() throws {
        let v = try CLIVault(people: false)
        let shipped = try String(
            contentsOfFile: CLIVault.policyPath("school.yaml"), encoding: .utf8)
        let lines = shipped.components(separatedBy: "\n")
        let rolesLine = try #require(lines.firstIndex(of: "roles:")) + 1
        let file = try v.write(
            "bad.yaml",
            shipped.replacingOccurrences(of: "roles:\n", with: "roles:\n  janitor: sweeps\n"))
        let r = try CLI.run(["policy", "check", file])
        #expect(r.status == 65)
        #expect(
            r.stderr.contains("bad.yaml:\(rolesLine + 1): unknown role 'janitor'"), "\(r.stderr)")
        let applied = try v.run(["policy", "apply", file], as: "office")
        #expect(applied.status == 65)
    }

    @Test("apply, explain and regrant through the command line")
    func applyExplainRegrant() throws {
        let v = try CLIVault()
        let record = try v.seal(confidential: false)
        let explain = try v.run(
            ["policy", "explain", record, "--action", "open", "--json"], as: "hale")
        #expect(explain.status == 0, "\(explain.stderr)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(explain.stdout.utf8)) as? [String: Any])
        #expect(object["decision"] as? String == "deny")
        #expect((object["rule"] as? String)?.contains("labels only") == true)
        let bad = try v.run(["policy", "explain", record, "--action", "peek"], as: "hale")
        #expect(bad.status == 64)
        let apply = try v.run(
            ["policy", "apply", CLIVault.policyPath("college.yaml"), "--json"], as: "office")
        #expect(apply.status == 0, "\(apply.stderr)")
        let applied = try #require(
            try JSONSerialization.jsonObject(with: Data(apply.stdout.utf8)) as? [String: Any])
        #expect(applied["version"] as? Int == 2)
        #expect(
            try v.run(["policy", "apply", CLIVault.policyPath("college.yaml")], as: "price").status
                == 77)
        let regrant = try v.run(["policy", "regrant"], as: "price")
        #expect(regrant.status == 0, "\(regrant.stderr)")
    }

    @Test("informal notes: sealed with 'note seal', opened as their own class")
    func note() throws {
        let v = try CLIVault()
        let file = try v.write(
            "note.yaml",
            "learner: sam\ndate: \"2026-11-21\"\nsummary: Worried about the bus to college\nrecordedOnILR: true\n"
        )
        let sealed = try v.run(["note", "seal", file, "--json"], as: "price")
        #expect(sealed.status == 0, "\(sealed.stderr)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(sealed.stdout.utf8)) as? [String: Any])
        #expect(object["label"] as? String == "Informal support note – 2026-11-21")
        let record = try #require(object["record"] as? String)
        let opened = try v.run(["tutorial", "open", record], as: "price")
        #expect(opened.stdout.contains("Worried about the bus"))
        #expect(try v.run(["tutorial", "open", record], as: "hale").status == 77)
    }
}
