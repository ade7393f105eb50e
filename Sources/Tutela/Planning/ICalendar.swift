/// A tutor's planned tutorials as an iCalendar file (RFC 5545): the learner's initials or id (as
/// the policy says), the place and the time — nothing from any record.
extension Planning {
    /// `tutor`'s plans (this person's when nil) as an iCalendar file, cancelled ones marked so,
    /// so that a diary that imported them drops them.
    /// - Throws: denied (77) for anyone but the tutor themselves or a head of centre.
    public func calendar(of tutor: PrincipalID? = nil) async throws -> String {
        let tutor = tutor.map(directory.resolve) ?? principal.id
        guard tutor == principal.id || principal.has(.headOfCentre) && !principal.revoked else {
            throw TutelaError.denied("a tutor's calendar is theirs and their head of centre's")
        }
        let policy = try policy()
        let plans = try await plans(tutor: tutor)
        return ICalendar.file(
            plans.map { plan in
                ICalendar.Event(
                    plan: plan,
                    learner: ICalendar.name(
                        plan.learner, directory: directory, shows: policy.tutorials.calendarShows),
                    zone: policy.timeZone)
            }, now: vault.clock.now())
    }
}

/// RFC 5545 text: content lines of at most 75 octets, folded, ended with CRLF; TEXT values
/// escaped.
public enum ICalendar {
    /// One planned tutorial as an event.
    struct Event {
        let plan: TutorialPlan
        let learner: String
        let zone: String

        /// The event's lines in a file made at `now`.
        func lines(now: Int64) -> [String] {
            var lines = [
                "BEGIN:VEVENT",
                "UID:\(plan.id.text)@tutela",
                "DTSTAMP:\(ICalendar.utc(now))",
                "LAST-MODIFIED:\(ICalendar.utc(plan.time))",
                "SEQUENCE:\(plan.revision)",
            ]
            if let start = plan.startMinute {
                let begins = PlanTime.instant(plan.day, minute: start, zone: zone)
                lines.append("DTSTART:\(ICalendar.utc(begins))")
                lines.append("DTEND:\(ICalendar.utc(begins + Int64(plan.minutes) * 60))")
            } else {
                lines.append("DTSTART;VALUE=DATE:\(ICalendar.date(plan.day))")
                lines.append("DTEND;VALUE=DATE:\(ICalendar.date(plan.day.adding(days: 1)))")
            }
            lines.append("SUMMARY:" + ICalendar.text("Tutorial – \(learner)"))
            if !plan.place.isEmpty { lines.append("LOCATION:" + ICalendar.text(plan.place)) }
            lines.append("STATUS:" + (plan.status == .cancelled ? "CANCELLED" : "CONFIRMED"))
            lines.append("END:VEVENT")
            return lines
        }
    }

    /// The whole file.
    static func file(_ events: [Event], now: Int64) -> String {
        let lines =
            [
                "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Tutela//Tutorial plans//EN",
                "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
            ] + events.flatMap { $0.lines(now: now) } + ["END:VCALENDAR"]
        return lines.map(fold).joined()
    }

    /// How the calendar names `learner`: initials ("A. P.") or their id.
    static func name(_ learner: LearnerID, directory: Directory, shows: CalendarName) -> String {
        guard shows == .initials, let name = directory.learners[learner]?.name else {
            return learner.text
        }
        let initials = name.split(whereSeparator: \.isWhitespace).compactMap(\.first)
        return initials.isEmpty ? learner.text : initials.map { "\($0.uppercased())." }.joined()
    }

    /// A content line folded after at most 75 octets (never inside a character's UTF-8 bytes;
    /// a character of several scalars may be split between them, as RFC 5545 allows), ended with
    /// CRLF.
    static func fold(_ line: String) -> String {
        var out = ""
        var octets = 0
        for scalar in line.unicodeScalars {
            let size = String(scalar).utf8.count
            if octets + size > 75 {
                out += "\r\n "
                octets = 1
            }
            out.unicodeScalars.append(scalar)
            octets += size
        }
        return out + "\r\n"
    }

    /// A TEXT value: backslash, semicolon, comma and line breaks escaped; other controls dropped.
    static func text(_ value: String) -> String {
        var out = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case ";": out += "\\;"
            case ",": out += "\\,"
            case "\n": out += "\\n"
            default:
                if scalar.properties.generalCategory != .control {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// `YYYYMMDDTHHMMSSZ`.
    static func utc(_ seconds: Int64) -> String {
        Timestamp.iso(seconds).filter { $0 != "-" && $0 != ":" }
    }

    /// `YYYYMMDD`.
    static func date(_ day: CalendarDate) -> String { day.description.filter { $0 != "-" } }
}
