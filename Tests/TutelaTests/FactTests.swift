import Foundation
import Testing

@testable import Tutela

/// Every kind of signed fact goes through one reader: a fact edited, moved, re-filed or forged is
/// refused as tampering, whatever its kind.
@Suite("Signed facts")
struct FactTests {
    /// One fact of every kind, made by `price` (whose key signs them) about record `R-1`.
    static func samples(_ session: Session) throws -> [(String, StoredObject)] {
        let signer = session.principal.id
        return [
            (
                "flag",
                try session.sign(
                    SafeguardingFlag(
                        record: "R-1", flaggedBy: signer, time: 1, reason: "why",
                        decidedAt: session.directory.statementCount))
            ),
            (
                "request",
                try session.sign(
                    BreakGlassRequest(
                        id: "BG-1", record: "R-1", requester: signer, reason: "why", created: 1,
                        expires: 2, approvalsNeeded: 2))
            ),
            (
                "approval",
                try session.sign(
                    Approval(
                        request: "BG-1", approver: signer, role: .headOfCentre, time: 1,
                        box: [1, 2, 3]))
            ),
            ("use", try session.sign(BreakGlassUse(request: "BG-1", time: 1))),
            (
                "review",
                try session.sign(
                    ReviewItem(
                        id: "RV-1", kind: .disclosure, record: "R-1", actor: signer, time: 1,
                        reason: "why"))
            ),
            (
                "outcome",
                try session.sign(
                    ReviewOutcome(
                        review: "RV-1", outcome: .justified, note: "ok", reviewer: signer, time: 1))
            ),
            (
                "hold",
                try session.sign(
                    Hold(
                        record: "R-1", active: true, reason: "why", time: 1, by: signer,
                        decidedAt: session.directory.statementCount))
            ),
            (
                "retention review",
                try session.sign(
                    RetentionReview(
                        record: "R-1", keepUntil: CalendarDate("2030-01-01"), reason: "why",
                        time: 1,
                        by: signer))
            ),
            ("proposal", try session.sign(DestructionProposal(record: "R-1", time: 1, by: signer))),
            (
                "tombstone",
                try session.sign(
                    DestructionCertificate(
                        record: "R-1", labelHash: "aa", ciphertextHash: "bb", rule: "rule", time: 1,
                        authoriser: signer, proposer: nil, madeUnder: 1, signature: []))
            ),
            (
                "escrow",
                try session.sign(
                    IdentityEscrow(
                        principal: signer, identity: session.principal.identity, splitID: "ab",
                        threshold: 2,
                        sealed: .init(nonce: Array(repeating: 7, count: 24), ciphertext: [1, 2]),
                        boxes: [
                            .init(role: .headOfCentre, version: 1, box: [1]),
                            .init(role: .safeguardingOfficer, version: 2, box: [2]),
                        ],
                        adminBoxes: [
                            .init(
                                admin: "office", key: session.principal.identity.agreementKey,
                                box: [3])
                        ]))
            ),
            (
                "recovery request",
                try session.sign(
                    RecoveryRequest(
                        id: "IR-1", principal: "sam", requester: signer, reason: "why", created: 1,
                        expires: 2, approvalsNeeded: 2,
                        codeKey: session.principal.identity.agreementKey, splitID: "ab",
                        adminBox: [4]))
            ),
            (
                "recovery approval",
                try session.sign(
                    RecoveryApproval(
                        request: "IR-1", approver: signer, role: .headOfCentre, time: 1, box: [1],
                        keys: session.principal.identity.signingKey))
            ),
            (
                "recovery use",
                try session.sign(RecoveryUse(request: "IR-1", time: 1, signer: signer))
            ),
            (
                "void",
                try session.sign(
                    VoidStatement(
                        record: "R-1", voidedBy: signer, time: 1, reason: "why",
                        decidedAt: session.directory.statementCount))
            ),
            (
                "addendum link",
                try session.sign(AddendumLink(record: "R-1", addendum: "R-2", author: signer))
            ),
            (
                "tutorial plan",
                try session.sign(
                    TutorialPlan(
                        id: "TP-0000-0000-0001", learner: "sam", tutor: signer,
                        day: CalendarDate(year: 2026, month: 12, day: 1), startMinute: 600,
                        minutes: 30, place: "Room 4", tellFamily: false, status: .planned,
                        record: nil, revision: 0, by: signer, time: 1, reason: "",
                        decidedAt: session.directory.statementCount))
            ),
        ]
    }

