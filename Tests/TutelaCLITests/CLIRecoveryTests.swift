import Foundation
import Testing

/// A lost passphrase from the command line: an administrator asks, two approvers in different
/// roles approve, and the person finishes with the code and a new passphrase — and still reads
/// their own confidential tutorial.
@Suite("tutela recovery")
struct CLIRecoveryTests {
    @Test("request, approve twice, finish: the person's own records still open")
    func journey() throws {
        let v = try CLIVault()
        // A head of centre, whatever the test vault already has; each group's member makes its key.
        let head = try v.run(
            ["principal", "add", "head", "--name", "Head", "--role", "head-of-centre"],
            as: "office", newPassphrase: "head")
        #expect(head.status == 0 || head.status == 73, "\(head.stderr)")
        for member in ["dsl", "head"] { #expect(try v.run(["inbox"], as: member).status == 0) }
        let record = try v.seal(marker: "only price reads this")
        // Price's keys were split at their command; a tutor cannot ask for a recovery.
        #expect(
            try v.run(["recovery", "request", "price", "--reason", "x"], as: "jones").status == 77)
        let asked = try v.run(
            ["recovery", "request", "price", "--reason", "lost passphrase", "--json"], as: "office")
        #expect(asked.status == 0, "\(asked.stderr)")
        let object =
            try JSONSerialization.jsonObject(with: Data(asked.stdout.utf8)) as? [String: Any]
        let code = try #require(object?["recoveryCode"] as? String)
        let id = try #require(object?["request"] as? String)
        // The approvers see it in their list.
        #expect(try v.run(["recovery", "list"], as: "head").stdout.contains(id))
        #expect(try v.run(["recovery", "approve", id], as: "head").stdout.contains("1 of 2"))
        // Too early: one approval.
        let early = try v.run(
            ["recovery", "finish", "price"], newPassphrase: "price-new",
            environment: ["TUTELA_ENROLMENT_CODE": code])
        #expect(early.status == 77, "\(early.stderr)")
        #expect(try v.run(["recovery", "approve", id], as: "dsl").stdout.contains("2 of 2"))
        let finished = try v.run(
            ["recovery", "finish", "price"], newPassphrase: "price-new",
            environment: ["TUTELA_ENROLMENT_CODE": code])
        #expect(finished.status == 0, "\(finished.stderr)")
        #expect(finished.stdout.contains("Fingerprint"))
        #expect(!finished.stdout.contains(code) && !finished.stderr.contains(code))
        // The old passphrase no longer works; the new one opens Price's own tutorial.
        #expect(try v.run(["tutorial", "open", record], as: "price").status == 77)
        let opened = try v.run(
            ["tutorial", "open", record], as: "price", passphrase: CLIVault.passphrase("price-new"))
        #expect(opened.status == 0, "\(opened.stderr)")
        #expect(opened.stdout.contains("only price reads this"))
        // Price is told of every step.
        let inbox = try v.run(
            ["inbox"], as: "price", passphrase: CLIVault.passphrase("price-new"))
        #expect(
            inbox.stdout.contains("recovery-request") && inbox.stdout.contains("recovery-approve"))
    }
}
