import Foundation
import Testing

@testable import Tutela

/// Pins kept in memory, for rollback tests.
final class MemoryPins: HeadPinStore, @unchecked Sendable {
    private let lock = NSLock()
    private var pins: [String: HeadPin] = [:]

    func load(vaultID: String) throws -> HeadPin? { lock.withLock { pins[vaultID] } }

    func save(_ pin: HeadPin, vaultID: String, replacing: Bool) throws {
        lock.withLock {
            if !replacing, let old = pins[vaultID], old.entries > pin.entries { return }
            pins[vaultID] = pin
        }
    }
}

@Suite("The audit log")
struct AuditTests {
    /// A vault with a little history: seals, opens, refusals.
    func history() async throws -> Fixture {
        let f = try await Fixture.make()
        let a = try await f.session("price").seal(Fixture.form(), confidential: true)
        let b = try await f.session("price").seal(
            Fixture.form(learner: "alex"), confidential: false)
        _ = try await f.session("price").open(a.record)
        _ = try await f.session("jones").open(b.record)
        _ = try? await f.session("hale").open(a.record)
        _ = try? await f.session("jones").open(a.record)
        return f
    }

    @Test("every entry verifies; actions, outcomes and rules are recorded, never content")
    func verifies() async throws {
        let f = try await history()
        let report = try await f.vault.verifyAudit(checkpoint: nil)
        let links = try await f.store.links(.audit)
        #expect(report.entries == Int64(links.count))
        let entries = try links.map { try AuditEntry.parse($0.body, context: "t") }
        #expect(entries.filter { $0.action == .seal }.count == 2)
        #expect(entries.filter { $0.action == .open && $0.outcome == .denied }.count == 2)
        #expect(entries.contains { $0.reason?.hasPrefix("author may open") == true })
        for link in links {
            #expect(String(decoding: link.body, as: UTF8.self).contains("steady progress") == false)
        }
    }

    enum Mutation: CaseIterable {
        case sequence, previousHash, signer, signature, hash
        case action, actor, subject, outcome, reason, time, policyVersion
    }

    /// Changes one field of `link`, keeping everything else (including the signature) as it was.
    func mutate(_ link: ChainLink, _ m: Mutation) throws -> ChainLink {
        func flip(_ b: [UInt8]) -> [UInt8] {
            var c = b
            c[c.count / 2] ^= 0x01
            return c
        }
        func body(_ change: (AuditEntry) -> AuditEntry) throws -> ChainLink {
            let e = change(try AuditEntry.parse(link.body, context: "t"))
            return ChainLink(
                sequence: link.sequence, previousHash: link.previousHash, signer: link.signer,
                body: e.canonical, signature: link.signature, hash: link.hash)
        }
        switch m {
        case .sequence:
            return ChainLink(
                sequence: link.sequence + 100, previousHash: link.previousHash, signer: link.signer,
                body: link.body, signature: link.signature, hash: link.hash)
        case .previousHash:
            return ChainLink(
                sequence: link.sequence, previousHash: flip(link.previousHash), signer: link.signer,
                body: link.body, signature: link.signature, hash: link.hash)
        case .signer:
            return ChainLink(
                sequence: link.sequence, previousHash: link.previousHash,
                signer: link.signer == "office" ? "hale" : "office", body: link.body,
                signature: link.signature, hash: link.hash)
        case .signature:
            return ChainLink(
                sequence: link.sequence, previousHash: link.previousHash, signer: link.signer,
                body: link.body, signature: flip(link.signature), hash: link.hash)
        case .hash:
            return ChainLink(
                sequence: link.sequence, previousHash: link.previousHash, signer: link.signer,
                body: link.body, signature: link.signature, hash: flip(link.hash))
        case .action:
            return try body {
                AuditEntry(
                    action: $0.action == .open ? .seal : .open, actor: $0.actor,
                    subject: $0.subject,
                    outcome: $0.outcome, reason: $0.reason, time: $0.time,
                    policyVersion: $0.policyVersion)
            }
        case .actor:
            return try body {
                AuditEntry(
                    action: $0.action, actor: PrincipalID(stringLiteral: $0.actor.text + "x"),
                    subject: $0.subject,
                    outcome: $0.outcome,
                    reason: $0.reason, time: $0.time, policyVersion: $0.policyVersion)
            }
        case .subject:
            return try body {
                AuditEntry(
                    action: $0.action, actor: $0.actor, subject: ($0.subject ?? "") + "x",
                    outcome: $0.outcome,
                    reason: $0.reason, time: $0.time, policyVersion: $0.policyVersion)
            }
        case .outcome:
            return try body {
                AuditEntry(
                    action: $0.action, actor: $0.actor, subject: $0.subject,
                    outcome: $0.outcome == .allowed ? .denied : .allowed, reason: $0.reason,
                    time: $0.time,
                    policyVersion: $0.policyVersion)
            }
        case .reason:
            return try body {
                AuditEntry(
                    action: $0.action, actor: $0.actor, subject: $0.subject, outcome: $0.outcome,
                    reason: "nothing to see here", time: $0.time, policyVersion: $0.policyVersion)
            }
        case .time:
            return try body {
                AuditEntry(
                    action: $0.action, actor: $0.actor, subject: $0.subject, outcome: $0.outcome,
                    reason: $0.reason, time: $0.time - 86400, policyVersion: $0.policyVersion)
            }
        case .policyVersion:
            return try body {
                AuditEntry(
                    action: $0.action, actor: $0.actor, subject: $0.subject, outcome: $0.outcome,
                    reason: $0.reason, time: $0.time, policyVersion: "builtin-0")
            }
        }
    }

