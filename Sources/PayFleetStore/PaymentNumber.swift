import Foundation

/// Payment numbers: the out_trade_no a channel sees. At most 32 ASCII letters and digits,
/// which every channel accepts (WeChat Pay allows 6–32, Alipay 64, Stripe metadata any).
public enum PaymentNumber {
    /// Whether `text` is 1 to 32 ASCII letters and digits.
    public static func isValid(_ text: String) -> Bool {
        let bytes = text.utf8
        return (1...32).contains(bytes.count)
            && bytes.allSatisfy { byte in
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                    || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
            }
    }

    /// A new payment number: `P`, the UTC time as yyyyMMddHHmmss, and 16 random base-36
    /// characters (about 82 bits) — 31 characters, sortable by creation time.
    public static func generate(at date: Date = Date()) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func pad(_ value: Int?, _ width: Int) -> String {
            let text = String(value ?? 0)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        var result =
            "P" + pad(c.year, 4) + pad(c.month, 2) + pad(c.day, 2) + pad(c.hour, 2) + pad(c.minute, 2)
            + pad(c.second, 2)
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        var random = SystemRandomNumberGenerator()
        while result.count < 31 {
            result.append(alphabet[Int(random.next(upperBound: UInt8(alphabet.count)))])
        }
        return result
    }
}
