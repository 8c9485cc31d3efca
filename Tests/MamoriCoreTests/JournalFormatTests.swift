import Crypto
import Foundation
import MamoriCore
import Testing

@Suite struct JSONValueTests {
    @Test func canonicalFormSortsKeysAndEscapesMinimally() {
        let value = JSONValue.object([
            "b": .int(-5), "a": .string("課\"\\\n\u{01}/"), "c": .array([.bool(true), .null]),
        ])
        #expect(value.canonicalString == #"{"a":"課\"\\\n\u0001/","b":-5,"c":[true,null]}"#)
    }

    @Test func parseRoundTripsThroughCanonicalForm() throws {
        let text = #"{ "z" : [1, -2, {"y": "\u00e9\ud83d\ude00"}], "a": false }"#
        let value = try JSONValue.parse(text)
        #expect(value.canonicalString == #"{"a":false,"z":[1,-2,{"y":"é😀"}]}"#)
        #expect(try JSONValue.parse(value.canonicalString) == value)
    }

    @Test(arguments: [#"{"a":1,"a":2}"#, "1.5", "1e3", "01", #""\ud800""#, "[1,]", "{", #""abc"#, "-", "9223372036854775808", "tru"])
    func rejectsWhatHasNoCanonicalForm(text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONValue.parse([0x22, 0xFF, 0xFE, 0x22]) }
    }

    @Test func extremesOfInt64() throws {
        #expect(try JSONValue.parse("-9223372036854775808") == .int(.min))
        #expect(try JSONValue.parse("9223372036854775807") == .int(.max))
    }
}

@Suite struct TimestampTests {
    @Test(arguments: ["1970-01-01T00:00:00.000000Z", "2026-04-01T08:30:00.123456Z", "2024-02-29T23:59:59.999999Z", "2100-12-31T00:00:00.000001Z"])
    func roundTrips(text: String) throws {
        let time = try #require(Timestamp(parsing: text))
        #expect(time.description == text)
    }

    @Test func knownInstants() {
        #expect(Timestamp(parsing: "2026-04-01")?.microsecondsSinceEpoch == 1_775_001_600_000_000)
        #expect(Timestamp(parsing: "2026-04-01T00:00:00Z")?.microsecondsSinceEpoch == 1_775_001_600_000_000)
        #expect(Timestamp(microsecondsSinceEpoch: 0).description == "1970-01-01T00:00:00.000000Z")
    }

