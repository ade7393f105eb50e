import Foundation
import Testing

@testable import Tutela

/// A reason is kept whole wherever it is written, and every reader of it reads it: a reason
/// that fitted the command but not the signed fact or audit entry once made a flagged record,
/// and the log, read as damaged.
@Suite("Long reasons")
struct ReasonLengthTests {
    @Test("the longest reason accepted, in another script, is written, read back and verified")
    func longest() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let label = try await price.seal(Fixture.form(), confidential: false)
        // 2,000 bytes: 500 letters of two bytes and 333 characters of three.
        let reason = String(repeating: "é", count: 500) + String(repeating: "字", count: 333) + "x"
        #expect(reason.utf8.count == 2000)
        _ = try await price.safeguarding.flag(label.record, reason: reason)
        let last = try #require(try await f.store.links(.audit).last)
        #expect(try AuditEntry.parse(last.body, context: "entry").reason == reason)
        #expect(try await f.session("dsl").inbox().first?.entry.reason == reason)
        #expect(
            try await f.session("dsl").safeguarding.disclose(label.record, reason: "check") != nil)
        _ = try await f.session("hale").verifyAudit(checkpoint: nil)
    }

    @Test("a reason over 2,000 bytes — though under 2,000 characters — is refused, writing nothing")
    func tooLong() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let label = try await price.seal(Fixture.form(), confidential: false)
        let before = try await f.store.links(.audit).count
        for reason in [
            String(repeating: "字", count: 1000), String(repeating: "e\u{301}", count: 1001),
        ] {
            #expect(reason.count <= 2000)
            await expectError(.usage) {
                try await price.safeguarding.flag(label.record, reason: reason)
            }
            await expectError(.usage) {
                try await price.corrections.void(label.record, reason: reason)
            }
        }
        #expect(try await f.store.links(.audit).count == before)
        _ = try await f.session("hale").verifyAudit(checkpoint: nil)
    }
}
