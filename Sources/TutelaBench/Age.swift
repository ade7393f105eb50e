import Foundation

/// Debian's `age` encrypting the same forms to the same number of recipients: once per file (how a
/// password-protected file is used today) and as one stream (its best case).
struct AgeResult {
    var version = ""
    var recipients = 0
    var files = 0
    var perFile = 0.0
    var streamRecords = 0
    var streamBytes = 0
    var stream = 0.0
}

enum AgeComparison {
    static func find() -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
        {
            let path = "\(dir)/age"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchError(
                "\(tool) \(arguments.joined(separator: " ")) failed: \(data.count) bytes")
        }
        return String(decoding: data, as: UTF8.self)
    }

    static func measure(
        age: String, recipients: Int, files: Int, streamRecords: Int, root: URL
    ) throws -> AgeResult {
        let keygen = URL(fileURLWithPath: age).deletingLastPathComponent()
            .appendingPathComponent("age-keygen").path
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        var result = AgeResult()
        result.version = try run(age, ["--version"]).trimmingCharacters(in: .whitespacesAndNewlines)
        result.recipients = recipients
        var args: [String] = []
        for i in 0..<recipients {
            let key = root.appendingPathComponent("key\(i).txt").path
            try run(keygen, ["-o", key])
            let publicKey = try run(keygen, ["-y", key]).trimmingCharacters(
                in: .whitespacesAndNewlines)
            args += ["-r", publicKey]
        }
        // Once per file.
        var generator = FormGenerator(seed: 2026)
        var paths: [String] = []
        for i in 0..<files {
            let path = root.appendingPathComponent("form\(i).json").path
            let form = generator.form(learner: try learnerID(i % 100).text, tutor: "t01")
            _ = FileManager.default.createFile(atPath: path, contents: Data(form.utf8))
            paths.append(path)
        }
        result.files = files
        result.perFile =
            try seconds {
                for path in paths { try run(age, args + ["-o", path + ".age", path]) }
            } / Double(max(files, 1))
        // One stream of every form.
        let stream = root.appendingPathComponent("stream.jsonl")
        result.streamBytes = try writeForms(
            to: stream, count: streamRecords, learners: max(20, streamRecords / 100),
            tutorOf: { _ in "t01" })
        result.streamRecords = streamRecords
        result.stream = try seconds {
            try run(age, args + ["-o", stream.path + ".age", stream.path])
        }
        return result
    }
}
