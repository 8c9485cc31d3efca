import Foundation
import MamoriCore
import Testing

@Suite struct JournalCLITests {
    func generate(_ dir: TemporaryDirectory, records: Int = 400) throws -> String {
        let result = try CLI.mamorictl("journal", "generate", dir.file("j"), "--records", "\(records)", "--epoch-records", "50", "--seed", "3")
        #expect(result.status == 0, "\(result.stderr)")
        return dir.file("j")
    }

    func verify(_ root: String, _ extra: String...) throws -> CLIResult {
        try CLI.run("mamorictl", ["journal", "verify", root + "/journal", "--k0", root + "/k0", "--host-key", root + "/host.pub"] + extra)
    }

    func segment(_ root: String) throws -> String {
        let names = try FileManager.default.contentsOfDirectory(atPath: root + "/journal").filter { $0.hasSuffix(".log") }.sorted()
        return root + "/journal/" + names[0]
    }

    @Test func generateVerifyShowRoundTrip() throws {
        let dir = try TemporaryDirectory()
        let root = try generate(dir)
        let ok = try verify(root)
        #expect(ok.status == 0)
        #expect(ok.stdout.contains("journal valid"))
        #expect(ok.stdout.contains("records:     400"))

        let json = try verify(root, "--format", "json")
        let report = try JSONValue.parse(json.stdout)
        #expect(report["valid"] == .bool(true))
        #expect(report["records"] == .int(400))
        let head = report["head"]!
        let headArg = "\(head["seq"]!.intValue!):\(head["hash"]!.stringValue!)"
        #expect(try verify(root, "--expect-head", headArg).status == 0)

        let show = try CLI.mamorictl("journal", "show", root + "/journal", "--from", "395")
        #expect(show.status == 0)
        #expect(show.stdout.split(separator: "\n").count == 5)
        #expect(show.stdout.hasPrefix("395\t"))
        let showJSON = try CLI.mamorictl("journal", "show", root + "/journal", "--format", "json")
        let lines = showJSON.stdout.split(separator: "\n")
        #expect(lines.count == 400)
        #expect(try JSONValue.parse(String(lines[7]))["seq"] == .int(7))
    }

    @Test func sameSeedSameJournal() throws {
        let a = try TemporaryDirectory(), b = try TemporaryDirectory()
        let first = try generate(a, records: 120), second = try generate(b, records: 120)
        #expect(try Data(contentsOf: URL(fileURLWithPath: segment(first))) == Data(contentsOf: URL(fileURLWithPath: segment(second))))
    }

    @Test func tamperedCopyIsCaughtWithSeqAndKind() throws {
        let dir = try TemporaryDirectory()
        let root = try generate(dir)
        let path = try segment(root)
        var lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines[123] = lines[123].replacingOccurrences(of: "\"seq\":123,", with: "\"seq\":123,").replacingOccurrences(of: "e", with: "f")
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let result = try verify(root)
        #expect(result.status == 1)
        #expect(result.stdout.contains("NOT VALID: modified at seq 123"))
        let json = try JSONValue.parse(try verify(root, "--format", "json").stdout)
        #expect(json["failure"]?["kind"] == .string("modified"))
        #expect(json["failure"]?["seq"] == .int(123))
        #expect(json["failure"]?["line"] == .int(124))
    }

    @Test func truncationNeedsTheHead() throws {
        let dir = try TemporaryDirectory()
        let root = try generate(dir, records: 200)
        let head = try JSONValue.parse(try verify(root, "--format", "json").stdout)["head"]!
        let path = try segment(root)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        try (lines.prefix(150).joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try verify(root).status == 0)
        let result = try verify(root, "--expect-head", "\(head["seq"]!.intValue!):\(head["hash"]!.stringValue!)")
        #expect(result.status == 1)
        #expect(result.stdout.contains("truncated at seq 150"))
    }

    @Test func badArgumentsAndUnreadableInputExitTwo() throws {
        let dir = try TemporaryDirectory()
        let root = try generate(dir, records: 20)
        var result = try CLI.mamorictl("journal", "verify", root + "/journal", "--k0", dir.file("missing"), "--host-key", root + "/host.pub")
        #expect(result.status == 2)
        #expect(result.stderr.contains("cannot read K0"))
        try "not hex\n".write(toFile: dir.file("badkey"), atomically: true, encoding: .utf8)
        result = try CLI.mamorictl("journal", "verify", root + "/journal", "--k0", dir.file("badkey"), "--host-key", root + "/host.pub")
        #expect(result.status == 2)
        #expect(result.stderr.contains("64 hex digits"))
        result = try CLI.mamorictl("journal", "verify", dir.file("nowhere"), "--k0", root + "/k0", "--host-key", root + "/host.pub")
        #expect(result.status == 2)
        result = try verify(root, "--expect-head", "12:zz")
        #expect(result.status == 2)
        #expect(result.stderr.contains("SEQ:HASH"))
        result = try CLI.mamorictl("journal", "verify")
        #expect(result.status == 2)
        result = try CLI.mamorictl("journal", "generate", dir.file("x"), "--records", "0")
        #expect(result.status == 2)
        result = try CLI.mamorictl("journal", "generate", root, "--records", "5")
        #expect(result.status == 2)
        #expect(result.stderr.contains("already exists"))
        result = try CLI.mamorictl("--version")
        #expect(result.status == 0)
        #expect(result.stdout.contains(MamoriVersion.current))
    }

    @Test(arguments: ["random", "empty", "huge", "utf8", "zeros", "nul-in-line"])
    func garbageSegmentsFailCleanly(kind: String) throws {
        let dir = try TemporaryDirectory()
        let root = try generate(dir, records: 10)
        let path = try segment(root)
        var data: Data
        switch kind {
        case "random": data = Data((0..<5000).map { _ in UInt8.random(in: 0...255) })
        case "empty": data = Data()
        case "huge": data = Data(repeating: UInt8(ascii: "{"), count: 12 << 20)
        case "utf8": data = Data([0xC3, 0x28, 0xA0, 0xA1, 0xE2, 0x28, 0xA1, 0x0A, 0xF0, 0x28, 0x8C, 0xBC])
        case "zeros": data = Data(count: 8192)
        default:
            data = try Data(contentsOf: URL(fileURLWithPath: path))
            data[40] = 0
        }
        try data.write(to: URL(fileURLWithPath: path))
        let result = try verify(root)
        #expect(result.status == 1)
        #expect(result.stdout.contains("NOT VALID"))
        let show = try CLI.mamorictl("journal", "show", root + "/journal")
        #expect(show.status == 1 || (kind == "empty" && show.status == 0))
    }
}