    @Test(
        "tamper matrix: every field of every entry changed, entries deleted, swapped, the tail cut, an old copy restored"
    )
    func tamperMatrix() async throws {
        let f = try await history()
        let original = try await f.store.links(.audit)
        let pins = MemoryPins()
        let vault = Vault(store: f.store, clock: f.vault.clock, pins: pins)
        let (meta, _) = try await vault.verifiedDirectory()
        let checkpoint = try await f.session("hale").checkpoint()
        let signed = try await f.store.links(.audit)
        try pins.save(
            HeadPin(entries: Int64(signed.count), head: Hex.encode(signed[signed.count - 1].hash)),
            vaultID: meta.vaultID, replacing: true)
        var mutations = 0
        var detected = 0
        var silent: [String] = []
        // This machine verified all but the last two entries before: every mutation is caught
        // when a reading spares that prefix's signatures, as when it verifies everything.
        let (_, directory) = try await vault.verifiedDirectory()
        let memo = VerifiedLog(
            entries: Int64(signed.count - 2), head: signed[signed.count - 3].hash,
            directory: directory)
        var spared = 0
        func check(_ name: String, naming entry: Int64?, _ links: [ChainLink]) async throws {
            mutations += 1
            await f.store.tamper(chain: .audit) { _ in links }
            do {
                let prefix = try await memo.sparing(store: f.store, directory: directory)
                if prefix != nil { spared += 1 }
                _ = try await AuditLog.verify(
                    store: f.store, directory: directory, checkpoint: nil,
                    pin: try pins.load(vaultID: meta.vaultID), sparing: prefix)
                silent.append("\(name), with the memo")
                return
            } catch let error as TutelaError {
                #expect(error.kind == .tampered, "\(name), with the memo: \(error.message)")
            }
            for cp in [nil, checkpoint] {
                do {
                    _ = try await vault.verifyAudit(checkpoint: cp)
                    silent.append(name)
                    return
                } catch let error as TutelaError {
                    #expect(error.kind == .tampered, "\(name): \(error.message)")
                    if let entry {
                        #expect(
                            error.message.contains("entry \(entry)")
                                || error.message.contains("\(entry) entries"),
                            "\(name): \(error.message)")
                    }
                }
            }
            detected += 1
        }
        for (i, link) in signed.enumerated() {
            for m in Mutation.allCases {
                var links = signed
                links[i] = try mutate(link, m)
                try await check("entry \(i) \(m)", naming: Int64(i), links)
            }
        }
        for i in [0, signed.count / 2, signed.count - 1] {
            var links = signed
            links.remove(at: i)
            try await check("entry \(i) deleted", naming: Int64(i), links)
        }
        for i in [1, signed.count / 2] {
            var links = signed
            links.swapAt(i, i + 1)
            try await check("entries \(i) and \(i + 1) swapped", naming: Int64(i), links)
        }
        try await check("tail cut by one", naming: nil, Array(signed.dropLast()))
        try await check("tail cut by five", naming: nil, Array(signed.dropLast(5)))
        try await check("old copy restored", naming: nil, original)
        print(
            "Audit tamper matrix: \(mutations) mutations: \(detected) detected, \(silent.count) silent"
        )
        #expect(silent.isEmpty, "silently accepted: \(silent)")
        #expect(detected == mutations)
        // Mutations after the memo's head leave it standing (the prefix is spared); those at or
        // before it make it void (everything is verified).
        #expect(spared > 0 && spared < mutations)
        // Restored to what it was, it verifies again.
        await f.store.tamper(chain: .audit) { _ in signed }
        _ = try await vault.verifyAudit(checkpoint: checkpoint)
    }

    @Test("a checkpoint round-trips as text and refuses alteration")
    func checkpointText() async throws {
        let f = try await history()
        let checkpoint = try await f.session("hale").checkpoint()
        let parsed = try Checkpoint.parse(checkpoint.text)
        #expect(parsed == checkpoint)
        let report = try await f.vault.verifyAudit(checkpoint: parsed)
        #expect(report.entries >= checkpoint.entries)
        let altered = checkpoint.text.replacingOccurrences(
            of: "entries: \(checkpoint.entries)", with: "entries: \(checkpoint.entries - 1)")
        await expectError(.invalidInput) {
            try await f.vault.verifyAudit(checkpoint: Checkpoint.parse(altered))
        }
        for bad in ["", "tutela audit checkpoint v2\n", checkpoint.text + "extra: 1\n"] {
            #expect(throws: TutelaError.self) { try Checkpoint.parse(bad) }
        }
    }

    @Test(
        "rollback: a vault whose log no longer extends this machine's pin is refused until accepted"
    )
    func rollback() async throws {
        let f = try await Fixture.make()
        let pins = MemoryPins()
        let vault = Vault(store: f.store, clock: f.vault.clock, pins: pins)
        let price = try await vault.unlock("price", passphrase: Fixture.passphrase("price"))
        let old = try await f.store.links(.audit)
        let backup = await f.store.snapshot()
        _ = try await price.seal(Fixture.form(), confidential: true)
        await f.store.restore(backup)
        let error = await expectError(.tampered) {
            try await vault.unlock("price", passphrase: Fixture.passphrase("price"))
        }
        #expect(error?.hint?.contains("accept-restore") == true)
        await expectError(.tampered) { try await vault.verifyAudit(checkpoint: nil) }
        let tutor = try await vault.unlock(
            "price", passphrase: Fixture.passphrase("price"), acceptingRestore: true)
        await expectError(.permissionDenied) { try await tutor.acceptRestore() }
        let office = try await vault.unlock(
            "office", passphrase: Fixture.passphrase("office"), acceptingRestore: true)
        let report = try await office.acceptRestore()
        #expect(report.entries == Int64(old.count + 1))
        _ = try await vault.unlock("price", passphrase: Fixture.passphrase("price"))
    }

    @Test(
        "audit log reading follows policy: keepers and officers all, tutors their own records, others none"
    )
    func readingPolicy() async throws {
        let f = try await Fixture.make()
        let a = try await f.session("price").seal(Fixture.form(), confidential: true)
        let b = try await f.session("jones").seal(Fixture.form(learner: "alex"), confidential: true)
        let all = try await f.session("hale").auditLog(record: nil)
        #expect(
            all.contains { $0.entry.subject == a.record.text }
                && all.contains { $0.entry.subject == b.record.text })
        #expect(
            try await f.session("dsl").auditLog(record: b.record).allSatisfy {
                $0.entry.subject == b.record.text
            })
        let mine = try await f.session("price").auditLog(record: nil)
        #expect(mine.contains { $0.entry.subject == a.record.text })
        #expect(!mine.contains { $0.entry.subject == b.record.text })
        await expectError(.permissionDenied) {
            try await f.session("price").auditLog(record: b.record)
        }
        await expectError(.permissionDenied) { try await f.session("office").auditLog(record: nil) }
        await expectError(.permissionDenied) { try await f.session("sam").auditLog(record: nil) }
    }

    @Test("a checkpoint is refused to those policy does not name")
    func checkpointPolicy() async throws {
        let f = try await Fixture.make()
        await expectError(.permissionDenied) { try await f.session("price").checkpoint() }
        _ = try await f.session("office").checkpoint()
    }
}