    /// Reads `object` as whatever type its kind names.
    static func read(_ object: StoredObject, _ directory: Directory) throws(TutelaError) {
        guard let kind = FactKind(rawValue: object.kind) else {
            throw .tampered("unknown kind \(object.kind)")
        }
        switch kind {
        case .flag: _ = try FactCodec.read(object, as: SafeguardingFlag.self, directory: directory)
        case .breakGlassRequest:
            _ = try FactCodec.read(object, as: BreakGlassRequest.self, directory: directory)
        case .approval: _ = try FactCodec.read(object, as: Approval.self, directory: directory)
        case .breakGlassUse:
            _ = try FactCodec.read(object, as: BreakGlassUse.self, directory: directory)
        case .review: _ = try FactCodec.read(object, as: ReviewItem.self, directory: directory)
        case .reviewOutcome:
            _ = try FactCodec.read(object, as: ReviewOutcome.self, directory: directory)
        case .hold: _ = try FactCodec.read(object, as: Hold.self, directory: directory)
        case .retentionReview:
            _ = try FactCodec.read(object, as: RetentionReview.self, directory: directory)
        case .proposal:
            _ = try FactCodec.read(object, as: DestructionProposal.self, directory: directory)
        case .tombstone:
            _ = try FactCodec.read(object, as: DestructionCertificate.self, directory: directory)
        case .escrow: _ = try FactCodec.read(object, as: IdentityEscrow.self, directory: directory)
        case .recoveryRequest:
            _ = try FactCodec.read(object, as: RecoveryRequest.self, directory: directory)
        case .recoveryApproval:
            _ = try FactCodec.read(object, as: RecoveryApproval.self, directory: directory)
        case .recoveryUse:
            _ = try FactCodec.read(object, as: RecoveryUse.self, directory: directory)
        case .void: _ = try FactCodec.read(object, as: VoidStatement.self, directory: directory)
        case .addendumLink:
            _ = try FactCodec.read(object, as: AddendumLink.self, directory: directory)
        case .plan: _ = try FactCodec.read(object, as: TutorialPlan.self, directory: directory)
        }
    }

