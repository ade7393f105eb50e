import Foundation
import Testing

@testable import Tutela

/// A session kept for hours (as a server keeps one per signed-in person) catches up with the
/// directory by verifying only what was added, and stops when its person is revoked.
@Suite("A long-lived session and the moving directory")
struct RefreshTests {
    @Test("after refresh a session sees learners, people and roles added since it unlocked")
    func seesNewStatements() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let jones = try f.session("jones")
        let office = try f.session("office")
        try await office.administration.addLearner(
            "kim", name: "Kim Lee", tutor: "price", dateOfBirth: nil, programme: nil)
        try await office.administration.setRoles("jones", [.tutor, .recordKeeper])
        // Before refreshing, the session knows only the directory it verified.
        await expectError(.invalidInput) {
            try await price.seal(Fixture.form(learner: "kim"), confidential: false)
        }
        #expect(!jones.principal.has(.recordKeeper))
        try await price.refresh()
        try await jones.refresh()
        _ = try await price.seal(Fixture.form(learner: "kim"), confidential: false)
        #expect(jones.principal.has(.recordKeeper))
        // Nothing new: a refresh reads nothing to verify and changes nothing.
        let head = price.directory.head
        try await price.refresh()
        #expect(price.directory.head == head)
    }

    @Test("a person revoked while their session lives can no longer refresh it")
    func revoked() async throws {
        let f = try await Fixture.make()
        let jones = try f.session("jones")
        try await f.session("office").administration.revoke("jones")
        await expectError(.permissionDenied) { try await jones.refresh() }
    }

    @Test("a directory edited, cut or extended behind Tutela's back is refused on refresh")
    func tampered() async throws {
        let f = try await Fixture.make()
        let price = try f.session("price")
        let original = try await f.store.links(.directory)
        // The statements the session verified are cut from the vault.
        await f.store.tamper(chain: .directory) { Array($0.dropLast()) }
        await expectError(.tampered) { try await price.refresh() }
        // A statement appended that no administrator signed: a tutor's, with a valid chain hash.
        await f.store.tamper(chain: .directory) { _ in original }
        let forged = try SignedChain.link(
            .directory, after: original.last,
            body: DirectoryStatement.addLearner(
                .init(id: "ghost", name: "Ghost", tutor: "price", dateOfBirth: nil, programme: nil)
            ).encode(at: 0), signer: price.identity)
        await f.store.tamper(chain: .directory) { $0 + [forged] }
        await expectError(.tampered) { try await price.refresh() }
        #expect(price.directory.learners["ghost"] == nil)
    }
}
