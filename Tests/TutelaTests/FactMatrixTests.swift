import Foundation
import Testing

@testable import Tutela

/// The fact tamper matrix of #18: every kind of fact a generated vault holds is deleted, moved to
/// another record, replayed from an older state, and the whole set rolled back; each mutation is
/// counted as detected when some ordinary read of the vault refuses it as tampering. Moves are
/// caught by each fact signing its subject; deletions, replays and rollbacks by the state every
/// audit entry commits to. At 2026-12-03: 9 facts of 7 kinds; moves 5/5 detected, deletions 9/9,
/// replay 1/1, rollback 1/1 (before the state root: deletions 0/9, replay 0/1, rollback 0/1).
@Suite("Fact tamper matrix (#18)")
struct FactMatrixTests {
    /// A vault with facts of seven kinds: a flag, a disclosure's review and its outcome, a
    /// break-glass request with its approvals, use and review, and a hold (placed, then released).
    static func vault() async throws -> (SafeguardingFixture, [RecordID], [StoredObject]) {
        let s = try await SafeguardingFixture.make()
        let price = try await s.session("price")
        let a = try await price.seal(Fixture.form(marker: "a"), confidential: true)
        let b = try await price.seal(Fixture.form(marker: "b"), confidential: true)
        let c = try await price.seal(Fixture.form(marker: "c"), confidential: false)
        try await price.safeguarding.flag(a.record, reason: "concern")
        _ = try await s.session("dsl").safeguarding.disclose(a.record, reason: "follow up")
        let request = try await s.session("dsl").breakGlass.request(b.record, reason: "urgent")
        try await s.session("head").breakGlass.approve(request.id)
        try await s.session("dsl2").breakGlass.approve(request.id)
        _ = try await s.session("dsl").breakGlass.open(request.id)
        let review = try #require(await s.session("head").safeguarding.reviews().first)
        try await s.session("head").safeguarding.review(
            review.id, outcome: .justified, note: "fine")
        let hale = try await s.session("hale")
        try await hale.retention.setHold(c.record, active: true, reason: "inquiry")
        let placed = try #require(
            await s.f.store.objects(kind: FactKind.hold.rawValue, key: c.record.text).first)
        try await hale.retention.setHold(c.record, active: false, reason: "closed")
        return (s, [a.record, b.record, c.record], [placed])
    }

    /// Whether any ordinary read refuses the vault as tampered.
    static func detected(_ s: SafeguardingFixture, _ records: [RecordID]) async -> Bool {
        let reads: [@Sendable () async throws -> Void] = [
            { _ = try await s.f.vault.verifyAudit(checkpoint: nil) },
            { _ = try await s.session("dsl").safeguarding.queue() },
            { _ = try await s.session("head").safeguarding.reviews() },
            {
                _ = try await s.session("hale").retention.check(
                    asOf: CalendarDate(year: 2026, month: 12, day: 1))
            },
            { _ = try await s.session("sam").export(learner: "sam") },
        ]
        for read in reads {
            do { try await read() } catch let error as TutelaError where error.kind == .tampered {
                return true
            } catch {}
        }
        for record in records {
            do { _ = try await s.session("price").open(record) } catch let error as TutelaError
                where error.kind == .tampered
            {
                return true
            } catch {}
        }
        return false
    }

    @Test("every fact deleted, moved, replayed or rolled back: counted, detected vs tried")
    func matrix() async throws {
        var tried: [String: Int] = [:]
        var found: [String: Int] = [:]
        func count(_ what: String, _ detected: Bool) {
            tried[what, default: 0] += 1
            if detected { found[what, default: 0] += 1 }
        }
        let (probe, _, _) = try await Self.vault()
        // Each vault has fresh ids: a fact is named by its kind and its place among that kind's.
        var facts: [(kind: String, index: Int)] = []
        for kind in FactKind.allCases {
            let count = try await probe.f.store.objects(kind: kind.rawValue, key: nil).count
            facts += (0..<count).map { (kind.rawValue, $0) }
        }
        func object(_ s: SafeguardingFixture, _ fact: (kind: String, index: Int)) async throws
            -> StoredObject
        {
            try await s.f.store.objects(kind: fact.kind, key: nil)[fact.index]
        }
        for fact in facts {
            // Deleted.
            do {
                let (s, records, _) = try await Self.vault()
                let object = try await object(s, fact)
                try await s.f.store.transaction { tx in
                    try await tx.deleteObject(kind: object.kind, id: object.id)
                }
                count("delete", await Self.detected(s, records))
            }
            // Moved: filed under another record, body unchanged — for the facts filed under a
            // record (an approval, a use or an outcome is filed under the one request or review
            // the vault has; moved anywhere else it is a deletion, counted above).
            do {
                let (s, records, _) = try await Self.vault()
                let object = try await object(s, fact)
                guard records.contains(where: { $0.text == object.key }) else { continue }
                let other = records.first { $0.text != object.key } ?? records[0]
                try await s.f.store.transaction { tx in
                    try await tx.deleteObject(kind: object.kind, id: object.id)
                    try await tx.put(
                        StoredObject(
                            kind: object.kind, id: other.text, key: other.text, body: object.body))
                }
                count("move", await Self.detected(s, records))
            }
        }
        // Replayed: the hold as it was when placed, over its release.
        do {
            let (s, records, older) = try await Self.vault()
            try await s.f.store.transaction { tx in for o in older { try await tx.put(o) } }
            count("replay", await Self.detected(s, records))
        }
        // Rolled back: every fact of the vault as it stood before the break-glass opening.
        do {
            let (s, records, _) = try await Self.vault()
            for kind in [FactKind.breakGlassUse, .review, .reviewOutcome] {
                for object in try await s.f.store.objects(kind: kind.rawValue, key: nil) {
                    try await s.f.store.transaction { tx in
                        try await tx.deleteObject(kind: object.kind, id: object.id)
                    }
                }
            }
            count("rollback", await Self.detected(s, records))
        }
        let line = ["delete", "move", "replay", "rollback"].map {
            "\($0) \(found[$0, default: 0])/\(tried[$0, default: 0])"
        }.joined(separator: ", ")
        print(
            "Fact tamper matrix: \(facts.count) facts of \(Set(facts.map(\.kind)).count) kinds; detected: \(line)"
        )
        #expect(found["move"] == tried["move"], "every move is detected")
        for what in ["delete", "replay", "rollback"] {
            #expect(found[what, default: 0] == tried[what], "\(what)")
        }
    }
}
