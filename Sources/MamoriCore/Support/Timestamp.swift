/// A UTC instant with microsecond resolution. MamoriCore never reads a clock: callers pass these in.
///
/// Text form (journal, profiles, reports): `YYYY-MM-DDTHH:MM:SS.ffffffZ`, always 27 characters.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var microsecondsSinceEpoch: Int64

    public init(microsecondsSinceEpoch: Int64) { self.microsecondsSinceEpoch = microsecondsSinceEpoch }
    public init(secondsSinceEpoch: Int64) { self.microsecondsSinceEpoch = secondsSinceEpoch * 1_000_000 }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.microsecondsSinceEpoch < rhs.microsecondsSinceEpoch
    }

    public func adding(seconds: Int64) -> Timestamp {
        Timestamp(microsecondsSinceEpoch: microsecondsSinceEpoch + seconds * 1_000_000)
    }

    public func adding(microseconds: Int64) -> Timestamp {
        Timestamp(microsecondsSinceEpoch: microsecondsSinceEpoch + microseconds)
    }

    public var description: String { String(decoding: utf8, as: UTF8.self) }

    /// The 27-byte text form.
    public var utf8: [UInt8] {
        let micros = ((microsecondsSinceEpoch % 1_000_000) + 1_000_000) % 1_000_000
        let seconds = (microsecondsSinceEpoch - micros) / 1_000_000
        let secondOfDay = ((seconds % 86_400) + 86_400) % 86_400
        let days = (seconds - secondOfDay) / 86_400
        let (year, month, day) = Timestamp.civil(fromDays: days)
        var out: [UInt8] = []
        out.reserveCapacity(27)
        func put(_ value: Int64, width: Int) {
            var digits = [UInt8](repeating: UInt8(ascii: "0"), count: width)
            var rest = value
            for position in stride(from: width - 1, through: 0, by: -1) {
                digits[position] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            }
            out.append(contentsOf: digits)
        }
        put(year, width: 4); out.append(UInt8(ascii: "-"))
        put(month, width: 2); out.append(UInt8(ascii: "-"))
        put(day, width: 2); out.append(UInt8(ascii: "T"))
        put(secondOfDay / 3600, width: 2); out.append(UInt8(ascii: ":"))
        put(secondOfDay / 60 % 60, width: 2); out.append(UInt8(ascii: ":"))
        put(secondOfDay % 60, width: 2); out.append(UInt8(ascii: "."))
        put(micros, width: 6); out.append(UInt8(ascii: "Z"))
        return out
    }

    /// Parses the 27-character form exactly; also accepts `YYYY-MM-DDTHH:MM:SSZ` and a bare date
    /// `YYYY-MM-DD` (midnight UTC), which administrators write in profiles and on the command line.
    public init?(parsing text: some StringProtocol) {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for index in range {
                guard index < bytes.count else { return nil }
                let byte = bytes[index]
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard bytes.count == 10 || bytes.count == 20 || bytes.count == 27,
              let year = number(0..<4), bytes[4] == UInt8(ascii: "-"),
              let month = number(5..<7), bytes[7] == UInt8(ascii: "-"),
              let day = number(8..<10),
              (1...12).contains(month), (1...Timestamp.daysIn(month: month, year: year)).contains(day)
        else { return nil }
        var secondOfDay: Int64 = 0
        var micros: Int64 = 0
        if bytes.count > 10 {
            guard bytes[10] == UInt8(ascii: "T"),
                  let hour = number(11..<13), bytes[13] == UInt8(ascii: ":"),
                  let minute = number(14..<16), bytes[16] == UInt8(ascii: ":"),
                  let second = number(17..<19),
                  hour < 24, minute < 60, second < 60
            else { return nil }
            secondOfDay = hour * 3600 + minute * 60 + second
            if bytes.count == 20 {
                guard bytes[19] == UInt8(ascii: "Z") else { return nil }
            } else {
                guard bytes[19] == UInt8(ascii: "."), let fraction = number(20..<26), bytes[26] == UInt8(ascii: "Z") else { return nil }
                micros = fraction
            }
        }
        let days = Timestamp.days(fromCivil: year, month, day)
        self.microsecondsSinceEpoch = (days * 86_400 + secondOfDay) * 1_000_000 + micros
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's days-from-civil algorithms (proleptic Gregorian calendar).
    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (month <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, month, day)
    }
}
