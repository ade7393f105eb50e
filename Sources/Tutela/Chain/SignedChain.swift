import Foundation
import TutelaCrypto

/// The two append-only, signed, hash-chained logs of a vault.
public enum ChainName: String, Sendable, CaseIterable {
    /// Enrolments, learners and other directory statements.
    case directory
    /// Who did what to which record.
    case audit
}

/// One entry of a signed chain, as stored.
///
/// `hash` = BLAKE2b-256(signed bytes ‖ signature), where the signed bytes are the canonical encoding
/// of (domain, chain, sequence, previous hash, signer, body). The next link carries this hash, so an
/// edited, inserted, deleted or reordered link breaks every link after it.
public struct ChainLink: Sendable, Equatable {
    /// The link's position in its chain, counting from 0.
    public let sequence: Int64
    /// The ``hash`` of the link before, or 32 zero bytes for the first link.
    public let previousHash: [UInt8]
    /// The principal id of who signed the link.
    public let signer: PrincipalID
    /// What the link records (a directory statement or an audit entry), canonically encoded.
    public let body: [UInt8]
    /// The signer's 64-byte Ed25519 signature over the signed bytes.
    public let signature: [UInt8]
    /// BLAKE2b-256 of the signed bytes and the signature; the next link carries it.
    public let hash: [UInt8]

    /// Reassembles a link as stored; nothing is checked until the chain is verified.
    public init(
        sequence: Int64, previousHash: [UInt8], signer: PrincipalID, body: [UInt8],
        signature: [UInt8], hash: [UInt8]
    ) {
        self.sequence = sequence
        self.previousHash = previousHash
        self.signer = signer
        self.body = body
        self.signature = signature
        self.hash = hash
    }
}

enum SignedChain {
    static let hashByteCount = 32
    static let genesisHash = [UInt8](repeating: 0, count: hashByteCount)
    /// A cap on any one link's body, checked before anything else is done with it.
    static let maximumBodyByteCount = 512 * 1024

    static func signedBytes(
        chain: ChainName, sequence: Int64, previousHash: [UInt8], signer: PrincipalID, body: [UInt8]
    ) -> [UInt8] {
        var w = CanonicalWriter(capacity: body.count + 128)
        w.string("tutela/chain/v1")
        w.string(chain.rawValue)
        w.i64(sequence)
        w.fixed(previousHash)
        w.id(signer)
        w.data(body)
        return w.bytes
    }

    static func linkHash(signed: [UInt8], signature: [UInt8]) throws(TutelaError) -> [UInt8] {
        do { return try BLAKE2b.hash(parts: [signed, signature]) } catch {
            throw .internal("hashing failed: \(error)")
        }
    }

    /// The next link after `last`, signed by `signer`.
    static func link(
        _ chain: ChainName, after last: ChainLink?, body: [UInt8], signer: Identity
    ) throws(TutelaError) -> ChainLink {
        let sequence = (last?.sequence ?? -1) + 1
        let previous = last?.hash ?? genesisHash
        let signed = signedBytes(
            chain: chain, sequence: sequence, previousHash: previous, signer: signer.principal,
            body: body)
        let signature = try signer.sign(signed)
        return ChainLink(
            sequence: sequence, previousHash: previous, signer: signer.principal, body: body,
            signature: signature, hash: try linkHash(signed: signed, signature: signature))
    }

    /// The checks of one link that need no other link: is its signature by `signerKey`, and is its
    /// stored hash right. Pure, so many links can be checked at once.
    static func checkContent(
        _ link: ChainLink, in chain: ChainName, signerKey: SigningPublicKey?
    ) -> (signature: Bool, hash: Bool) {
        checkContent(link, in: chain, signerKeys: signerKey.map { [$0] } ?? [])
    }