/// Pins that can be made to fail, as a full or read-only state directory would.
final class FailingPins: HeadPinStore, @unchecked Sendable {
    private let lock = NSLock()
    private var failing = false

    func fail() { lock.withLock { failing = true } }

    func load(vaultID: String) throws -> HeadPin? { nil }

    func save(_ pin: HeadPin, vaultID: String, replacing: Bool) throws {
        if lock.withLock({ failing }) {
            throw TutelaError(.tryAgain, "the pin could not be saved: no space left on device")
        }
    }
}

@Suite("The pin and releases")
struct PinReleaseTests {
    @Test(
        "an open is released once its entry is durable; a pin that cannot be saved fails settle with 75"
    )
    func pinFailure() async throws {
        let f = try await Fixture.make()
        let label = try await f.session("price").seal(Fixture.form(), confidential: true)
        let pins = FailingPins()
        let vault = Vault(store: f.store, clock: f.vault.clock, pins: pins)
        let price = try await vault.unlock("price", passphrase: Fixture.passphrase("price"))
        pins.fail()
        // The audit entry is durable, so the record is handed out; the command is not complete,
        // and says so, until this machine's pin has been saved.
        let opened = try await price.open(label.record)
        #expect(opened.label.record == label.record)
        await expectError(.tryAgain) { try await price.settle() }
        // Settled (with its failure reported) once: nothing is left waiting.
        try await price.settle()
        let last = try AuditEntry.parse(
            #require(await f.store.links(.audit).last).body, context: "test")
        #expect(last.action == .open && last.actor == "price" && last.outcome == .allowed)
        // A refusal fails the same way: its entry is logged, and nothing is released either way.
        let hale = try await vault.unlock("hale", passphrase: Fixture.passphrase("hale"))
        do {
            _ = try await hale.open(label.record)
            Issue.record("the record keeper opened a confidential tutorial")
        } catch let error as TutelaError { #expect(error.kind == .tryAgain) }
    }

    @Test("a checkpoint must be signed with the key its signer held when they signed it")
    func checkpointSignerThen() async throws {
        let f = try await Fixture.make()
        _ = try await f.session("price").seal(Fixture.form(), confidential: false)
        let hale = try f.session("hale")
        let before = try await hale.checkpoint()
        // Hale loses a passphrase and is re-keyed; the old key (perhaps lost with a laptop) is
        // still on disk. A checkpoint signed with it afterwards is refused; the one signed before
        // stays good.
        try await f.session("office").administration.rekey(
            "hale", passphrase: Passphrase("hale has a new passphrase"))
        let report = try await f.vault.verifyAudit(checkpoint: nil)
        let forged = try Checkpoint.make(
            vaultID: before.vaultID, entries: report.entries, head: try #require(report.head),
            time: before.time + 60, signer: hale.identity)
        let error = await expectError(.invalidInput) {
            try await f.vault.verifyAudit(checkpoint: forged)
        }
        #expect(
            error?.message.contains("held when it was signed") == true, "\(error?.message ?? "")")
        _ = try await f.vault.verifyAudit(checkpoint: before)
    }
}
