import Foundation
import Testing

/// Issue 20 from the command line: groups made by their members' first command, copies for a
/// family that say nothing of what was left out, caseloads moved, and a revocation that would
/// leave a record unreadable shown first and confirmed.
@Suite("tutela: copies, caseloads and confirmations")
struct CLICaseloadTests {
    @Test(
        "a term's chores: groups without a hidden step, a family copy, a caseload moved, a leaver")
    func journey() throws {
        // The vault before its groups exist: the head of centre is enrolled here.
        let v = try CLIVault(groups: false)
        for (id, role) in [("head", "head-of-centre"), ("pat", "parent-carer"), ("sam", "learner")]
        {
            let r = try v.run(
                ["principal", "add", id, "--name", id, "--role", role], as: "office",
                newPassphrase: id)
            #expect(r.status == 0, "\(r.stderr)")
        }
        #expect(
            try v.run(["learner", "contacts", "sam", "--parent", "pat"], as: "office").status == 0)
        // No 'group create': each group's first member's first command makes its key.
        let dsl = try v.run(["inbox"], as: "dsl")
        #expect(
            dsl.stderr.contains("Made the safeguarding-officer group's first key"), "\(dsl.stderr)")
        #expect(
            try v.run(["inbox"], as: "head").stderr.contains("head-of-centre group's first key"))
        let flagged = try v.seal(marker: "worrying")
        #expect(
            try v.run(["safeguarding", "flag", flagged, "--reason", "CPOMS 1"], as: "price").status
                == 0)
        // A tutor's copy for the family: the tutor must say who it is for, is told privately what
        // was left out, and the copy itself says nothing of it.
        #expect(try v.run(["records", "export", "--learner", "sam"], as: "price").status == 64)
        let copy = try v.run(
            ["records", "export", "--learner", "sam", "--for", "parents-carers"], as: "price")
        #expect(copy.status == 0, "\(copy.stderr)")
        #expect(!copy.stdout.contains(flagged) && !copy.stdout.contains("withheld"))
        #expect(copy.stderr.contains(flagged) && copy.stderr.contains("flagged"))
        // The parent and the learner: nothing anywhere says the record exists.
        for who in ["pat", "sam"] {
            let own = try v.run(["records", "export", "--learner", "sam"], as: who)
            #expect(own.status == 0 && !own.stdout.contains(flagged) && own.stderr.isEmpty)
            let list = try v.run(["records", "list"], as: who)
            #expect(!list.stdout.contains(flagged) && !list.stderr.contains(flagged))
            let open = try v.run(["tutorial", "open", flagged], as: who)
            #expect(open.status == 66 && open.stderr.contains("there is no record \(flagged)"))
            #expect(!open.stderr.contains("flag"))
            #expect(try v.run(["safeguarding", "queue"], as: who).status == 77)
        }
        // Jones leaves: Jones's confidential tutorial about Alex (no login) would have no reader.
        let about = try v.write("alex.json", CLIVault.form(marker: "alex", learner: "alex"))
        #expect(
            try v.run(
                ["learner", "add", "alex", "--name", "Alex", "--tutor", "jones"], as: "office"
            ).status == 0)
        let sealed = try v.run(["tutorial", "seal", about, "--confidential"], as: "jones")
        #expect(sealed.status == 0, "\(sealed.stderr)")
        let refused = try v.run(["principal", "revoke", "jones"], as: "office")
        #expect(refused.status == 64 && refused.stderr.contains("no one who can read them"))
        #expect(refused.stderr.contains("--confirm"))
        // The caseload moves; a confidential tutorial is still the author's and the learner's
        // alone, so the revocation still needs confirming.
        let moved = try v.run(
            ["learner", "reassign", "--from", "jones", "--tutor", "price"], as: "office")
        #expect(
            moved.status == 0 && moved.stdout.contains("Moved alex to price"), "\(moved.stderr)")
        #expect(try v.run(["principal", "revoke", "jones"], as: "office").status == 64)
        #expect(try v.run(["principal", "revoke", "jones", "--confirm"], as: "office").status == 0)
        #expect(try v.run(["policy", "regrant", "--pending"], as: "office").status == 0)
        #expect(try v.run(["audit", "verify"]).status == 0)
    }
}
