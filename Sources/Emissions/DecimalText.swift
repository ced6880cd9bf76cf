/// Sums read as decimals. A total of many samples is added up in binary floating point, so a sum of decimal
/// inputs carries noise in its last digits (`713.0000000000007`, `1.9999999999999916`). Figures Soot writes out
/// (exports, the API's numbers) are rounded to `significantDigits` significant digits, beyond what any meter
/// measures and short of where the noise starts, so that sum reads `713` and `2`. Whole numbers written without a
/// point or exponent (counts) are never touched.
public enum DecimalText {
    /// Ten significant digits. Adding n samples one by one can be off by about n × 10⁻¹⁶ of the sum: a run of a
    /// hundred thousand samples is still exact to eleven digits. No energy meter is precise to more than six.
    public static let significantDigits = 10

    /// `value` as the shortest decimal text with at most `significant` significant digits (Swift's notation:
    /// `0.3`, `713`, `1.5e-05`); `nil` text for non-finite values is the caller's business (`"nan"`, `"inf"` pass).
    public static func format(_ value: Double, significant: Int = significantDigits) -> String {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return rounded(value.description, significant: significant)
    }

    /// Decimal text (`-12.345`, `0.000123`, `1.23e-05`, `1E+20`, as Swift or PostgreSQL print numbers) rounded to
    /// `significant` significant digits, trailing zeros after the point dropped; anything else is returned as it is.
    public static func rounded(_ text: String, significant: Int = significantDigits) -> String {
        var text = text
        return text.withUTF8 { bytes in
            var out: [UInt8] = []
            guard appendRounded(bytes, significant: significant, to: &out) else { return String(decoding: bytes, as: UTF8.self) }
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// Appends `field` rounded as `rounded` does, or as it is: a field of at most `significant` + 1 bytes has no
    /// more digits than that and is copied without a look (the exports' hot path).
    public static func append(_ field: UnsafeBufferPointer<UInt8>, to out: inout [UInt8], significant: Int = significantDigits) {
        if field.count <= significant + 1 || !appendRounded(field, significant: significant, to: &out) {
            out.append(contentsOf: field)
        }
    }

    /// Appends the rounded text and returns true; returns false, appending nothing, when `text` is not a decimal
    /// number or already has at most `significant` significant digits. Allocates nothing of its own.
    static func appendRounded(_ text: UnsafeBufferPointer<UInt8>, significant: Int, to out: inout [UInt8]) -> Bool {
        guard text.count <= 64, significant >= 1 else { return false }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { digits -> Bool in
            var index = 0
            var negative = false
            if index < text.count, text[index] == UInt8(ascii: "-") || text[index] == UInt8(ascii: "+") {
                negative = text[index] == UInt8(ascii: "-")
                index += 1
            }
            // The significant digits (leading zeros skipped), and where the point sits relative to the first.
            var count = 0
            var point: Int?
            var sawDigit = false
            var leadingZeros = 0
            while index < text.count {
                let byte = text[index]
                if byte >= 0x30 && byte <= 0x39 {
                    sawDigit = true
                    if count == 0 && byte == 0x30 {
                        leadingZeros += 1
                    } else {
                        digits[count] = byte - 0x30
                        count += 1
                    }
                } else if byte == UInt8(ascii: "."), point == nil {
                    point = leadingZeros + count
                } else {
                    break
                }
                index += 1
            }
            guard sawDigit else { return false }
            let exponentStart = index
            if exponentStart < text.count {
                // Only an exponent may follow: e or E, an optional sign, digits.
                guard text[index] == UInt8(ascii: "e") || text[index] == UInt8(ascii: "E") else { return false }
                index += 1
                if index < text.count, text[index] == 0x2B || text[index] == 0x2D { index += 1 }
                guard index < text.count else { return false }
                while index < text.count {
                    guard text[index] >= 0x30 && text[index] <= 0x39 else { return false }
                    index += 1
                }
            }
            // A whole number without a point or exponent is a count: exact, never rounded.
            guard count > significant, point != nil || exponentStart < text.count else { return false }
            var pointPosition = (point ?? (leadingZeros + count)) - leadingZeros
            let roundUp = digits[significant] >= 5
            count = significant
            if roundUp {
                var position = count - 1
                while position >= 0 && digits[position] == 9 {
                    digits[position] = 0
                    position -= 1
                }
                if position >= 0 {
                    digits[position] += 1
                } else {
                    // 999… became 1000…: one more digit before the point.
                    digits[0] = 1
                    for zero in 1..<count { digits[zero] = 0 }
                    pointPosition += 1
                }
            }
            // Zeros after the point are dropped; zeros before it keep the magnitude.
            while count > max(pointPosition, 1), digits[count - 1] == 0 { count -= 1 }
            let allZero = (0..<count).allSatisfy { digits[$0] == 0 }
            if negative && !allZero { out.append(UInt8(ascii: "-")) }
            if pointPosition <= 0 {
                out.append(0x30)
                out.append(UInt8(ascii: "."))
                for _ in 0..<(-pointPosition) { out.append(0x30) }
                for position in 0..<count { out.append(digits[position] + 0x30) }
            } else {
                for position in 0..<count {
                    if position == pointPosition { out.append(UInt8(ascii: ".")) }
                    out.append(digits[position] + 0x30)
                }
                if pointPosition > count { for _ in count..<pointPosition { out.append(0x30) } }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: text[exponentStart...]))
            return true
        }
    }
}
