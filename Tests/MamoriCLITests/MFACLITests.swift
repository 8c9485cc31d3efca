import Foundation
import MamoriAgent
import MamoriAuthWire
import MamoriCore
import Testing

/// `mamorictl mfa …` as an operator runs it, checked against the agent that reads the same files.
@Suite(.serialized) struct MFACLITests {
    static func enrollJSON(_ root: String, _ extra: String...) throws -> JSONValue {
        let result = try CLI.run("mamorictl", ["mfa", "enroll", "tanaka", "--root", root, "--format", "json"] + extra)
        #expect(result.status == 0, "\(result.stderr)")
        return try JSONValue.parse(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test func enrolledSecretAndRecoveryCodesWorkAtTheAgent() throws {
        let agent = try AuthAgentTests.RunningAgent()
        let enrolled = try Self.enrollJSON(agent.root.path, "--recovery-codes", "2")
        let secret = try #require(enrolled["secret"]?.stringValue.flatMap { Base32.decode($0) })
        #expect(secret.count == 20)
        #expect(enrolled["uri"]?.stringValue?.hasPrefix("otpauth://totp/Mamori:tanaka?secret=") == true)
        let codeValues = try #require(enrolled["recovery_codes"]?.arrayValue)
        let codes = codeValues.compactMap { $0.stringValue }
        #expect(codes.count == 2)
        let now = Int64(Date().timeIntervalSince1970)
        let code = OneTimePassword.format(OneTimePassword.totp(secret: secret, unixSeconds: now, parameters: .standard), digits: 6)
        #expect(try agent.ask(AuthRequest(user: "tanaka", service: "sudo", code: code)).status == .accepted)
        #expect(try agent.ask(AuthRequest(user: "tanaka", service: "sudo", code: codes[0])).status == .accepted)
        #expect(try agent.ask(AuthRequest(user: "tanaka", service: "sudo", code: codes[0])).status == .rejected)
        // The record on disk holds neither the recovery codes nor anything but their salted hashes.
        let stored = try String(contentsOfFile: agent.mfaDirectory + "/tanaka.json", encoding: .utf8)
        #expect(!stored.contains(codes[1]))
        let mode = try FileSystem.ownerAndMode(agent.mfaDirectory + "/tanaka.json").mode
        #expect(mode == 0o600)
        #expect(agent.stop() == 0)
        let journal = try CLI.mamorictl("journal", "show", agent.root.path + "/var/lib/mamori/journal", "--format", "json")
        #expect(journal.stdout.contains("\"auth.recovery\""))
    }

    @Test func enrolRefusesToReplaceUnlessForcedAndRefusesBadInput() throws {
        let root = try TemporaryDirectory("mamori-mfa")
        _ = try Self.enrollJSON(root.path)
        let again = try CLI.run("mamorictl", ["mfa", "enroll", "tanaka", "--root", root.path])
        #expect(again.status == 2)
        #expect(again.stderr.contains("already enrolled"))
        let forced = try Self.enrollJSON(root.path, "--force", "--type", "hotp", "--algorithm", "SHA512", "--digits", "8")
        #expect(try #require(forced["secret"]?.stringValue.flatMap { Base32.decode($0) }).count == 64)
        #expect(forced["uri"]?.stringValue?.contains("counter=0") == true)
        for arguments in [["../etc"], ["tanaka", "--digits", "9"], ["tanaka", "--type", "sms"], ["tanaka", "--issuer", "a:b"]] {
            let result = try CLI.run("mamorictl", ["mfa", "enroll"] + arguments + ["--root", root.path])
            #expect(result.status == 2, "\(arguments): \(result.stderr)")
        }
    }

    @Test func listUnlockAndReset() throws {
        let root = try TemporaryDirectory("mamori-mfa")
        _ = try Self.enrollJSON(root.path)
        let store = MFAStore(directory: root.path + "/var/lib/mamori/mfa")
        try store.update("tanaka") { record -> (MFAUserRecord?, Void) in
            guard var record else { return (nil, ()) }
            record.state.consecutiveFailures = 5
            record.state.lockedUntil = MFAUserState.lockedUntilUnlocked
            record.state.consecutiveLockouts = 10
            return (record, ())
        }
        let listed = try CLI.mamorictl("mfa", "list", "--root", root.path, "--format", "json")
        #expect(listed.status == 0)
        let entry = try JSONValue.parse(listed.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(entry["failures"] == .int(5) && entry["locked_until"] == .int(Int64.max) && entry["recovery_codes_left"] == .int(10))
        #expect(entry["lockouts"] == .int(10) && entry["needs_administrator_unlock"] == .bool(true))
        let text = try CLI.mamorictl("mfa", "list", "--root", root.path)
        #expect(text.stdout.contains("lockouts=10") && text.stdout.contains("locked-until=administrator-unlock"), "\(text.stdout)")
        let unlocked = try CLI.mamorictl("mfa", "unlock", "tanaka", "--root", root.path)
        #expect(unlocked.status == 0)
        #expect(unlocked.stdout.contains("had 5 failures, 10 consecutive lockouts, was locked until an administrator unlocks it"), "\(unlocked.stdout)")
        let state = try #require(try store.read("tanaka")).state
        #expect(state.consecutiveFailures == 0 && state.lockedUntil == nil && state.consecutiveLockouts == 0)
        #expect(try CLI.mamorictl("mfa", "reset", "tanaka", "--root", root.path).status == 0)
        #expect(try store.read("tanaka") == nil)
        #expect(try CLI.mamorictl("mfa", "reset", "tanaka", "--root", root.path).status == 1)
        #expect(try CLI.mamorictl("mfa", "unlock", "tanaka", "--root", root.path).status == 1)
        #expect(try CLI.mamorictl("mfa", "list", "--root", root.path).stdout.isEmpty)
    }

    @Test func insecureDirectoryIsRefused() throws {
        let root = try TemporaryDirectory("mamori-mfa")
        _ = try Self.enrollJSON(root.path)
        chmod(root.path + "/var/lib/mamori/mfa", 0o755)
        let listed = try CLI.mamorictl("mfa", "list", "--root", root.path)
        #expect(listed.status == 2)
        #expect(listed.stderr.contains("mode 0700"))
    }
}

/// The QR code `enroll` draws: read back from the half blocks into modules, it must be a QR
/// symbol (a legal width and the three finder patterns) inside a light quiet zone.
@Suite struct EnrolmentQRTests {
    /// Dark modules from the drawing: ink is light, so a space or the unlit half of a block is dark.
    static func modules(_ lines: [String]) -> [[Bool]] {
        var rows: [[Bool]] = []
        for line in lines {
            var top: [Bool] = []
            var bottom: [Bool] = []
            for character in line {
                top.append(character == " " || character == "▄")
                bottom.append(character == " " || character == "▀")
            }
            rows.append(top)
            rows.append(bottom)
        }
        return rows
    }

    static func isFinder(_ dark: [[Bool]], x: Int, y: Int) -> Bool {
        for dy in 0..<7 {
            for dx in 0..<7 {
                let ring = dx == 0 || dy == 0 || dx == 6 || dy == 6
                let core = (2...4).contains(dx) && (2...4).contains(dy)
                guard y + dy < dark.count, x + dx < dark[y + dy].count, dark[y + dy][x + dx] == (ring || core) else { return false }
            }
        }
        return true
    }

    @Test func textFormatDrawsAScannableSymbol() throws {
        let root = try TemporaryDirectory("mamori-qr")
        let result = try CLI.mamorictl("mfa", "enroll", "tanaka", "--root", root.path, "--recovery-codes", "0")
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let start = try #require(lines.firstIndex(of: "scan with an authenticator app:"))
        let dark = Self.modules(Array(lines[(start + 1)...]))
        let margin = 2
        let width = (dark.first?.count ?? 0) - 2 * margin
        #expect(width >= 21 && (width - 17) % 4 == 0, "width \(width)")
        #expect(dark.prefix(margin).allSatisfy { !$0.contains(true) }, "quiet zone at the top")
        #expect(Self.isFinder(dark, x: margin, y: margin))
        #expect(Self.isFinder(dark, x: margin + width - 7, y: margin))
        #expect(Self.isFinder(dark, x: margin, y: margin + width - 7))
        #expect(!Self.isFinder(dark, x: margin + width - 7, y: margin + width - 7))
    }

    @Test(arguments: ["uri", "json"])
    func machineFormatsHaveNoDrawing(format: String) throws {
        let root = try TemporaryDirectory("mamori-qr")
        let result = try CLI.mamorictl("mfa", "enroll", "tanaka", "--root", root.path, "--format", format)
        #expect(result.status == 0)
        #expect(!result.stdout.contains("█"))
        #expect(result.stdout.split(separator: "\n").count == 1)
    }
}
