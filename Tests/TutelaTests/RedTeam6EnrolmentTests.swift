import Foundation
import Synchronization
import Testing
import TutelaCrypto

@testable import Tutela

/// Red team 6, parts 4 and 5: administrators and enrolment codes, and share files.
extension RedTeam6Tests {
    // MARK: - 4. Administrators and enrolment codes

    @Test("an administrator cannot post-date an invitation over a live one and take it")
    func postDatedInviteOverLive() async throws {
        let f = try await Fixture.make()
        let office = try f.session("office")
        let code = try await office.administration.invite(
            "kim", name: "Kim Lee", roles: [.safeguardingOfficer])
        try await office.administration.enrol(
            "adm", name: "Admin", roles: [.admin], passphrase: Fixture.passphrase("adm"))
        let adm = try await f.vault.unlock("adm", passphrase: Fixture.passphrase("adm"))
        let live = try #require(adm.directory.invitations["kim"])
        // The rogue administrator's own code, in an invitation dated after the live one expires.
        let postdated = live.expires + 60
        let expires = postdated + 86_400
        let mine = try EnrolmentCode.generate(for: "kim", expires: expires)
        let mineKey = try EnrolmentCode.key(
            code: mine.text, principal: "kim", vaultID: adm.meta.vaultID)
        var hijacked = false
        do {
            try await Self.commitStatement(
                f,
                .invite(
                    .init(
                        id: "kim", name: "Kim Lee", roles: [.safeguardingOfficer],
                        codeKey: mineKey.publicKey.bytes, expires: expires)),
                at: postdated, signer: adm.identity, committer: adm, action: .enrol, subject: "kim")
            let (_, directory) = try await f.vault.verifiedDirectory()
            hijacked = directory.invitations["kim"]?.codeKey != live.codeKey
        } catch let error as TutelaError {
            #expect(error.kind == .tampered, "\(error.message)")
        }
        #expect(!hijacked, "a post-dated invitation replaced Kim's live one with the admin's code")
        // Kim's own code still works — or, the forged statement being in the chain, the vault
        // stops as tampered (65) for everyone until it is restored: never Kim enrolled under
        // the administrator's code.
        do {
            try await f.vault.activate(
                "kim", code: code.text, passphrase: Passphrase("only Kim knows this"))
        } catch let error as TutelaError where error.kind == .tampered {
        } catch {
            Issue.record("Kim's own code no longer activates: \(error)")
        }
    }

    @Test("an enrolment code used after it expired, the activation backdated, is refused")
    func backdatedActivationAfterExpiry() async throws {
        let now = Mutex<Int64>(1_795_300_000)
        let f = try await Fixture.make(clock: Clock { now.withLock { $0 } })
        let office = try f.session("office")
        let code = try await office.administration.invite(
            "kim", name: "Kim Lee", roles: [.safeguardingOfficer], lifetimeDays: 1)
        let invitation = try #require(office.directory.invitations["kim"])
        now.withLock { $0 += 5 * 86_400 }
        // Life goes on (audit entries, no directory statement).
        _ = try await f.session("price").seal(Fixture.form(), confidential: false)
        await expectError(.permissionDenied) {
            try await f.vault.activate(
                "kim", code: code.text, passphrase: Passphrase("a late passphrase, long"))
        }
        // Whoever kept the code writes the activation dated inside the code's life.
        let key = try EnrolmentCode.key(
            code: code.text, principal: "kim", vaultID: office.meta.vaultID)
        let fresh = try Identity.generate(principal: "kim")
        let pub = fresh.publicIdentity
        let proof = try key.sign(
            Invitation.activationMessage(
                vaultID: office.meta.vaultID, principal: "kim", identity: pub))
        let passphrase = try Passphrase("a late passphrase, long")
        let sealed = try SealedIdentity.seal(
            fresh, passphrase: passphrase, cost: office.directory.kdfProfile.cost)
        try await office.refresh()
        let kim = Session(
            vault: f.vault, meta: office.meta, directory: office.directory,
            principal: Principal(
                id: "kim", name: "Kim Lee", roles: invitation.roles, identity: pub,
                isAuthority: false, enrolledBy: "office"),
            identity: fresh)
        var landed = false
        do {
            try await Self.commitStatement(
                f,
                .activate(
                    principal: "kim", signingKey: pub.signingKey.bytes,
                    agreementKey: pub.agreementKey.bytes, proof: proof),
                at: invitation.expires - 60, signer: fresh, committer: kim, action: .activate,
                subject: "kim"
            ) { tx in try await tx.insert(sealed) }
            _ = try await f.vault.verifyAudit(checkpoint: nil)
            let unlocked = try await f.vault.unlock("kim", passphrase: passphrase)
            landed = unlocked.principal.has(.safeguardingOfficer)
        } catch let error as TutelaError {
            #expect(error.kind == .tampered, "\(error.message)")
        }
        #expect(!landed, "an expired code, its activation backdated, enrolled Kim")
    }