    static func expectTampered(
        _ object: StoredObject, _ directory: Directory, _ what: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do throws(TutelaError) {
            try read(object, directory)
            Issue.record("accepted: \(what)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.kind == .tampered, "\(what)", sourceLocation: sourceLocation)
        }
    }

    @Test("every kind is covered, reads back what was signed, and names its signer")
    func roundTrip() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let samples = try Self.samples(price)
        #expect(Set(samples.map(\.1.kind)) == Set(FactKind.allCases.map(\.rawValue)))
        for (name, object) in samples {
            do throws(TutelaError) { try Self.read(object, price.directory) } catch {
                Issue.record("\(name): \(error.message)")
            }
        }
        let (hold, header) = try FactCodec.read(
            try #require(samples.first { $0.0 == "hold" }?.1), as: Hold.self,
            directory: price.directory)
        #expect(
            hold
                == Hold(
                    record: "R-1", active: true, reason: "why", time: 1, by: "price",
                    decidedAt: price.directory.statementCount))
        #expect(header.signer == "price" && header.subject == "R-1" && header.id == "R-1")
    }

    @Test("a fact moved to another id, subject or kind is refused, for every kind")
    func moved() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        for (name, o) in try Self.samples(price) {
            let directory = price.directory
            Self.expectTampered(
                StoredObject(kind: o.kind, id: o.id + "X", key: o.key, body: o.body), directory,
                "\(name) with another id")
            Self.expectTampered(
                StoredObject(kind: o.kind, id: o.id, key: "R-2", body: o.body), directory,
                "\(name) under another subject")
            let other = FactKind.allCases.first { $0.rawValue != o.kind }?.rawValue ?? ""
            Self.expectTampered(
                StoredObject(kind: other, id: o.id, key: o.key, body: o.body), directory,
                "\(name) filed as \(other)")
        }
    }

    @Test("every single-bit change of every kind's body is refused")
    func bitFlips() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        var flips = 0
        for (name, o) in try Self.samples(price) {
            for index in o.body.indices {
                for bit in 0..<8 {
                    var body = o.body
                    body[index] ^= UInt8(1 << bit)
                    Self.expectTampered(
                        StoredObject(kind: o.kind, id: o.id, key: o.key, body: body),
                        price.directory, "\(name) byte \(index) bit \(bit)")
                    flips += 1
                }
            }
        }
        #expect(flips > 5000)
        print("Facts: \(flips) single-bit changes over \(FactKind.allCases.count) kinds refused")
    }

    @Test("a fact naming a signer who did not sign it, or no one enrolled, is refused")
    func forgedSigner() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let jones = try f.session("jones")
        let flag = try jones.sign(
            SafeguardingFlag(
                record: "R-1", flaggedBy: "jones", time: 1, reason: "why",
                decidedAt: jones.directory.statementCount))
        // Jones signs a flag and then claims Price made it: the name is inside the signed bytes.
        let claimed = try #require(String(data: Data(flag.body), encoding: .isoLatin1))
            .replacingOccurrences(
                of: "\u{0}\u{0}\u{0}\u{5}jones", with: "\u{0}\u{0}\u{0}\u{5}price")
        let forged = Array(try #require(claimed.data(using: .isoLatin1)))
        #expect(forged != flag.body)
        Self.expectTampered(
            StoredObject(kind: flag.kind, id: flag.id, key: flag.key, body: forged),
            price.directory, "jones's flag claimed as price's")
        // An approval filed under another approver (one row per approver) is refused.
        let approval = try jones.sign(
            Approval(request: "BG-1", approver: "jones", role: .tutor, time: 1, box: []))
        #expect(approval.id == "BG-1/jones")
        Self.expectTampered(
            StoredObject(
                kind: approval.kind, id: "BG-1/price", key: approval.key, body: approval.body),
            price.directory, "jones's approval filed as price's")
        let impersonating = try jones.sign(
            Approval(request: "BG-1", approver: "price", role: .tutor, time: 1, box: []))
        #expect(impersonating.id == "BG-1/price")
        Self.expectTampered(
            impersonating, price.directory, "an approval in price's row signed by jones")
        // Someone enrolled after this directory was verified is no one, as far as it knows.
        try await f.session("office").administration.enrol(
            "newcomer", name: "Newcomer", roles: [.tutor],
            passphrase: Fixture.passphrase("newcomer"))
        let newcomer = try await f.vault.unlock(
            "newcomer", passphrase: Fixture.passphrase("newcomer"))
        let hold = try newcomer.sign(
            Hold(
                record: "R-1", active: true, reason: "why", time: 1, by: "newcomer",
                decidedAt: newcomer.directory.statementCount))
        Self.expectTampered(hold, price.directory, "a fact by someone not enrolled")
    }

    @Test("a look-alike id cannot be signed, and a row keyed by a look-alike is refused")
    func lookAlike() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        // "é" as one scalar, or "e" + combining acute: equal as Strings. Every id a fact carries
        // is typed and ASCII, so neither spelling can be signed at all…
        for spelling in ["RV-caf\u{E9}", "RV-cafe\u{301}"] {
            #expect(ReviewID(validating: spelling) == nil)
            #expect(RequestID(validating: spelling) == nil)
            #expect(RecordID(validating: spelling) == nil)
        }
        // …and a row filed under a look-alike of what was signed does not match it.
        let fact = try price.sign(
            ReviewOutcome(
                review: "RV-cafe", outcome: .justified, note: "why", reviewer: "price", time: 1))
        let row = StoredObject(
            kind: fact.kind, id: "RV-cafe\u{301}", key: "RV-cafe\u{301}", body: fact.body)
        Self.expectTampered(row, price.directory, "a look-alike row key")
    }

    @Test("an unknown format or version is refused rather than guessed at")
    func versions() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let flag = try price.sign(
            SafeguardingFlag(
                record: "R-1", flaggedBy: "price", time: 1, reason: "why",
                decidedAt: price.directory.statementCount))
        var format = flag.body
        format[0] = 1
        Self.expectTampered(
            StoredObject(kind: flag.kind, id: flag.id, key: flag.key, body: format),
            price.directory, "format 1")
    }

    @Test("a destruction certificate verifies, and one with any field changed does not")
    func certificate() async throws {
        let f = try await Fixture.make()
        let hale = try f.session("hale")
        let object = try hale.sign(
            DestructionCertificate(
                record: "R-1", labelHash: "aa", ciphertextHash: "bb", rule: "rule", time: 1,
                authoriser: "hale", proposer: "jones", madeUnder: 1, signature: []))
        let (certificate, _) = try FactCodec.read(
            object, as: DestructionCertificate.self, directory: hale.directory)
        try hale.retention.verify(certificate)
        let changed = [
            DestructionCertificate(
                record: "R-2", labelHash: "aa", ciphertextHash: "bb", rule: "rule", time: 1,
                authoriser: "hale", proposer: "jones", madeUnder: certificate.madeUnder,
                signature: certificate.signature),
            DestructionCertificate(
                record: "R-1", labelHash: "aa", ciphertextHash: "bb", rule: "rule", time: 2,
                authoriser: "hale", proposer: "jones", madeUnder: certificate.madeUnder,
                signature: certificate.signature),
            DestructionCertificate(
                record: "R-1", labelHash: "aa", ciphertextHash: "bb", rule: "rule", time: 1,
                authoriser: "hale", proposer: nil, madeUnder: certificate.madeUnder,
                signature: certificate.signature),
            DestructionCertificate(
                record: "R-1", labelHash: "aa", ciphertextHash: "bb", rule: "rule", time: 1,
                authoriser: "price", proposer: "jones", madeUnder: certificate.madeUnder,
                signature: certificate.signature),
        ]
        for c in changed {
            await expectError(.tampered) { try hale.retention.verify(c) }
        }
    }
}