    @Test(arguments: ["2026-02-30", "2026-13-01", "2026-04-01T24:00:00Z", "2026-04-01 08:00:00Z", "", "2026-04-01T08:00:00.1Z"])
    func rejectsNonsense(text: String) {
        #expect(Timestamp(parsing: text) == nil)
    }
}

/// Fixed inputs and the bytes they must produce: docs/journal-format.md quotes these, and
/// scripts/journal_vectors.py recomputes them with Python's standard library alone.
@Suite struct JournalVectorTests {
    static let k0 = EpochKey(epoch: 0, keyBytes: Array(0..<32))
    static let hostKey = try! Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 0x42, count: 32))
    static let start = Timestamp(parsing: "2026-04-01T08:30:00.000000Z")!

    static func vectorJournal() -> [SealedRecord] {
        var sealer = JournalSealer(host: "setagaya-mn-0001", key: k0, signingKey: hostKey, nextSeq: 0, head: .zero,
                                   epochFirstSeq: 0, epochStartedAt: start, policy: EpochPolicy(maxRecords: 3, maxDurationSeconds: 900))
        var out: [SealedRecord] = []
        out.append(sealer.seal(kind: "journal.created", payload: ["format": .int(1)], time: start))
        out.append(sealer.seal(kind: "media.decision", payload: [
            "decision": .string("read-only"), "rule": .string("default"), "serial": .string("4C530001"),
        ], time: start.adding(seconds: 1)))
        out.append(sealer.checkpoint(reason: .epochEnd, time: start.adding(seconds: 2)))
        _ = sealer.advanceEpoch(now: start.adding(seconds: 2))
        out.append(sealer.seal(kind: "auth.success", payload: ["service": .string("login"), "user": .string("田中")],
                               time: start.adding(seconds: 3)))
        return out
    }

    @Test func keyEvolutionVector() {
        // Evolution is HMAC-SHA256(K, "mamori-journal-v1/evolve\n" ‖ u64be(e+1)).
        var message = Array("mamori-journal-v1/evolve\n".utf8)
        message += [0, 0, 0, 0, 0, 0, 0, 1]
        let expected = Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Self.k0.keyBytes)))
        #expect(Self.k0.evolved().keyBytes == expected)
        #expect(Self.k0.evolved().epoch == 1)
    }

    @Test func recordHashAndMACFollowTheDocumentedRecipe() throws {
        let records = Self.vectorJournal()
        for sealed in records {
            let line = sealed.line
            let body = Array(line[0..<(line.count - 74)]) + [UInt8(ascii: "}")]
            let hash = Array(SHA256.hash(data: Array("mamori-journal-v1/record\n".utf8) + body))
            #expect(sealed.hash.bytes == hash)
            let parsed = try JournalLineParser.parse(line)
            var chain = EpochKeyChain(k0: Self.k0)
            let key = chain.key(for: parsed.epoch)!
            let mac = Array(HMAC<SHA256>.authenticationCode(for: Array("mamori-journal-v1/mac\n".utf8) + hash,
                                                            using: SymmetricKey(data: key.keyBytes)))
            #expect(parsed.mac.bytes == mac)
        }
    }

    @Test func vectorJournalVerifiesAndIsStable() throws {
        let records = Self.vectorJournal()
        var verifier = JournalVerifier(k0: Self.k0, hostKey: Self.hostKey.publicKey)
        let report = try verifier.verify(InMemoryJournalSource(lines: records.map(\.line)))
        #expect(report.failure == nil)
        #expect(report.records == 4)
        #expect(report.lastEpoch == 1)
        #expect(Self.vectorJournal().map(\.line) == records.map(\.line))
    }

    /// docs/journal-vectors.json holds these records' lines, hashes and keys; the Python check
    /// (scripts/journal_vectors.py) recomputes them independently. Set MAMORI_WRITE_VECTORS=1 to
    /// regenerate after a deliberate format change.
    @Test func vectorsFileMatchesThisImplementation() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/journal-vectors.json").path
        let records = Self.vectorJournal()
        var chain = EpochKeyChain(k0: Self.k0)
        let document = JSONValue.object([
            "k0": .string(Hex.encode(Self.k0.keyBytes)),
            "k1": .string(Hex.encode(chain.key(for: 1)!.keyBytes)),
            "host_public_key": .string(Hex.encode(Self.hostKey.publicKey.rawRepresentation)),
            "host_private_key_seed": .string(Hex.encode(Self.hostKey.rawRepresentation)),
            "records": .array(records.map { sealed in
                .object(["line": .string(String(decoding: sealed.line, as: UTF8.self)), "hash": .string(sealed.hash.hex)])
            }),
        ])
        if ProcessInfo.processInfo.environment["MAMORI_WRITE_VECTORS"] == "1" {
            try Data(document.canonicalBytes + [0x0A]).write(to: URL(fileURLWithPath: path))
        }
        let stored = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: path))).dropLast())
        #expect(stored == document)
    }

    @Test func parserRejectsNonCanonicalSpellings() {
        let line = String(decoding: Self.vectorJournal()[1].line, as: UTF8.self)
        let variants = [
            line.replacingOccurrences(of: "{\"seq\":1,", with: "{ \"seq\":1,"),
            line.replacingOccurrences(of: "\"seq\":1", with: "\"seq\":01"),
            line.replacingOccurrences(of: "\"epoch\":0", with: "\"epoch\":-0"),
            line.uppercased(),
            String(line.dropLast()),
        ]
        for variant in variants {
            #expect(throws: JournalLineError.self) { try JournalLineParser.parse(Array(variant.utf8)) }
        }
    }
}
