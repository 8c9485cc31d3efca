import MamoriCore
import Testing

@Suite struct OneTimePasswordTests {
    static let rfc4226Secret = Array("12345678901234567890".utf8)

    /// RFC 4226 Appendix D.
    @Test(arguments: zip(0..<10, [755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489] as [UInt32]))
    func hotpMatchesRFC4226(counter: Int, expected: UInt32) {
        #expect(OneTimePassword.hotp(secret: Self.rfc4226Secret, counter: UInt64(counter), parameters: .standard) == expected)
    }

    struct TOTPVector: Sendable, CustomTestStringConvertible {
        var time: Int64
        var algorithm: OTPHashAlgorithm
        var code: String
        var testDescription: String { "\(time) \(algorithm.rawValue)" }
    }

    /// RFC 6238 Appendix B (8 digits, 30-second step, the appendix's per-algorithm seeds).
    static let rfc6238: [TOTPVector] = {
        let rows: [(Int64, String, String, String)] = [
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ]
        return rows.flatMap { row in
            [TOTPVector(time: row.0, algorithm: .sha1, code: row.1),
             TOTPVector(time: row.0, algorithm: .sha256, code: row.2),
             TOTPVector(time: row.0, algorithm: .sha512, code: row.3)]
        }
    }()

    static func rfc6238Seed(_ algorithm: OTPHashAlgorithm) -> [UInt8] {
        let base = Array("1234567890".utf8)
        let length = switch algorithm { case .sha1: 20; case .sha256: 32; case .sha512: 64 }
        return (0..<length).map { base[$0 % base.count] }
    }

    @Test(arguments: rfc6238)
    func totpMatchesRFC6238(vector: TOTPVector) throws {
        let parameters = try #require(OTPParameters(algorithm: vector.algorithm, digits: 8, timeStep: 30))
        let value = OneTimePassword.totp(secret: Self.rfc6238Seed(vector.algorithm), unixSeconds: vector.time, parameters: parameters)
        #expect(OneTimePassword.format(value, digits: 8) == vector.code)
    }

    @Test func sevenDigitsAreTheLowDigitsOfTheSameValue() throws {
        let seven = try #require(OTPParameters(digits: 7))
        let value = OneTimePassword.totp(secret: Self.rfc6238Seed(.sha1), unixSeconds: 59, parameters: seven)
        #expect(OneTimePassword.format(value, digits: 7) == "4287082")
    }

    @Test(arguments: [(5, Int64(30)), (9, 30), (6, 0), (6, -30), (6, 3601)])
    func parametersOutOfRangeAreRefused(digits: Int, step: Int64) {
        #expect(OTPParameters(digits: digits, timeStep: step) == nil)
    }

    @Test func timeStepFloorsNegativeTimes() {
        #expect(OneTimePassword.timeStep(at: 0, parameters: .standard) == 0)
        #expect(OneTimePassword.timeStep(at: 29, parameters: .standard) == 0)
        #expect(OneTimePassword.timeStep(at: 30, parameters: .standard) == 1)
        #expect(OneTimePassword.timeStep(at: -1, parameters: .standard) == -1)
        #expect(OneTimePassword.timeStep(at: -30, parameters: .standard) == -1)
    }

    @Test(arguments: ["12345", "1234567", "12345a", " 12345", "１２３４５６", "", "+12345", "123\u{0}45"])
    func parseRefusesAnythingButExactDigits(text: String) {
        #expect(OneTimePassword.parse(text, digits: 6) == nil)
    }

    @Test func parseAndFormatRoundTripLeadingZeros() {
        #expect(OneTimePassword.parse("007081", digits: 6) == 7081)
        #expect(OneTimePassword.format(7081, digits: 6) == "007081")
    }

    @Test func constantTimeEqualityAgreesWithEquality() {
        let values: [UInt32] = [0, 1, 0x100, 0x10000, 0x1000000, 0x80000000, 99_999_999]
        for lhs in values {
            for rhs in values { #expect(ConstantTime.equal(lhs, rhs) == (lhs == rhs)) }
        }
        #expect(ConstantTime.equal([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equal([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equal([1, 2, 3], [1, 2]))
    }

    @Test func recoveryCodesHashWithSaltAndNormalise() throws {
        let code = try #require(RecoveryCode.make(random: Array(0..<12)))
        #expect(code.count == 14)
        #expect(code.split(separator: "-").count == 3)
        let salt = [UInt8](repeating: 7, count: RecoveryCode.saltLength)
        let stored = try #require(RecoveryCode.hashed(code, salt: salt))
        #expect(stored.matches(code))
        #expect(stored.matches(String(code.uppercased().map { $0 == "-" ? " " : $0 })))
        #expect(!stored.matches(code + "a"))
        let other = try #require(RecoveryCode.hashed(code, salt: [UInt8](repeating: 8, count: RecoveryCode.saltLength)))
        #expect(other.digest != stored.digest)
        #expect(RecoveryCode.make(random: Array(0..<11)) == nil)
    }
}
