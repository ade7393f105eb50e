import ArgumentParser
import Foundation
import Tutela

#if canImport(Glibc)
    import Glibc
#endif

/// `tutorial new` and `note new`: the form as a commented template — printed, written to a file,
/// or opened in the person's editor and sealed when saved.
struct DraftOptions: ParsableArguments {
    @Option(help: "The learner the record is about.") var learner: String
    @Option(help: "Write the template to this new file (kept private to you) instead.")
    var out: String?
    @Flag(
        help: """
            Open the template in $VISUAL or $EDITOR and seal it when saved (the default on a \
            terminal when one is set).
            """)
    var edit = false
}

enum Drafting {
    enum Kind {
        case tutorial(confidential: Bool)
        case note

        var name: String {
            switch self {
            case .tutorial: return "tutorial"
            case .note: return "note"
            }
        }

        /// How the filled-in file is sealed.
        func sealCommand(_ file: String) -> String {
            switch self {
            case .tutorial(let confidential):
                return "tutela tutorial seal \(file)" + (confidential ? " --confidential" : "")
            case .note: return "tutela note seal \(file)"
            }
        }
    }

    /// The class of record the template is for.
    static func recordClass(_ kind: Kind) -> RecordClass {
        switch kind {
        case .tutorial(let confidential): return confidential ? .confidentialTutorial : .tutorial
        case .note: return .informalNote
        }
    }

    /// What the command does with the template: edit and seal, write to a file, or print it.
    static func run(
        _ kind: Kind, options: DraftOptions, actor: ActorOptions, vault: VaultOptions,
        output: OutputOptions
    ) async throws {
        let learner = try LearnerID(options.learner)
        let editor = Editor.chosen()
        let editing =
            options.out == nil && (options.edit || (editor != nil && Terminal.stdinIsTerminal))
        if editing, editor == nil {
            throw TutelaError(
                .usage, "--edit needs an editor: set $VISUAL or $EDITOR",
                hint: "or write the template to a file with --out FILE")
        }
        let session = try await actor.unlock(try await vault.open())
        let text = try session.template(for: recordClass(kind), learner: learner)
        guard editing, let editor else {
            if let out = options.out {
                try OutputFile.write(out, text)
                return try output.done(
                    "Wrote \(out). Fill it in, then: \(kind.sealCommand(out)) --as "
                        + "\(session.principal.id)",
                    ["file": "\(out)"])
            }
            // Told on the error stream: the template alone goes to stdout (`> review.yaml`).
            Terminal.note(
                "Save this as a file, fill it in, then: \(kind.sealCommand("FILE")) (or set "
                    + "$EDITOR, or use --out FILE).")
            return Terminal.out(text, terminator: "")
        }
        let label = try await Editor.draft(text, kind: kind, editor: editor) { bytes in
            switch kind {
            case .tutorial(let confidential):
                let form = try ProgressReview.parse(bytes, source: "the draft")
                return { try await session.seal(form, confidential: confidential) }
            case .note:
                let note = try InformalNote.parse(bytes, source: "the draft")
                return { try await session.seal(.informalNote(note), as: .informalNote) }
            }
        }
        try output.show(sealed: label)
    }
}

/// A draft in the person's editor, kept only in memory-backed storage and wiped afterwards.
enum Editor {
    /// `$VISUAL`, else `$EDITOR`, if set.
    static func chosen() -> String? {
        let env = ProcessInfo.processInfo.environment
        return [env["VISUAL"], env["EDITOR"]].compactMap { $0 }.first { !$0.isEmpty }
    }

