/// A calendar date (`YYYY-MM-DD`) with no time zone: the dates on the paper form and in labels.
public struct CalendarDate: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The year; 1900–2200 for a date parsed from text.
    public let year: Int
    /// The month, 1–12.
    public let month: Int
    /// The day of the month, from 1.
    public let day: Int

    /// Parses `YYYY-MM-DD`, refusing impossible dates (2026-02-30) and years outside 1900–2200.
    public init?(_ text: String) {
        self.init(utf8: Array(text.utf8))
    }

    /// Parses the UTF-8 bytes of `YYYY-MM-DD`, with the same rules.
    init?(utf8: [UInt8]) {
        self.init(utf8: utf8[...])
    }

    init?(utf8 slice: ArraySlice<UInt8>) {
        // Exactly ten ASCII bytes: four digits, '-', two digits, '-', two digits.
        let base = slice.startIndex
        guard slice.count == 10, slice[base + 4] == UInt8(ascii: "-"),
            slice[base + 7] == UInt8(ascii: "-")
        else {
            return nil
        }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for i in range {
                let byte = slice[base + i]
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let y = number(0..<4), let m = number(5..<7), let d = number(8..<10) else {
            return nil
        }
        guard (1900...2200).contains(y), (1...12).contains(m),
            (1...CalendarDate.daysIn(month: m, year: y)).contains(d)
        else { return nil }
        (year, month, day) = (y, m, d)
    }

    init(year: Int, month: Int, day: Int) {
        (self.year, self.month, self.day) = (year, month, day)
    }

    /// The latest date a person may give for something that has happened, by a clock whose day
    /// is `today` in UTC: tomorrow, since a centre east of UTC is a day ahead for some hours.
    public static func latestPast(today: CalendarDate) -> CalendarDate { today.adding(days: 1) }

    /// Days since 1970-01-01 (negative before), for arithmetic and comparisons.
    public var daysSinceEpoch: Int {
        // Howard Hinnant's days_from_civil.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// The date of a day count since 1970-01-01.
    public init(daysSinceEpoch z0: Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.init(year: yoe + era * 400 + (m <= 2 ? 1 : 0), month: m, day: d)
    }

    /// The UTC date of a moment given as seconds since 1970.
    public init(secondsSinceEpoch: Int64) {
        let days =
            secondsSinceEpoch >= 0 ? secondsSinceEpoch / 86400 : (secondsSinceEpoch - 86399) / 86400
        self.init(daysSinceEpoch: Int(days))
    }

    /// The date written `YYYY-MM-DD`.
    public var description: String {
        guard (0...9999).contains(year), (0...99).contains(month), (0...99).contains(day) else {
            func pad(_ v: Int, _ n: Int) -> String {
                let s = String(v)
                return String(repeating: "0", count: Swift.max(0, n - s.count)) + s
            }
            return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
        }
        var bytes = [UInt8](repeating: UInt8(ascii: "-"), count: 10)
        func digits(_ value: Int, _ end: Int, _ count: Int) {
            var v = value
            for i in stride(from: end - 1, through: end - count, by: -1) {
                bytes[i] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
            }
        }
        digits(year, 4, 4)
        digits(month, 7, 2)
        digits(day, 10, 2)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether `a` is an earlier day than `b`.
    public static func < (a: CalendarDate, b: CalendarDate) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Decodes a `YYYY-MM-DD` string, with the same checks as ``init(_:)``.
    /// - Throws: `DecodingError.dataCorrupted` if the string is not such a date.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let date = CalendarDate(text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "not a YYYY-MM-DD date"))
        }
        self = date
    }

    /// Encodes the date as its `YYYY-MM-DD` string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Where Tutela reads the time, so tests can fix it.
public struct Clock: Sendable {
    /// Seconds since 1970-01-01 UTC.
    public let now: @Sendable () -> Int64

    /// A clock that reads the time from `now`, in seconds since 1970 UTC; tests pass a fixed one.
    public init(now: @escaping @Sendable () -> Int64) {
        self.now = now
    }

    /// The system clock.
    public static let system = Clock {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec)
    }

    /// Today's date in UTC.
    public var today: CalendarDate { CalendarDate(secondsSinceEpoch: now()) }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
