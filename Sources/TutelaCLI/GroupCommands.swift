import ArgumentParser
import Tutela

struct GroupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "group", abstract: "Role-held keys (the safeguarding team, heads of centre).",
        discussion: """
            A group's key is made by one of its own members, never by an administrator: the \
            first holder of a role runs 'group create'. When someone leaves a group, its key is \
            due to be replaced; the next member to run any command makes the new one, and \
            'group list' shows what is due until then.
            """,
        subcommands: [List.self, Create.self, Rotate.self, Sync.self, Rewrap.self])

    /// Tells an administrator which group keys their change made due, and who replaces them.
    static func showDue(_ roles: [Role], in directory: Directory) {
        for role in roles {
            Terminal.out(
                "The \(role.rawValue) group key is due to be replaced: the next \(role.rawValue) to "
                    + "run a command makes the new one ('tutela group list' shows it until then).")
            if directory.holders(of: role).isEmpty {
                Terminal.note(
                    "Warning: no one holds the \(role.rawValue) role any more, so no member is "
                        + "left to re-wrap what is sealed to the group's key; the next person given "
                        + "the role makes a new one. Give the role to someone before its last "
                        + "member leaves.")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Each group's key version, and whether it is due to be replaced.")
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let session = try await actor.unlock(try await vault.open())
            let groups = session.lifecycle.groups()
            if output.json {
                try Terminal.json(["groups": groups.map(GroupJSON.init)])
            } else if groups.isEmpty {
                Terminal.out("No group has a key yet.")
            } else {
                Terminal.out(
                    Table.render(
                        header: ["GROUP", "VERSION", "STATE"],
                        rows: groups.map {
                            [
                                $0.role.rawValue, "\($0.version)",
                                $0.rotationDue == nil
                                    ? "current" : "due to be replaced by the next member",
                            ]
                        }))
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Make a role's first group key, here, sealed to every holder (a holder runs it).")
        @Argument(help: "The role, e.g. safeguarding-officer or head-of-centre.") var role: String
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let parsed = try Role.parse(role)
            // Made exactly as asked: not first made by the catch-up every other command does.
            let session = try await actor.unlock(try await vault.open(), catchingUp: false)
            let group = try await session.lifecycle.createGroupKey(parsed)
            try output.done(
                "Created \(group.holder), sealed to every \(parsed.rawValue).",
                GroupVersionJSON(group))
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace a group's key now, made here (a holder of the role runs it).")
        @Argument(help: "The role.") var role: String
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let parsed = try Role.parse(role)
            // Exactly one new version, whether or not a rotation was due.
            let session = try await actor.unlock(try await vault.open(), catchingUp: false)
            let group = try await session.lifecycle.rotateGroupKey(parsed)
            try output.done(
                "Made \(group.holder), sealed to every \(parsed.rawValue). Move older records to "
                    + "it: tutela group rewrap \(parsed.rawValue)",
                GroupVersionJSON(group))
        }
    }

    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Give the group key to holders of the role who joined since (done by a member).")
        @Argument(help: "The role.") var role: String
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let parsed = try Role.parse(role)
            let session = try await actor.unlock(try await vault.open(), catchingUp: false)
            let added = try await session.lifecycle.syncGroup(parsed)
            if output.json {
                try Terminal.json(GroupSyncJSON(parsed, added: added))
                return
            }
            Terminal.out(
                added.isEmpty
                    ? "Every \(parsed.rawValue) already holds the key."
                    : "Added: " + added.joined(separator: ", "))
        }
    }
}