    /// A folder for the draft on a memory-backed file system (never the disk): the session's
    /// runtime folder, else /dev/shm.
    static func memoryFolder() throws -> String {
        let candidates = [ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"], "/dev/shm"]
        // The draft must never reach a disk, where the record's words would stay.
        for case let folder? in candidates where !folder.isEmpty {
            if ["tmpfs", "ramfs"].contains(fileSystem(of: folder)) { return folder }
        }
        throw TutelaError(
            .usage,
            "there is no memory-backed folder for a draft ($XDG_RUNTIME_DIR or /dev/shm): a draft "
                + "on disk would leave the record's words there",
            hint: "write the template to a file you keep private with --out FILE")
    }

    /// The type of the file system holding `folder` ("tmpfs", "ext4", …), from the mount table:
    /// the longest mount point that contains it.
    static func fileSystem(of folder: String) -> String? {
        guard let real = realpath(folder, nil) else { return nil }
        let path = String(cString: real)
        free(real)
        guard let table = try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8) else {
            return nil
        }
        var best: (point: String, type: String)?
        for line in table.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { continue }
            let point = String(fields[1]).replacingOccurrences(of: "\\040", with: " ")
            let inside = point == "/" || path == point || path.hasPrefix(point + "/")
            if inside, point.count >= (best?.point.count ?? -1) {
                best = (point, String(fields[2]))
            }
        }
        return best?.type
    }

    /// Opens `template` in `editor`; when saved and valid, runs what `parse` returns. A draft
    /// that does not parse is shown again on a terminal, with the problem; unchanged, or the
    /// editor failing, nothing is sealed. The draft's folder is wiped whatever happens.
    static func draft<T>(
        _ template: String, kind: Drafting.Kind, editor: String,
        parse: ([UInt8]) throws -> () async throws -> T
    ) async throws -> T {
        let base = try memoryFolder()
        var pattern = Array("\(base)/tutela-draft-XXXXXX".utf8CString)
        guard
            let folder = pattern.withUnsafeMutableBufferPointer({ buffer in
                buffer.baseAddress.flatMap { mkdtemp($0) }.map { String(cString: $0) }
            })
        else {
            throw TutelaError(.tryAgain, "could not make a private folder for the draft in \(base)")
        }
        defer { wipe(folder) }
        let file = "\(folder)/\(kind.name).yaml"
        guard
            FileManager.default.createFile(
                atPath: file, contents: Data(template.utf8),
                attributes: [.posixPermissions: 0o600])
        else { throw TutelaError(.tryAgain, "could not write the draft in \(folder)") }
        while true {
            let status = try runEditor(editor, file: file)
            guard status == 0 else {
                throw TutelaError(
                    .usage, "the editor exited with status \(status): nothing was sealed")
            }
            let bytes = [UInt8](FileManager.default.contents(atPath: file) ?? Data())
            guard bytes != Array(template.utf8) else {
                throw TutelaError(.usage, "the draft was not changed: nothing was sealed")
            }
            do {
                let seal = try parse(bytes)
                return try await seal()
            } catch let error as TutelaError {
                // A form that does not parse, or a seal refused or interrupted (a busy vault, a
                // policy that changed): on a terminal the tutor may edit and try again, and is
                // never left without what they wrote.
                guard Terminal.stdinIsTerminal else { throw error }
                Terminal.error(error)
                FileHandle.standardError.write(Data("Edit the draft and try again? [Y/n] ".utf8))
                let answer = readLine()?.lowercased() ?? "n"
                guard answer.isEmpty || answer == "y" || answer == "yes" else {
                    if error.kind != .invalidInput {
                        Terminal.note(
                            "Nothing was sealed. Your draft, so that nothing you wrote is lost:")
                        Terminal.out(String(decoding: bytes, as: UTF8.self))
                    }
                    throw TutelaError(.usage, "nothing was sealed")
                }
            }
        }
    }

    /// Runs the editor on `file` through the shell (an editor may be given with arguments, such
    /// as `code --wait`), with the terminal.
    static func runEditor(_ editor: String, file: String) throws -> Int32 {
        // The terminal closing, Ctrl-C or a polite kill reaches the editor and ends it; Tutela
        // itself waits (a handler, reset for the editor by exec) so that it still wipes the draft.
        let signals = [SIGHUP, SIGINT, SIGTERM, SIGQUIT]
        let previous = signals.map { signal($0) { _ in } }
        defer { for (s, handler) in zip(signals, previous) { signal(s, handler) } }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "\(editor) \"$1\"", "tutela-editor", file]
        do { try process.run() } catch {
            throw TutelaError(.usage, "could not start the editor '\(editor)': \(error)")
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Overwrites every file under `folder` (the draft and any copy the editor kept beside it) with
    /// zeros, then removes them, their folders and `folder`. Links are removed, never followed.
    static func wipe(_ folder: String, depth: Int = 0) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        for name in names {
            let path = "\(folder)/\(name)"
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR where depth < 8: wipe(path, depth: depth + 1)
            case S_IFREG: overwrite(path)
            default: break
            }
            unlink(path)
        }
        rmdir(folder)
    }

    /// Writes zeros over a regular file's bytes, through no link.
    static func overwrite(_ path: String) {
        let fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return }
        let zeros = [UInt8](repeating: 0, count: 65536)
        var left = Int(info.st_size)
        while left > 0 {
            let n = zeros.withUnsafeBytes { write(fd, $0.baseAddress, min(left, 65536)) }
            if n <= 0 { break }
            left -= n
        }
        fsync(fd)
    }
}

extension TutorialCommand {
    struct New: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a tutorial on the progress-review form, as a commented template.",
            discussion: """
                With $VISUAL or $EDITOR set, on a terminal, the form opens in your editor and is \
                sealed when you save it and close the editor (an unchanged form seals nothing). \
                The draft lives only in memory-backed storage ($XDG_RUNTIME_DIR or /dev/shm) and \
                is wiped afterwards. Otherwise the template is printed, or written with --out \
                FILE, to fill in and seal with 'tutela tutorial seal FILE'. The learner and today's \
                date are filled in, and the course and form tutor for a learner you may list.
                """)

        @OptionGroup var draft: DraftOptions
        @OptionGroup var confidentiality: ConfidentialOption
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await Drafting.run(
                .tutorial(confidential: confidentiality.confidential), options: draft, actor: actor,
                vault: vault,
                output: output)
        }
    }
}

extension NoteCommand {
    struct New: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write an informal support note, as a commented template.",
            discussion: """
                As 'tutela tutorial new': in your editor, sealed when saved, or printed (--out \
                FILE writes it) to fill in and seal with 'tutela note seal FILE'.
                """)

        @OptionGroup var draft: DraftOptions
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await Drafting.run(
                .note, options: draft, actor: actor, vault: vault, output: output)
        }
    }
}
