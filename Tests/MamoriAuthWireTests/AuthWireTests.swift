import MamoriAuthWire
import Testing

/// SplitMix64: a seeded generator, so a garbage case that fails can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct AuthWireTests {
    static let request = AuthRequest(user: "tanaka", service: "login", tty: "/dev/tty1", rhost: "", code: "123456")

    @Test func requestRoundTrips() throws {
        let frame = try Self.request.encoded()
        #expect(try AuthFrame.bodyLength(header: Array(frame.prefix(4))) == frame.count - 4)
        #expect(try AuthRequest(body: AuthFrame.body(ofFrame: frame)) == Self.request)
    }

    @Test(arguments: AuthResponse.Status.allCases)
    func responseRoundTrips(status: AuthResponse.Status) throws {
        let response = AuthResponse(status: status, message: "メッセージ")
        #expect(try AuthResponse(body: AuthFrame.body(ofFrame: response.encoded())) == response)
    }

    @Test func theEncodingIsPinned() throws {
        let frame = try AuthRequest(user: "a", service: "b", code: "1").encoded()
        #expect(frame == [0, 0, 0, 17, 0x4D, 0x41, 1, 1, 0, 1, 0x61, 0, 1, 0x62, 0, 0, 0, 0, 0, 1, 0x31])
    }

    @Test func oversizedOrNULFieldsAreNotEncoded() {
        do {
            _ = try AuthRequest(user: String(repeating: "u", count: 65), service: "login", code: "1").encoded()
            Issue.record("a 65-byte user was encoded")
        } catch {
            #expect(error == AuthWireError(.fieldTooLong, field: "user"))
        }
        do {
            _ = try AuthRequest(user: "u", service: "login", code: "1\u{0}2").encoded()
            Issue.record("a NUL was encoded")
        } catch {
            #expect(error == AuthWireError(.badField, field: "code"))
        }
    }

    @Test(arguments: [([0, 0, 4, 1] as [UInt8], AuthWireError.Code.frameTooLong), ([0xFF, 0xFF, 0xFF, 0xFF], .frameTooLong),
                      ([0, 0, 4], .frameTruncated)])
    func headerBoundIsEnforced(header: [UInt8], code: AuthWireError.Code) {
        do {
            _ = try AuthFrame.bodyLength(header: header)
            Issue.record("header \(header) accepted")
        } catch {
            #expect(error.code == code)
        }
    }

    static func body(_ bytes: [UInt8]) -> [UInt8] { [0x4D, 0x41, 1, 2] + bytes }

    @Test(arguments: [
        ([0x4D, 0x41, 1] as [UInt8], AuthWireError.Code.frameTruncated),
        ([0x4E, 0x41, 1, 2, 0, 0, 0, 0], .badMagic),
        ([0x4D, 0x41, 2, 2, 0, 0, 0, 0], .badVersion),
        ([0x4D, 0x41, 1, 1, 0, 0, 0, 0], .badType),
        (body([0, 8] + Array("accepted".utf8) + [0, 0, 0]), .trailingBytes),
        (body([0, 8] + Array("accepted".utf8)), .frameTruncated),
        (body([0, 8] + Array("accepted".utf8) + [0, 5, 0x61]), .frameTruncated),
        (body([0, 7] + Array("granted".utf8) + [0, 0]), .badField),
        (body([0, 2, 0xC3, 0x28, 0, 0]), .badField),
        (body([0, 8] + Array("accepted".utf8) + [1, 1] + [UInt8](repeating: 0x61, count: 257)), .fieldTooLong),
    ])
    func malformedResponsesAreRefused(bytes: [UInt8], code: AuthWireError.Code) {
        do {
            _ = try AuthResponse(body: bytes)
            Issue.record("garbage decoded")
        } catch {
            #expect(error.code == code)
        }
    }

    /// Random bytes, and random mutations of valid frames, only ever decode or throw.
    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func garbageNeverTraps(seed: UInt64) throws {
        var random = SeededGenerator(state: seed)
        let valid = try Array(Self.request.encoded().dropFirst(4))
        var decoded = 0
        for round in 0..<5_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int.random(in: 0...80, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            } else {
                bytes = valid
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
            }
            if (try? AuthRequest(body: bytes)) != nil { decoded += 1 }
            _ = try? AuthResponse(body: bytes)
            _ = try? AuthFrame.body(ofFrame: bytes)
        }
        // Mutations inside the text fields still decode; mutations of structure must not.
        #expect(decoded < 2_500)
    }
}
