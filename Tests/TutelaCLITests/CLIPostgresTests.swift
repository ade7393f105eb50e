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
        static var keys: String { environment["TUTELA_TEST_POSTGRES_KEYS"] ?? "" }

        /// A vault on the test server, in schemas of its own.
        static func vault() throws -> CLIVault {
            let tag = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
                .prefix(16)
            return try CLIVault(
                store: [
                    "--store", "\(address)&schema=v_\(tag)", "--key-store",
                    "\(keys)&schema=k_\(tag)",
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
            // Settings someone else could have written are not followed.
            let settingsFile = v.vault + "/postgres.json"
            try FileManager.default.setAttributes(
                [.posixPermissions: 0o666], ofItemAtPath: settingsFile)
            let planted = try v.run(["records", "list"], as: "price")
            #expect(planted.status == 77, "\(planted.stderr)")
            try FileManager.default.setAttributes(
                [.posixPermissions: 0o600], ofItemAtPath: settingsFile)
            try FileManager.default.setAttributes(
                [.posixPermissions: 0o777], ofItemAtPath: v.vault)
            let open = try v.run(["records", "list"], as: "price")
            #expect(open.status == 77, "\(open.stderr)")
        }

        @Test("migrate copies an embedded vault into PostgreSQL, proves it, and it opens there")
        func migrate() throws {
            let v = try CLIVault()
            let record = try v.seal(marker: "moved with the trust")
            let tag = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
                .prefix(16)
            let target = v.root.appendingPathComponent("trust").path
            let passwords = [
                "TUTELA_STORE_PASSWORD": Self.password, "TUTELA_KEY_STORE_PASSWORD": Self.password,
                "TUTELA_STATE_DIR": v.root.appendingPathComponent("state").path,
            ]
            let store = [
                "--store", "\(Self.address)&schema=v_\(tag)", "--key-store",
                "\(Self.keys)&schema=k_\(tag)",
            ]
            let moved = try CLI.run(
                ["migrate", "--from", v.vault, "--vault", target, "--json"] + store,
                environment: passwords)
            #expect(moved.status == 0, "\(moved.stderr)")
            #expect(moved.stdout.contains("\"proved\""))
            var env = passwords
            env["TUTELA_PASSPHRASE"] = CLIVault.passphrase("price")
            let opened = try CLI.run(
                ["tutorial", "open", record, "--vault", target, "--as", "price"], environment: env)
            #expect(opened.status == 0, "\(opened.stderr)")
            #expect(opened.stdout.contains("moved with the trust"))
            let verify = try CLI.run(["audit", "verify", "--vault", target], environment: env)
            #expect(verify.status == 0, "\(verify.stderr)")
            // The old folder is marked as moved: no command uses it again, by mistake.
            let old = try v.run(["records", "list"], as: "price")
            #expect(old.status == 64, "\(old.stderr)")
            #expect(old.stderr.contains("moved into PostgreSQL"))
            let twice = try CLI.run(
                ["migrate", "--from", v.vault, "--vault", target + "2"] + store,
                environment: passwords)
            #expect(twice.status == 64, "\(twice.stderr)")
            // Without the mark, a second copy into the same database is refused: it holds the
            // vault now.
            try FileManager.default.removeItem(atPath: v.vault + "/moved.json")
            let again = try CLI.run(
                ["migrate", "--from", v.vault, "--vault", target + "3"] + store,
                environment: passwords)
            #expect(again.status == 73, "\(again.stderr)")
            for folder in [target + "2", target + "3"] {
                #expect(!FileManager.default.fileExists(atPath: folder), "nothing left behind")
            }
            // The vault in PostgreSQL is untouched by the refused attempts.
            let still = try CLI.run(
                ["tutorial", "open", record, "--vault", target, "--as", "price"], environment: env)
            #expect(still.status == 0, "\(still.stderr)")
        }

        @Test("a password on the command line, no key store, or a wrong password: refused")
        func refusals() throws {
            let root = FileManager.default.temporaryDirectory.appendingPathComponent(
                "tutela-cli-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: root) }
            let withPassword = Self.address.replacingOccurrences(
                of: "@127.0.0.1", with: ":secret@127.0.0.1")
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
                    Self.keys + "&schema=k_wrong",
                ], environment: wrong)
            #expect(refused.status == 77, "\(refused.stderr)")
            #expect(!FileManager.default.fileExists(atPath: root.path), "no folder left behind")
        }
    }
#endif
