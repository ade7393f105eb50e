public import TutelaCrypto

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
    public let sequence: Int64
    public let previousHash: [UInt8]
    public let signer: String
    public let body: [UInt8]
    public let signature: [UInt8]
    public let hash: [UInt8]

    public init(
        sequence: Int64, previousHash: [UInt8], signer: String, body: [UInt8],
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
    static let maximumBodyByteCount = 64 * 1024

    static func signedBytes(
        chain: ChainName, sequence: Int64, previousHash: [UInt8], signer: String, body: [UInt8]
    ) -> [UInt8] {
        var w = CanonicalWriter(capacity: body.count + 128)
        w.string("tutela/chain/v1")
        w.string(chain.rawValue)
        w.i64(sequence)
        w.fixed(previousHash)
        w.string(signer)
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

    /// Checks one link against its predecessor and the signer's key.
    /// - Throws: a data error naming the link when anything does not match.
    static func verify(
        _ link: ChainLink, in chain: ChainName, after previous: ChainLink?,
        signerKey: SigningPublicKey?
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
        let signed = signedBytes(
            chain: chain, sequence: link.sequence, previousHash: link.previousHash,
            signer: link.signer, body: link.body)
        guard let signerKey else {
            throw .tampered("\(name) is signed by '\(link.signer)', who may not sign it")
        }
        do { try signerKey.verify(link.signature, for: signed) } catch {
            throw .tampered("\(name) has a signature that does not verify")
        }
        guard try linkHash(signed: signed, signature: link.signature) == link.hash else {
            throw .tampered("\(name) has a stored hash that does not match its contents")
        }
    }
}
