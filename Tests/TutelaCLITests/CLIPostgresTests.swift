#if TUTELA_SERVER
    import Foundation
    import Testing

    /// The command line on a PostgreSQL vault: the throwaway server `scripts/test` starts.
    @Suite(
        "tutela on PostgreSQL",
        .enabled(if: ProcessInfo.processInfo.environment["TUTELA_TEST_POSTGRES"] != nil))
    struct CLIPostgresTests {
        static let environment = ProcessInfo.processInfo.environment
        static var address: String { environment["TUTELA_TEST_POSTGRES"] ?? "" }
        static var password: String { environment["TUTELA_TEST_POSTGRES_PASSWORD"] ?? "" }

        /// A vault on the test server, in schemas of its own.
        static func vault() throws -> CLIVault {
            let tag = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
                .prefix(16)
            return try CLIVault(
                store: [
                    "--store", "\(address)&schema=v_\(tag)", "--key-store",
                    "\(address)&schema=k_\(tag)",
                ],
                environment: [
                    "TUTELA_STORE_PASSWORD": password, "TUTELA_KEY_STORE_PASSWORD": password,
                ])
        }

        @Test("init --store makes a PostgreSQL vault that every command then uses")
        func everyday() throws {
            let v = try Self.vault()
            let settings = try String(
                contentsOfFile: v.vault + "/postgres.json", encoding: .utf8)
            #expect(settings.contains("\"store\""))
            #expect(!settings.contains(Self.password), "no password in the vault folder")
            #expect(!FileManager.default.fileExists(atPath: v.vault + "/vault.sqlite"))
            let record = try v.seal(marker: "kept in postgres")
            let opened = try v.run(["tutorial", "open", record], as: "price")
            #expect(opened.status == 0, "\(opened.stderr)")
            #expect(opened.stdout.contains("kept in postgres"))
            let verify = try v.run(["audit", "verify"])
            #expect(verify.status == 0, "\(verify.stderr)")
            let backup = try v.run(["backup", "--out", v.root.path + "/b.sqlite"])
            #expect(backup.status == 64, "PostgreSQL is backed up with its own tools")
            #expect(backup.stderr.contains("pg_dump"))
        }

        @Test("a password on the command line, no key store, or a wrong password: refused")
        func refusals() throws {
            let root = FileManager.default.temporaryDirectory.appendingPathComponent(
                "tutela-cli-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: root) }
            let withPassword = Self.address.replacingOccurrences(
                of: "tutela@", with: "tutela:secret@")
            let base = [
                "init", "--vault", root.path, "--authority", "office", "--name", "Office",
                "--kdf", "interactive",
            ]
            let env = ["TUTELA_NEW_PASSPHRASE": "a good long passphrase for office"]
            let inline = try CLI.run(
                base + ["--store", withPassword, "--key-store", Self.address + "&schema=k_x"],
                environment: env)
            #expect(inline.status == 64)
            #expect(inline.stderr.contains("password"))
            #expect(!inline.stderr.contains("secret"))
            let noKeys = try CLI.run(base + ["--store", Self.address], environment: env)
            #expect(noKeys.status == 64)
            #expect(noKeys.stderr.contains("--key-store"))
            var wrong = env
            wrong["TUTELA_STORE_PASSWORD"] = "not the password"
            wrong["TUTELA_KEY_STORE_PASSWORD"] = "not the password"
            let refused = try CLI.run(
                base + [
                    "--store", Self.address + "&schema=v_wrong", "--key-store",
                    Self.address + "&schema=k_wrong",
                ], environment: wrong)
            #expect(refused.status == 77, "\(refused.stderr)")
            #expect(!FileManager.default.fileExists(atPath: root.path), "no folder left behind")
        }
    }
#endif
