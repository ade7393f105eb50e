import Foundation
import Tutela

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Everything the CLI writes: results to stdout, errors and progress to stderr.
enum Terminal {
    static func out(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func note(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// `tutela: error: …` and, where one helps, `tutela: hint: …`.
    static func error(_ error: TutelaError) {
        var text = "tutela: error: \(error.message)\n"
        if let hint = error.hint { text += "tutela: hint: \(hint)\n" }
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// `text` safe to print: control characters (escape sequences, carriage returns, newlines
    /// within a cell) and the characters that reorder text on screen are shown as `\u{…}`, so
    /// stored text can never drive someone's terminal or disguise what it says.
    static func printable(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            let value = scalar.value
            let reorders = (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value)
            if scalar.properties.generalCategory == .control || reorders {
                result += "\\u{" + String(value, radix: 16, uppercase: true) + "}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }
    static var stdinIsTerminal: Bool { isatty(STDIN_FILENO) == 1 }

    /// One JSON document on stdout, keys sorted so output is stable.
    static func json<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }

    /// Reads a line from the terminal without echoing it.
    static func readSecret(prompt: String) throws -> String {
        guard let tty = fopen("/dev/tty", "r+") else {
            throw TutelaError(.usage, "no terminal to ask for a passphrase")
        }
        defer { fclose(tty) }
        let fd = fileno(tty)
        fputs(prompt, tty)
        fflush(tty)
        var saved = termios()
        tcgetattr(fd, &saved)
        var silent = saved
        silent.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(fd, TCSAFLUSH, &silent)
        defer {
            tcsetattr(fd, TCSAFLUSH, &saved)
            fputs("\n", tty)
        }
        var buffer = [CChar](repeating: 0, count: 1024)
        defer {
            _ = buffer.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) }
        }
        guard fgets(&buffer, Int32(buffer.count), tty) != nil else {
            throw TutelaError(.usage, "no passphrase was entered")
        }
        let length = buffer.firstIndex(of: 0) ?? buffer.count
        let text = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text
    }
}
