import Foundation
import Testing

@testable import Tutela

@Suite("Tamper matrix over a generated vault")
struct TamperMatrixTests {
    @Test(
        "every byte of every label, slot and directory statement: exact original or 65, never silent"
    )
    func matrix() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        var originals: [RecordID: ProgressReview] = [:]
        for i in 0..<3 {
            let form = try Fixture.form(marker: "record \(i)")
            originals[try await price.seal(form, confidential: i % 2 == 0).record] = form
        }
        var mutations = 0
        var detected = 0
        var exact = 0
        var silent: [String] = []
        func expectDetected(
            _ name: String, _ body: () async throws -> ProgressReview?, original: ProgressReview?
        ) async {
            mutations += 1
            do {
                let result = try await body()
                if let original, result == original { exact += 1 } else { silent.append(name) }
            } catch let error as TutelaError where error.kind == .tampered {
                detected += 1
            } catch {
                silent.append("\(name): \(error)")
            }
        }
        for (id, form) in originals.sorted(by: { $0.key < $1.key }) {
            let stored = try #require(await f.store.record(id))
            for i in stored.labelBytes.indices {
                await f.store.tamper(record: id) { r in
                    var label = stored.labelBytes
                    label[i] ^= 0x01
                    return StoredRecord(
                        record: r.record, labelBytes: label, envelopeBytes: r.envelopeBytes,
                        slots: r.slots)
                }
                await expectDetected(
                    "label \(id) byte \(i)", { try await price.open(id).form }, original: form)
            }
            // What the store keeps of the envelope: its sealed part (the label is its row, above).
            // Flipping the envelope's own copy of the label would change nothing stored, and each
            // such open would succeed and add an audit entry for the audit loop below to walk.
            for i in stored.sealedBytes.indices {
                await f.store.tamper(record: id) { r in
                    var sealed = stored.sealedBytes
                    sealed[i] ^= 0x01
                    return StoredRecord(
                        record: r.record, labelBytes: stored.labelBytes, sealedBytes: sealed,
                        slots: r.slots)
                }
                await expectDetected(
                    "envelope \(id) byte \(i)", { try await price.open(id).form }, original: form)
            }
            let mine = try #require(stored.slots.firstIndex { $0.recipient == "price" })
            for i in stored.slots[mine].box.indices {
                await f.store.tamper(record: id) { r in
                    var slots = stored.slots
                    var box = slots[mine].box
                    box[i] ^= 0x01
                    slots[mine] = Slot(record: id, recipient: "price", box: box)
                    return StoredRecord(
                        record: r.record, labelBytes: stored.labelBytes,
                        envelopeBytes: r.envelopeBytes, slots: slots)
                }
                await expectDetected(
                    "slot \(id) byte \(i)", { try await price.open(id).form }, original: form)
            }
            await f.store.tamper(record: id) { _ in stored }
        }
        let directory = try await f.store.links(.directory)
        for (n, link) in directory.enumerated() {
            for field in ["body", "signature", "previousHash", "hash"] {
                let bytes: [UInt8] =
                    switch field {
                    case "body": link.body
                    case "signature": link.signature
                    case "previousHash": link.previousHash
                    default: link.hash
                    }
                // Every byte of small fields; a dense sample (every 7th) of a policy's long text.
                let step = bytes.count > 2048 ? 7 : 1
                for i in stride(from: 0, to: bytes.count, by: step) {
                    var changed = bytes
                    changed[i] ^= 0x01
                    let mutated = ChainLink(
                        sequence: link.sequence,
                        previousHash: field == "previousHash" ? changed : link.previousHash,
                        signer: link.signer,
                        body: field == "body" ? changed : link.body,
                        signature: field == "signature" ? changed : link.signature,
                        hash: field == "hash" ? changed : link.hash)
                    await f.store.tamper(chain: .directory) { links in
                        var all = links
                        all[n] = mutated
                        return all
                    }
                    await expectDetected(
                        "directory entry \(n) \(field) byte \(i)",
                        {
                            _ = try await f.vault.verifiedDirectory()
                            return nil
                        }, original: nil)
                }
            }
            await f.store.tamper(chain: .directory) { _ in directory }
        }
        // Every byte of every audit entry's body and signature: `audit verify` names it.
        let audit = try await f.store.links(.audit)
        for (n, link) in audit.enumerated() {
            for field in ["body", "signature"] {
                let bytes = field == "body" ? link.body : link.signature
                for i in bytes.indices {
                    var changed = bytes
                    changed[i] ^= 0x01
                    let mutated = ChainLink(
                        sequence: link.sequence, previousHash: link.previousHash,
                        signer: link.signer,
                        body: field == "body" ? changed : link.body,
                        signature: field == "signature" ? changed : link.signature, hash: link.hash)
                    await f.store.tamper(chain: .audit) { links in
                        var all = links
                        all[n] = mutated
                        return all
                    }
                    await expectDetected(
                        "audit entry \(n) \(field) byte \(i)",
                        {
                            _ = try await f.vault.verifyAudit(checkpoint: nil)
                            return nil
                        }, original: nil)
                }
            }
            await f.store.tamper(chain: .audit) { _ in audit }
        }
        print(
            "Tamper matrix: \(mutations) mutations of envelopes, labels, slots, directory statements and audit entries: \(detected) detected, \(exact) exact originals, \(silent.count) silent"
        )
        #expect(silent.isEmpty, "silent: \(silent.prefix(5))")
        for (id, form) in originals { #expect(try await price.open(id).form == form) }
    }
}
