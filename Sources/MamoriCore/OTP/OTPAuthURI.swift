/// The `otpauth://` URI authenticator apps import (Key Uri Format): label `ISSUER:USER`, the
/// secret in base32, and the parameters this credential uses.
public enum OTPAuthURI {
    public static func make(user: String, issuer: String, credential: OTPCredential, counter: UInt64 = 0) -> String {
        let label = escape(issuer) + ":" + escape(user)
        var query = "secret=\(Base32.encode(credential.secret))&issuer=\(escape(issuer))"
            + "&algorithm=\(credential.parameters.algorithm.rawValue)&digits=\(credential.parameters.digits)"
        switch credential.factor {
        case .totp: query += "&period=\(credential.parameters.timeStep)"
        case .hotp: query += "&counter=\(counter)"
        }
        return "otpauth://\(credential.factor.rawValue)/\(label)?\(query)"
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters.
    static func escape(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            let isUnreserved = (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "~")
            if isUnreserved {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]], as: UTF8.self)
            }
        }
        return out
    }
}
