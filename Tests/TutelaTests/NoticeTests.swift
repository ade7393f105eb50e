import Foundation
import Testing

@testable import Tutela

/// Notices that reach the right person (#21 item 5), and the officers' queue that closes.
@Suite("Notices and the queue")
struct NoticeTests {
    func actions(_ session: Session) async throws -> [AuditEntry.Action] {
        try await session.inbox().map(\.entry.action)
    }

    @Test("a flag reaches the officers; an opening of a tutee's record reaches the tutor")
    func flagAndDisclosure() async throws {
        let f = try await Fixture.make()
        // Price writes about Alex, whose tutor is Jones, and flags it.
        let label = try await f.session("price").seal(
            Fixture.form(learner: "alex"), confidential: false)
        _ = try await f.session("price").safeguarding.flag(label.record, reason: "CPOMS 9001")
        #expect(try await actions(f.session("dsl")).contains(.flag))
        #expect(try await !actions(f.session("jones")).contains(.flag))
        let dsl = try f.session("dsl")
        _ = try await dsl.safeguarding.disclose(label.record, reason: "strategy meeting")
        // Told: the heads, the author and Alex's tutor; never a learner.
        for who: PrincipalID in ["head", "price", "jones"] {
            #expect(try await actions(f.session(who)).contains(.disclose), "\(who)")
        }
        #expect(try await actions(f.session("sam")).isEmpty)

        // The queue: opened, waiting for review; reviewed, closed.
        let opened = try #require(try await dsl.safeguarding.queue().first)
        #expect(opened.disclosures == 1 && opened.reviewed == 0 && !opened.closed)
        let head = try f.session("head")
        let item = try #require(try await head.safeguarding.reviews().first)
        try await head.safeguarding.review(item.id, outcome: .justified, note: "proportionate")
        let closed = try #require(try await dsl.safeguarding.queue().first)
        #expect(closed.reviewed == 1 && closed.closed)
    }

    @Test("a proposed destruction reaches whoever may agree to it")
    func destructionProposal() async throws {
        let f = try await Fixture.make()
        try await f.session("office").administration.enrol(
            "keeper2", name: "K2", roles: [.recordKeeper], passphrase: Fixture.passphrase("keeper2")
        )
        let label = try await f.session("price").seal(Fixture.form(), confidential: false)
        try await f.session("office").administration.learnerLeft(
            "sam", on: #require(CalendarDate("2027-07-20")))
        let later = Vault(store: f.store, clock: Clock { midnight("2035-06-01") })
        let keeper2 = try await later.unlock("keeper2", passphrase: Fixture.passphrase("keeper2"))
        guard case .proposed = try await keeper2.retention.destroy(label.record) else {
            Issue.record("not proposed")
            return
        }
        for who: PrincipalID in ["hale", "head"] {
            let session = try await later.unlock(who, passphrase: Fixture.passphrase(who))
            #expect(try await actions(session).contains(.destroyProposal), "\(who)")
        }
        let price = try await later.unlock("price", passphrase: Fixture.passphrase("price"))
        #expect(try await !actions(price).contains(.destroyProposal))
        #expect(try await !actions(keeper2).contains(.destroyProposal))
    }

    @Test("notices are new until marked read, and later ones stay new")
    func unreadAndRead() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let first = try await price.seal(Fixture.form(), confidential: false)
        _ = try await price.safeguarding.flag(first.record, reason: "one")
        let dsl = try f.session("dsl")
        let before = try await dsl.inbox()
        #expect(before.count == 1 && before.allSatisfy(\.unread))
        try await dsl.markInboxRead(through: before[0].sequence)
        #expect(try await dsl.inbox().allSatisfy { !$0.unread })
        let second = try await price.seal(Fixture.form(marker: "two"), confidential: false)
        _ = try await price.safeguarding.flag(second.record, reason: "two")
        let after = try await dsl.inbox()
        #expect(after.map(\.unread) == [true, false])
        // Marking an older point read never moves the marker back.
        try await dsl.markInboxRead(through: before[0].sequence - 1)
        #expect(try await dsl.inbox().map(\.unread) == [true, false])
    }

