import ArgumentParser
import Crypto
import Foundation
import MamoriAgent
import MamoriCore

struct JournalVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a journal from its first record: chain, MACs under each epoch's key, checkpoint signatures.",
        discussion: """
            Exit status: 0 valid (a summary is printed); 1 not valid (the first failure, its seq and
            kind); 2 unreadable input or bad arguments.
            Failure kinds: \(JournalFailureKind.allCases.map(\.rawValue).joined(separator: ", ")).
            """
    )

    @Argument(help: "The journal directory (holding the .log segments).")
    var journal: String

    @Option(help: "File holding K0, the epoch-0 key, as 64 hex digits.")
    var k0: String

    @Option(help: "File holding the host's Ed25519 public key, as 64 hex digits.")
    var hostKey: String

    @Option(help: "The head someone outside the host has seen, as SEQ:HASH; catches truncation and forks.")
    var expectHead: String?

    @Option(help: "Output format: \(OutputFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format: OutputFormat = .text

    func validate() throws {
        if let expectHead, JournalHead(parsing: expectHead) == nil {
            throw ValidationError("--expect-head must be SEQ:HASH (a decimal seq and 64 hex digits)")
        }
    }

    func run() throws {
        let k0Key = try readKey(k0, what: "K0")
        let publicKey: Curve25519.Signing.PublicKey
        do {
            publicKey = try Curve25519.Signing.PublicKey(rawRepresentation: try readKey(hostKey, what: "host key"))
        } catch let error as InputError {
            throw error
        } catch {
            throw InputError("\(hostKey): not an Ed25519 public key")
        }
        guard FileSystem.isDirectory(journal) else { throw InputError("\(journal): not a journal directory") }
        let directory: JournalDirectory
        do { directory = try JournalDirectory(path: journal) } catch { throw InputError("\(error)") }
        guard !directory.segments.isEmpty else { throw InputError("\(journal): no journal segments (*.log) found") }

        var verifier = JournalVerifier(k0: EpochKey(epoch: 0, keyBytes: k0Key), hostKey: publicKey,
                                       expectedHead: expectHead.flatMap(JournalHead.init(parsing:)))
        let report: JournalVerificationReport
        do { report = try verifier.verify(directory) } catch { throw InputError("\(error)") }

        switch format {
        case .text: printText(report, segments: directory.segments.count)
        case .json: print(JSONValue.object(jsonReport(report, segments: directory.segments.count)).canonicalString)
        }
        if !report.isValid { throw ExitStatus.failed }
    }

    private func readKey(_ path: String, what: String) throws -> [UInt8] {
        let bytes: [UInt8]
        do { bytes = try FileSystem.readFile(path) } catch { throw InputError("cannot read \(what): \(error)") }
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let key = Hex.decode(text), key.count == 32 else {
            throw InputError("\(path): \(what) must be 64 hex digits")
        }
        return key
    }

    private func printText(_ report: JournalVerificationReport, segments: Int) {
        if let failure = report.failure {
            print("journal NOT VALID: \(failure.kind.rawValue) at seq \(failure.seq)")
            print("  detail:   \(failure.detail)")
            if let location = failure.location { print("  where:    \(location)") }
            print("  verified: \(report.records) records before the failure")
            if let head = report.head { print("  last good head: \(head)") }
        } else {
            print("journal valid")
            print("  records:     \(report.records) in \(segments) segment(s)")
            if let head = report.head { print("  head:        \(head)") }
            print("  epochs:      0...\(report.lastEpoch)")
            print("  checkpoints: \(report.checkpoints) signed")
        }
    }

    private func jsonReport(_ report: JournalVerificationReport, segments: Int) -> [String: JSONValue] {
        var object: [String: JSONValue] = [
            "valid": .bool(report.isValid),
            "records": .int(Int64(report.records)),
            "segments": .int(Int64(segments)),
            "last_epoch": .int(Int64(report.lastEpoch)),
            "checkpoints": .int(Int64(report.checkpoints)),
            "head": report.head.map { .object(["seq": .int(Int64($0.seq)), "hash": .string($0.hash.hex)]) } ?? .null,
        ]
        if let failure = report.failure {
            var failureObject: [String: JSONValue] = [
                "kind": .string(failure.kind.rawValue), "seq": .int(Int64(failure.seq)), "detail": .string(failure.detail),
            ]
            if let location = failure.location {
                failureObject["segment"] = .string(location.segment)
                failureObject["line"] = .int(Int64(location.line))
            }
            object["failure"] = .object(failureObject)
        }
        return object
    }
}
