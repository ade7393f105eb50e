import TutelaCrypto

/// How `tutela import` recognises a form it sealed before, without keeping anything that tells
/// others what a form said.
///
/// A form's digest is a keyed BLAKE2b-256 of its canonical content under the importer's own
/// digest key — HKDF-SHA-256 of their key-agreement secret, bound to the vault — so that no one
/// else can test a guess of a form's words against it. Each sealed form leaves one index row:
/// `AUTHOR#KEY/DIGEST` under `AUTHOR#KEY`, whose body is the record id and a keyed tag binding the two, so
/// that a row edited to name another record is refused. A row only says where to look: a form is
/// skipped only when the record it names is in the vault (checked against the vault's state) or
/// was destroyed with a certificate. A row deleted costs only a second copy. See docs/FORMAT.md.
struct ImportIndex: Sendable {
    /// The importer.
    let author: PrincipalID
    /// Their digest key for this vault, in protected memory; wiped by ``wipe()``.
    let key: SecretBytes
    /// Where this key's rows are filed: `AUTHOR#KEY`, KEY naming the key-agreement key the digest
    /// key comes from. Rows made under an earlier key (before a passphrase change or re-key) are
    /// filed apart, and not read: those forms are no longer recognised, and nothing is refused.
    let filing: String

    init(identity: Identity, vaultID: String) throws(TutelaError) {
        author = identity.principal
        let keyID = (try? BLAKE2b.hash(identity.publicIdentity.agreementKey.bytes)) ?? []
        filing = "\(identity.principal.text)#\(Hex.encode(Array(keyID.prefix(8))))"
        do {
            key = try HKDFSHA256.deriveKey(
                inputKeyMaterial: identity.agreement.secret,
                salt: Array("tutela/import-digest/v1".utf8), info: Array(vaultID.utf8),
                outputByteCount: 32)
        } catch {
            throw .internal("the import digest key could not be made: \(error)")
        }
    }

    func wipe() { key.wipe() }

    /// The keyed digest of `content`'s canonical encoding sealed as `recordClass`, in hex: the
    /// same form imported as another class (confidential, say) is another import.
    func digest(_ content: RecordContent, as recordClass: RecordClass) throws(TutelaError) -> String
    {
        let plaintext = try Session.encode(content)
        defer { plaintext.wipe() }
        do {
            let digest = try BLAKE2b.commitment(to: plaintext, key: key)
            var w = CanonicalWriter()
            w.string("tutela/import-digest/v1")
            w.string(recordClass.rawValue)
            w.fixed(digest)
            return Hex.encode(try BLAKE2b.hash(w.bytes, key: key))
        } catch {
            throw .internal("a form's digest could not be made: \(error)")
        }
    }

    /// The tag binding `digest` to `record` for this importer.
    func tag(digest: String, record: RecordID) throws(TutelaError) -> [UInt8] {
        var w = CanonicalWriter()
        w.string("tutela/import-index/v1")
        w.string(digest)
        w.string(record.text)
        do { return try BLAKE2b.hash(w.bytes, key: key) } catch {
            throw .internal("an import index tag could not be made: \(error)")
        }
    }

    /// The index row for a form with `digest`, sealed as `record`.
    func entry(digest: String, record: RecordID) throws(TutelaError) -> StoredObject {
        var w = CanonicalWriter()
        w.string(record.text)
        w.fixed(try tag(digest: digest, record: record))
        return StoredObject(
            kind: ObjectKind.importDigest, id: "\(filing)/\(digest)", key: filing, body: w.bytes)
    }

    /// Which of `digests` this importer sealed into the vault before: digest → record, each
    /// row's tag checked. Read a batch at a time, so that an import's memory does not grow with
    /// the forms imported before or during it.
    /// - Throws: `.tampered` for a row that is malformed, filed elsewhere, or whose tag does not
    ///   match.
    func lookup(_ digests: [String], in store: any VaultStore) async throws -> [String: RecordID] {
        var known: [String: RecordID] = [:]
        let prefix = "\(filing)/"
        let rows = try await store.objects(
            kind: ObjectKind.importDigest, ids: digests.map { prefix + $0 })
        for object in rows {
            guard object.key == filing, object.id.hasPrefix(prefix) else {
                throw TutelaError.tampered("an import index row is filed under the wrong person")
            }
            let digest = String(object.id.dropFirst(prefix.count))
            var r = CanonicalReader(object.body, context: "the import index row \(object.id)")
            let record: RecordID = try r.id("its record")
            let tag = try r.fixed("its tag", count: 32)
            try r.finish()
            guard try self.tag(digest: digest, record: record) == tag else {
                throw TutelaError.tampered(
                    "the import index row for \(record) was not written by \(author)'s import")
            }
            known[digest] = record
        }
        return known
    }
}