    @Test("reasons for flagging and opening reach officers and heads, never the tutor")
    func reasonsWithheld() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let label = try await price.seal(Fixture.form(), confidential: false)
        _ = try await price.safeguarding.flag(label.record, reason: "CPOMS 7100")
        _ = try await f.session("dsl").safeguarding.disclose(
            label.record, reason: "strategy meeting with the police")
        let tutor = try await price.inbox().filter { $0.entry.action == .disclose }
        #expect(tutor.count == 1 && tutor.allSatisfy { $0.entry.reason == nil })
        let head = try await f.session("head").inbox().filter { $0.entry.action == .disclose }
        #expect(head.map(\.entry.reason) == ["strategy meeting with the police"])
        // The officers are told why a record was flagged; a head of centre reads the opening's.
        let officer = try await f.session("dsl").inbox().filter { $0.entry.action == .flag }
        #expect(officer.map(\.entry.reason) == ["CPOMS 7100"])
    }

    @Test("an inbox marker moved in the database to silence notices to come is tampering")
    func tamperedMarker() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let first = try await price.seal(Fixture.form(), confidential: false)
        _ = try await price.safeguarding.flag(first.record, reason: "one")
        let dsl = try f.session("dsl")
        let seen = try await dsl.inbox()
        try await dsl.markInboxRead(through: seen[0].sequence)
        let marker = try #require(
            await f.store.base.tamperRead { $0.objects[ObjectKind.inboxRead]?["dsl"] })
        func body(_ through: Int64, _ by: Int64) -> [UInt8] {
            var w = CanonicalWriter()
            w.i64(through)
            w.i64(by)
            return w.bytes
        }
        var r = CanonicalReader(marker.body, context: "marker")
        let (through, by) = (try r.i64("through"), try r.i64("by"))
        #expect(through == seen[0].sequence)
        // Read through far ahead, so a notice to come would arrive already read.
        for edited in [body(through + 1000, by), body(through, by - 1), [1, 2, 3]] {
            await f.store.base.tamper { state in
                state.objects[ObjectKind.inboxRead]?["dsl"] = StoredObject(
                    kind: ObjectKind.inboxRead, id: "dsl", key: "dsl", body: edited)
            }
            await expectError(.tampered) { try await dsl.inbox() }
        }
        // Deleted: everything shows as new again, which hides nothing.
        await f.store.base.tamper { state in state.objects[ObjectKind.inboxRead]?["dsl"] = nil }
        #expect(try await dsl.inbox().allSatisfy(\.unread))
    }

    @Test("times are shown in the centre's time zone from the policy; UTC stays in JSON")
    func timeZone() throws {
        // 2026-07-01 12:00 UTC is 13:00 in London (summer time); 2026-12-01 12:00 is 12:00 GMT.
        // (The summer abbreviation is the platform's: BST, or GMT+1.)
        let summer = Timestamp.local(midnight("2026-07-01") + 43_200, zone: "Europe/London")
        #expect(
            summer.hasPrefix("2026-07-01 13:00 ")
                && (summer.hasSuffix("BST") || summer.hasSuffix("GMT+1")))
        #expect(
            Timestamp.local(midnight("2026-12-01") + 43_200, zone: "Europe/London")
                == "2026-12-01 12:00 GMT")
        #expect(Timestamp.local(0, zone: "Nowhere/Else") == Timestamp.iso(0))
        let shipped = try String(decoding: Fixture.shippedPolicy().text, as: UTF8.self)
        #expect(try Policy.parse(Array(shipped.utf8), source: "s.yaml").timeZone == "Europe/London")
        let york = try Policy.parse(
            Array((shipped + "timezone: America/New_York\n").utf8), source: "ny.yaml")
        #expect(york.timeZone == "America/New_York")
        // A name this machine does not know is refused when checked or published, but a policy
        // already published still replays (another machine's time-zone database may be older).
        let mars = Array((shipped + "timezone: Mars/Olympus\n").utf8)
        #expect(throws: TutelaError.self) { try Policy.check(mars, source: "m.yaml") }
        #expect(try Policy.parse(mars, source: "m.yaml").timeZone == "Mars/Olympus")
        #expect(throws: TutelaError.self) {
            try Policy.parse(
                Array((shipped + "timezone: \"Europe/London; x\"\n").utf8), source: "x.yaml")
        }
    }
}
