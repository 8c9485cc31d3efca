import MamoriCore
import Testing

@Suite struct OTPAuthURITests {
    /// RFC 4648 §10.
    @Test(arguments: [("", ""), ("f", "MY======"), ("fo", "MZXQ===="), ("foo", "MZXW6==="), ("foob", "MZXW6YQ="),
                      ("fooba", "MZXW6YTB"), ("foobar", "MZXW6YTBOI======")])
    func base32MatchesRFC4648(plain: String, encoded: String) {
        #expect(Base32.encode(Array(plain.utf8), padded: true) == encoded)
        #expect(Base32.decode(encoded) == Array(plain.utf8))
        #expect(Base32.decode(encoded.lowercased()) == Array(plain.utf8))
    }

    @Test func base32RefusesOtherCharacters() {
        #expect(Base32.decode("MZXW1") == nil)
        #expect(Base32.decode("MZ!W6") == nil)
    }

    @Test func uriCarriesTheParameters() throws {
        let secret = Array("12345678901234567890".utf8)
        let totp = try #require(OTPCredential(factor: .totp, secret: secret, parameters: .standard))
        #expect(OTPAuthURI.make(user: "tanaka", issuer: "Ward Office", credential: totp)
            == "otpauth://totp/Ward%20Office:tanaka?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Ward%20Office&algorithm=SHA1&digits=6&period=30")
        let eight = try #require(OTPParameters(algorithm: .sha256, digits: 8))
        let hotp = try #require(OTPCredential(factor: .hotp, secret: secret, parameters: eight))
        #expect(OTPAuthURI.make(user: "a.b", issuer: "区役所", credential: hotp, counter: 3)
            == "otpauth://hotp/%E5%8C%BA%E5%BD%B9%E6%89%80:a.b?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=%E5%8C%BA%E5%BD%B9%E6%89%80&algorithm=SHA256&digits=8&counter=3")
    }

    @Test(arguments: [("tanaka", true), ("a.b-c_d", true), ("u1000", true), ("", false), (".hidden", false), ("-x", false),
                      ("../etc", false), ("Tanaka", false), ("a/b", false), ("田中", false), (String(repeating: "a", count: 33), false)])
    func userNamesAreStrict(name: String, valid: Bool) {
        #expect(MFAUserName.isValid(name) == valid)
    }
}
