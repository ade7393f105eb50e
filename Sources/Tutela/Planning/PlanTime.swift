import Foundation

/// Days and times of planned tutorials: typed and shown in the centre's time zone, written to
/// calendars in UTC.
public enum PlanTime {
    /// The day `seconds` since 1970 falls on in `zone` (UTC for a zone this machine does not know).
    public static func localDay(_ seconds: Int64, zone: String) -> CalendarDate {
        CalendarDate(secondsSinceEpoch: seconds + offset(at: seconds, zone: zone))
    }

    /// The instant `minute` minutes after midnight on `day` in `zone`, in seconds since 1970. In
    /// the hour a clock goes back, the earlier of the two; in the hour it skips, read with the
    /// offset before the change (an hour on).
    public static func instant(_ day: CalendarDate, minute: Int, zone: String) -> Int64 {
        let local = Int64(day.daysSinceEpoch) * 86_400 + Int64(minute) * 60
        // The offsets in force a day either side: an instant is the local time less the one in
        // force at it. None fits in a skipped hour; both may in a repeated one.
        let before = offset(at: local - 86_400, zone: zone)
        let after = offset(at: local + 86_400, zone: zone)
        let fitting = Set([before, after]).map { local - $0 }.filter {
            local - offset(at: $0, zone: zone) == $0
        }
        return fitting.min() ?? local - before
    }

    /// `HH:MM` for `minute` minutes after midnight.
    public static func clock(_ minute: Int) -> String {
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(two(minute / 60)):\(two(minute % 60))"
    }

    /// Minutes after midnight from `HH:MM` (24-hour), or nil.
    public static func minute(_ text: String) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2,
            parts.allSatisfy({ $0.count == 2 && $0.allSatisfy { ("0"..."9").contains($0) } }),
            let h = Int(parts[0]), let m = Int(parts[1]), (0..<24).contains(h), (0..<60).contains(m)
        else { return nil }
        return h * 60 + m
    }

    private static func offset(at seconds: Int64, zone: String) -> Int64 {
        guard let tz = TimeZone(identifier: zone) else { return 0 }
        return Int64(tz.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(seconds))))
    }
}

/// How plans read in notices and lists.
enum PlanWords {
    /// `Tue 2027-01-12 at 10:00 for 30 minutes, in Room 4, with Ann Price`.
    static func when(_ plan: TutorialPlan, directory: Directory) -> String {
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][
            ((plan.day.daysSinceEpoch % 7) + 7) % 7]
        let time = plan.startMinute.map { " at \(PlanTime.clock($0))" } ?? ", time to be agreed"
        let place = plan.place.isEmpty ? ", place to be agreed" : ", in \(plan.place)"
        let tutor = directory.principals[plan.tutor]?.name ?? plan.tutor.text
        return "\(weekday) \(plan.day)\(time) for \(plan.minutes) minutes\(place), with \(tutor)"
    }

    /// The audit entry's words, which are the notice each person is sent.
    static func notice(
        _ plan: TutorialPlan, action: AuditEntry.Action, directory: Directory, daysNotice: Int,
        shortOf: Int?
    ) -> String {
        let when = when(plan, directory: directory)
        var words: String
        switch action {
        case .planChange: words = "\(plan.id) changed: now \(when). Why: \(plan.reason)"
        case .planCancel: words = "\(plan.id) cancelled (was \(when)). Why: \(plan.reason)"
        case .planHeld: words = "\(plan.id) held"
        default: words = "tutorial \(plan.id) planned: \(when)"
        }
        if let shortOf {
            words +=
                " — short notice: \(daysNotice) day\(daysNotice == 1 ? "" : "s"), where "
                + "\(shortOf) are asked"
        }
        return words
    }
}
