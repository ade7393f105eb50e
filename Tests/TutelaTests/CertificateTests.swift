import Foundation
import Testing

@testable import Tutela

/// Destruction certificates kept as signed facts: listed, printed again and verified, naming the
/// label and learner as well as the hashes (issue 20).
@Suite("Destruction certificates")
struct CertificateTests {
    @Test("a certificate is listed and printed again with its label and learner, verified")
    func listAndPrint() async throws {
        let r = RetentionTests()
        let (f, label) = try await r.fixture()
        try await r.propose(f, label.record, on: "2035-06-01")
        let keeper = try await r.session(f, "hale", on: "2035-06-01")
        guard case .destroyed = try await keeper.retention.destroy(label.record) else {
            Issue.record("not destroyed")
            return
        }
        let listed = try await keeper.retention.certificates()
        #expect(listed.map(\.certificate.record) == [label.record])
        let one = try await keeper.retention.certificate(label.record)
        #expect(one.label == label && one.learnerName == "Sam Taylor")
        #expect(one.text.contains("label: \(label.envelopeText)"))
        #expect(one.text.contains("learner: sam (Sam Taylor)"))
        #expect(
            one.text.contains("authorised-by: hale") && one.text.contains("proposed-by: keeper2"))
        // The office (labels only) sees it too; a tutor, who could open the record, sees its label.
        let later = { (who: PrincipalID) in try await r.session(f, who, on: "2035-06-02") }
        #expect(try await later("office").retention.certificates().count == 1)
        // A learner is told nothing: no list, and "no record" for the id.
        #expect(try await later("sam").retention.certificates().isEmpty)
        let hidden = await expectError(.notFound) {
            try await later("sam").retention.certificate(label.record)
        }
        #expect(hidden?.message == "there is no record \(label.record)")
        // A record never destroyed has no certificate.
        let kept = try await later("price").seal(Fixture.form(), confidential: false)
        await expectError(.notFound) { try await keeper.retention.certificate(kept.record) }
    }

    @Test("a kept label edited after destruction, or a certificate edited, is tampering (65)")
    func tampering() async throws {
        let r = RetentionTests()
        let (f, label) = try await r.fixture()
        try await r.propose(f, label.record, on: "2035-06-01")
        let keeper = try await r.session(f, "hale", on: "2035-06-01")
        _ = try await keeper.retention.destroy(label.record)
        // The certificate's signed body, one byte changed.
        await f.store.tamper(object: FactKind.tombstone.rawValue, id: label.record.text) { body in
            var b = body
            b[b.count - 70] ^= 1
            return b
        }
        await expectError(.tampered) { try await keeper.retention.certificate(label.record) }
        await expectError(.tampered) { try await keeper.retention.certificates() }
    }
}
