import Foundation

/// Names of the hierarchy's levels; the web layer adds the rules for reading them from a request.
package enum Naming {
    /// A URL slug from a name: lowercase ASCII letters and digits joined by single dashes.
    package static func slug(_ name: String) -> String {
        var result = ""
        var lastWasDash = true
        for scalar in name.lowercased().unicodeScalars {
            if (scalar >= "a" && scalar <= "z") || (scalar >= "0" && scalar <= "9") {
                result.unicodeScalars.append(scalar)
                lastWasDash = false
            } else if !lastWasDash {
                result += "-"
                lastWasDash = true
            }
            if result.count >= 60 { break }
        }
        while result.hasSuffix("-") { result.removeLast() }
        return result.isEmpty ? "n-" + String(Crypto.randomToken(bytes: 4).lowercased().filter { $0.isLetter || $0.isNumber }.prefix(6)) : result
    }
}