    @Test("an activation proof moved to other keys is refused")
    func activationProofForOtherKeys() async throws {
        let f = try await Fixture.make()
        let office = try f.session("office")
        let code = try await office.administration.invite(
            "kim", name: "Kim Lee", roles: [.tutor])
        let key = try EnrolmentCode.key(
            code: code.text, principal: "kim", vaultID: office.meta.vaultID)
        let kims = try Identity.generate(principal: "kim")
        let proof = try key.sign(
            Invitation.activationMessage(
                vaultID: office.meta.vaultID, principal: "kim", identity: kims.publicIdentity))
        // Someone who saw the proof publishes it with their own keys.
        let theirs = try Identity.generate(principal: "kim")
        let statement = DirectoryStatement.activate(
            principal: "kim", signingKey: theirs.publicIdentity.signingKey.bytes,
            agreementKey: theirs.publicIdentity.agreementKey.bytes, proof: proof)
        var directory = office.directory
        await expectError(.permissionDenied) {
            try directory.apply(statement, signer: "kim", isGenesis: false, time: 1_795_300_000)
        }
        // And a proof from another vault's invitation of the same id.
        let g = try await Fixture.make()
        let other = try await g.session("office").administration.invite(
            "kim", name: "Kim Lee", roles: [.tutor])
        let otherKey = try EnrolmentCode.key(
            code: other.text, principal: "kim", vaultID: g.session("office").meta.vaultID)
        let replayed = try otherKey.sign(
            Invitation.activationMessage(
                vaultID: g.session("office").meta.vaultID, principal: "kim",
                identity: theirs.publicIdentity))
        await expectError(.permissionDenied) {
            try directory.apply(
                .activate(
                    principal: "kim", signingKey: theirs.publicIdentity.signingKey.bytes,
                    agreementKey: theirs.publicIdentity.agreementKey.bytes, proof: replayed),
                signer: "kim", isGenesis: false, time: 1_795_300_000)
        }
    }

    @Test("an activation signed by someone other than the person it publishes is refused")
    func activationSignedByAnother() async throws {
        let f = try await Fixture.make()
        let office = try f.session("office")
        let code = try await office.administration.invite(
            "kim", name: "Kim Lee", roles: [.tutor])
        let key = try EnrolmentCode.key(
            code: code.text, principal: "kim", vaultID: office.meta.vaultID)
        let fresh = try Identity.generate(principal: "kim")
        let proof = try key.sign(
            Invitation.activationMessage(
                vaultID: office.meta.vaultID, principal: "kim", identity: fresh.publicIdentity))
        // The office signs the link (its own key), publishing keys for Kim.
        var directory = office.directory
        await expectError(.permissionDenied) {
            try directory.apply(
                .activate(
                    principal: "kim", signingKey: fresh.publicIdentity.signingKey.bytes,
                    agreementKey: fresh.publicIdentity.agreementKey.bytes, proof: proof),
                signer: "office", isGenesis: false, time: 1_795_300_000)
        }
    }

    @Test("a revoked person cannot be invited again under the same id to take back their records")
    func revokeThenReinvite() async throws {
        let f = try await Fixture.make()
        let office = try f.session("office")
        _ = try await office.administration.revoke("price")
        await expectError(.exists) {
            try await office.administration.invite("price", name: "Mr Price", roles: [.tutor])
        }
        // Nor reissued.
        await expectError(.usage) { try await office.administration.reissue("price") }
    }