    /// As ``checkContent(_:in:signerKey:)``, accepting a signature by any of `signerKeys` (a principal
    /// re-keyed after a lost passphrase signed older entries with a former key).
    static func checkContent(
        _ link: ChainLink, in chain: ChainName, signerKeys: [SigningPublicKey]
    ) -> (signature: Bool, hash: Bool) {
        guard link.body.count <= maximumBodyByteCount else { return (false, false) }
        let signed = signedBytes(
            chain: chain, sequence: link.sequence, previousHash: link.previousHash,
            signer: link.signer, body: link.body)
        let signatureOK = signerKeys.contains {
            (try? $0.verify(link.signature, for: signed)) != nil
        }
        let hash = try? BLAKE2b.hash(parts: [signed, link.signature])
        return (signatureOK, hash == link.hash)
    }

    /// Whether a link's stored hash is the hash of its contents (no signature check: for a link
    /// whose signature was checked when it had this same hash).
    static func checkHash(_ link: ChainLink, in chain: ChainName) -> Bool {
        guard link.body.count <= maximumBodyByteCount else { return false }
        let signed = signedBytes(
            chain: chain, sequence: link.sequence, previousHash: link.previousHash,
            signer: link.signer, body: link.body)
        return (try? BLAKE2b.hash(parts: [signed, link.signature])) == link.hash
    }

    /// Checks one link against its predecessor, given the result of ``checkContent(_:in:signerKey:)``.
    /// - Throws: a data error naming the link when anything does not match.
    static func verify(
        _ link: ChainLink, in chain: ChainName, after previous: ChainLink?, hasSigner: Bool,
        content: (signature: Bool, hash: Bool)
    ) throws(TutelaError) {
        let name = "\(chain.rawValue) entry \(link.sequence)"
        let expectedSequence = (previous?.sequence ?? -1) + 1
        guard link.sequence == expectedSequence else {
            throw .tampered(
                "\(chain.rawValue) entry \(expectedSequence) is missing (found \(link.sequence) next)"
            )
        }
        guard link.previousHash == (previous?.hash ?? genesisHash) else {
            throw .tampered("\(name) does not follow the entry before it")
        }
        guard link.body.count <= maximumBodyByteCount else {
            throw .tampered("\(name) is larger than any entry Tutela writes")
        }
        guard hasSigner else {
            throw .tampered("\(name) is signed by '\(link.signer)', who may not sign it")
        }
        guard content.signature else {
            throw .tampered("\(name) has a signature that does not verify")
        }
        guard content.hash else {
            throw .tampered("\(name) has a stored hash that does not match its contents")
        }
    }

    /// Checks one link completely (content and order).
    static func verify(
        _ link: ChainLink, in chain: ChainName, after previous: ChainLink?,
        signerKey: SigningPublicKey?
    ) throws(TutelaError) {
        try verify(
            link, in: chain, after: previous, hasSigner: signerKey != nil,
            content: checkContent(link, in: chain, signerKey: signerKey))
    }

    /// ``checkContent(_:in:signerKey:)`` for many links, spread over the machine's cores.
    static func checkContents(
        _ links: [ChainLink], in chain: ChainName,
        keys: @escaping @Sendable (PrincipalID) -> [SigningPublicKey]
    ) async -> [(signature: Bool, hash: Bool)] {
        await inParallel(links) { checkContent($0, in: chain, signerKeys: keys($0.signer)) }
    }

    /// `work` on every link, spread over the machine's cores, the results in the links' order.
    static func inParallel<Result: Sendable>(
        _ links: [ChainLink], _ work: @escaping @Sendable (ChainLink) -> Result
    ) async -> [Result] {
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, links.count / 64))
        if workers == 1 { return links.map(work) }
        let chunk = (links.count + workers - 1) / workers
        return await withTaskGroup(of: (Int, [Result]).self) { group in
            for start in stride(from: 0, to: links.count, by: chunk) {
                let slice = Array(links[start..<min(links.count, start + chunk)])
                group.addTask { (start, slice.map(work)) }
            }
            var parts: [(Int, [Result])] = []
            for await part in group { parts.append(part) }
            return parts.sorted { $0.0 < $1.0 }.flatMap(\.1)
        }
    }
}