    @Test("an activation racing a revocation of the invitation leaves no one enrolled")
    func activationRacesWithdrawal() async throws {
        let f = try await Fixture.make()
        let office = try f.session("office")
        let code = try await office.administration.invite(
            "kim", name: "Kim Lee", roles: [.tutor])
        // The office withdraws the invitation while Kim's activation runs.
        try await RefreshTests.interleave(.revoke(principal: "kim"), in: f)
        var activated = false
        do {
            try await f.vault.activate(
                "kim", code: code.text, passphrase: Passphrase("Kim's passphrase, long"))
            activated = true
        } catch {}
        let (_, directory) = try await f.vault.verifiedDirectory()
        let kim = directory.principals["kim"]
        #expect(
            kim == nil || kim?.revoked == true,
            "activated: \(activated); Kim is enrolled after the invitation was withdrawn")
        _ = try await f.vault.verifyAudit(checkpoint: nil)
    }

    @Test("an activation racing a reissue of the same person leaves the reissued code in charge")
    func activationRacesReissue() async throws {
        let f = try await Fixture.make()
        let office = try f.session("office")
        let first = try await office.administration.reissue("price")
        // A second reissue (a second administrator, or the office again) lands during activation.
        let second = try EnrolmentCode.generate(for: "price", expires: 1_795_300_000 + 86_400)
        let secondKey = try EnrolmentCode.key(
            code: second.text, principal: "price", vaultID: office.meta.vaultID)
        try await RefreshTests.interleave(
            .reissue(
                principal: "price", codeKey: secondKey.publicKey.bytes, expires: second.expires),
            in: f)
        var activated = false
        do {
            try await f.vault.activate(
                "price", code: first.text, passphrase: Passphrase("price's first new one"))
            activated = true
        } catch {}
        let (_, directory) = try await f.vault.verifiedDirectory()
        #expect(!activated, "the superseded code activated after a second reissue")
        #expect(directory.principals["price"]?.awaitingKeys == true)
    }

    @Test(
        "an administrator who reissues someone and keeps the code does not come to read their records"
    )
    func adminReissuesAndActivatesAsVictim() async throws {
        let f = try await Fixture.make()
        let office = try f.session("office")
        // Jones writes about Sam, whose tutor is Price: Price has a slot as assigned tutor.
        let label = try await f.session("jones").seal(
            Fixture.form(learner: "sam"), confidential: false)
        // The office (label-only) reissues Price without Price asking, and activates the code itself.
        let code = try await office.administration.reissue("price")
        let mine = try Passphrase("the office's copy of price")
        try await f.vault.activate("price", code: code.text, passphrase: mine)
        // A colleague brings slots in line with the policy, as the reissue tells them to.
        let jones = try f.session("jones")
        try await jones.refresh()
        _ = try await jones.lifecycle.regrant(record: nil)
        let impostor = try await f.vault.unlock("price", passphrase: mine)
        var read = false
        do {
            _ = try await impostor.open(label.record)
            read = true
        } catch {}
        withKnownIssue(
            "an administrator who keeps a reissued code can activate it first (SECURITY.md)"
        ) {
            #expect(!read, "the administrator, holding Price's reissued keys, opened a tutorial")
        }
    }

    @Test("the authority is never invited, reissued or activated over")
    func authorityNotReplaced() async throws {
        let f = try await Fixture.make()
        let office = try f.session("office")
        var directory = office.directory
        let fresh = try Identity.generate(principal: "office")
        let code = try EnrolmentCode.generate(for: "office", expires: 1_795_386_400)
        let codeKey = try EnrolmentCode.key(
            code: code.text, principal: "office", vaultID: office.meta.vaultID)
        await expectError(.exists) {
            try directory.apply(
                .invite(
                    .init(
                        id: "office", name: "Office", roles: [.admin],
                        codeKey: codeKey.publicKey.bytes, expires: 1_795_386_400)),
                signer: "office", isGenesis: false, time: 1_795_300_000)
        }
        await expectError(.permissionDenied) {
            try directory.apply(
                .reissue(
                    principal: "office", codeKey: codeKey.publicKey.bytes, expires: 1_795_386_400),
                signer: "office", isGenesis: false, time: 1_795_300_000)
        }
        await expectError(.notFound) {
            try directory.apply(
                .activate(
                    principal: "office", signingKey: fresh.publicIdentity.signingKey.bytes,
                    agreementKey: fresh.publicIdentity.agreementKey.bytes,
                    proof: Array(repeating: 0, count: 64)),
                signer: "office", isGenesis: false, time: 1_795_300_000)
        }
    }

    // MARK: - 5. Share files

    @Test("a split made before the authority re-keyed recovers nothing")
    func preRekeySplit() async throws {
        let f = try await Fixture.make()
        let office = try f.session("office")
        let shares = try await office.administration.splitAuthority(shares: 3, threshold: 2)
        try await office.administration.rekeyAuthority(
            passphrase: Passphrase("the office's new passphrase"))
        let texts = try shares.map {
            String(decoding: try $0.file().unprotectedCopy(), as: UTF8.self)
        }
        let before = try await f.store.links(.audit).count
        await expectError(.invalidInput) {
            try await f.vault.recoverAuthority(
                from: try texts.prefix(2).map(AuthorityShare.parse),
                passphrase: Passphrase("the trustees' recovery"))
        }
        #expect(try await f.store.links(.audit).count == before)
    }

    @Test("a threshold lowered in one file, or a file of another split with the same number, fails")
    func mixedAndLoweredShares() async throws {
        let f = try await Fixture.make()
        let a = try await ShareFileTests.split(f)
        let b = try await ShareFileTests.split(f)
        // Same trustee and number, another split: refused.
        await expectError(.invalidInput) {
            try await f.vault.recoverAuthority(
                from: [try AuthorityShare.parse(a[0]), try AuthorityShare.parse(b[1])],
                passphrase: Passphrase("recovered authority"))
        }
        // One file whose threshold is lowered to 1 (its share's own byte too) recovers nothing.
        let lowered = ShareFileTests.edit(a[0], "threshold") { _ in "1" }
        await #expect(throws: (any Error).self) {
            try await f.vault.recoverAuthority(
                from: [try AuthorityShare.parse(lowered)],
                passphrase: Passphrase("recovered authority"))
        }
        // A file offered twice under two trustee names.
        let renamed = ShareFileTests.edit(a[0], "trustee") { _ in "Mallory" }
        await expectError(.invalidInput) {
            try await f.vault.recoverAuthority(
                from: [try AuthorityShare.parse(a[0]), try AuthorityShare.parse(renamed)],
                passphrase: Passphrase("recovered authority"))
        }
    }
}
