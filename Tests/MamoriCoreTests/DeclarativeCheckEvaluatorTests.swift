import MamoriCore
import Testing

/// The pure decisions behind a profile's declarative checks.
@Suite struct DeclarativeCheckEvaluatorTests {
    typealias Evaluator = DeclarativeCheckEvaluator

    static func file(_ mode: UInt32, uid: UInt32 = 0, gid: UInt32 = 42) -> FileProbe {
        .found(FileFacts(mode: mode, uid: uid, gid: gid, isRegular: true))
    }

    @Test(arguments: [
        (UInt32(0o640), UInt32(0o640), PostureStatus.pass), (0o600, 0o640, .pass), (0o644, 0o640, .fail),
        (0o4755, 0o755, .fail), (0o000, 0o600, .pass), (0o660, 0o640, .fail),
    ])
    func modeMustBeASubsetOfTheMaximum(mode: UInt32, maximum: UInt32, expected: PostureStatus) {
        #expect(Evaluator.fileMode(path: "/etc/shadow", maximum: maximum, probe: Self.file(mode)).status == expected)
    }

    @Test func modeEvidenceNamesTheExtraBits() {
        #expect(Evaluator.fileMode(path: "/etc/shadow", maximum: 0o640, probe: Self.file(0o664))
            == .failsToMeetPolicy(reason: "/etc/shadow has mode 0664; 0024 exceeds 0640"))
        #expect(Evaluator.fileMode(path: "/x", maximum: 0o640, probe: .unreadable("stat: Permission denied")).status == .error)
        #expect(Evaluator.fileMode(path: "/x", maximum: 0o640, probe: .missing).status == .fail)
    }

    @Test func ownerNeedsResolvedNames() {
        let probe = Self.file(0o640, uid: 0, gid: 42)
        #expect(Evaluator.fileOwner(path: "/etc/shadow", user: "root", userId: 0, group: "shadow", groupId: 42, probe: probe).status == .pass)
        #expect(Evaluator.fileOwner(path: "/etc/shadow", user: "root", userId: 0, group: "shadow", groupId: 43, probe: probe)
            == .failsToMeetPolicy(reason: "/etc/shadow: group gid 42, not shadow (43)"))
        #expect(Evaluator.fileOwner(path: "/etc/shadow", user: "root", userId: nil, group: nil, groupId: nil, probe: probe)
            == .cannotDecide(reason: "user `root` is not in /etc/passwd"))
    }

    @Test(arguments: [
        ("(?m)^PermitRootLogin\\s+no", true, "PermitRootLogin no\n", PostureStatus.pass),
        ("(?m)^PermitRootLogin\\s+no", true, "#PermitRootLogin no\nPermitRootLogin yes\n", .fail),
        ("(?m)^\\s*PasswordAuthentication\\s+yes", false, "PasswordAuthentication no\n", .pass),
        ("(?m)^\\s*PasswordAuthentication\\s+yes", false, "UsePAM yes\n  PasswordAuthentication yes\n", .fail),
        ("([", true, "anything", .error),
    ])
    func contentRegexRunsOverTheWholeFile(pattern: String, mustMatch: Bool, text: String, expected: PostureStatus) {
        let outcome = Evaluator.fileContent(path: "/etc/ssh/sshd_config", pattern: pattern, mustMatch: mustMatch, text: .success(text))
        #expect(outcome.status == expected, "\(outcome.evidence)")
    }

    @Test func contentEvidenceGivesTheLine() {
        let outcome = Evaluator.fileContent(path: "/etc/ssh/sshd_config", pattern: "(?m)^\\s*PasswordAuthentication\\s+yes", mustMatch: false,
                                            text: .success("UsePAM yes\n  PasswordAuthentication yes\n"))
        #expect(outcome.evidence == "/etc/ssh/sshd_config:2 matches `(?m)^\\s*PasswordAuthentication\\s+yes`, which must not occur")
        #expect(Evaluator.fileContent(path: "/x", pattern: "a", mustMatch: true, text: .success(nil)).status == .fail)
        #expect(Evaluator.fileContent(path: "/x", pattern: "a", mustMatch: false, text: .failure(.init("too large"))).status == .error)
    }

    @Test func sysctlComparesWhitespaceNormalised() {
        #expect(Evaluator.sysctl(key: "net.ipv4.tcp_rmem", expected: "4096 131072 6291456", actual: .success("4096\t131072\t6291456\n")).status == .pass)
        #expect(Evaluator.sysctl(key: "net.ipv4.ip_forward", expected: "0", actual: .success("1\n"))
            == .failsToMeetPolicy(reason: "net.ipv4.ip_forward = 1, expected 0"))
        #expect(Evaluator.sysctl(key: "x.y", expected: "0", actual: .success(nil)).status == .fail)
    }

    static let status = """
        Package: libc6
        Status: install ok installed
        Architecture: amd64

        Package: libc6
        Status: install ok installed
        Architecture: i386

        Package: wpasupplicant
        Status: deinstall ok config-files

        Package: openssh-server
        Status: install ok half-configured

        """

    @Test(arguments: [
        ("libc6", true, PostureStatus.pass), ("libc6", false, .fail), ("wpasupplicant", false, .pass),
        ("wpasupplicant", true, .fail), ("openssh-server", true, .fail), ("cowsay", false, .pass), ("cowsay", true, .fail),
    ])
    func packagesFromDpkgStatus(name: String, installed: Bool, expected: PostureStatus) {
        #expect(Evaluator.package(name: name, installed: installed, dpkgStatus: .success(Self.status)).status == expected)
    }

    @Test func packageEvidence() {
        #expect(Evaluator.package(name: "cowsay", installed: true, dpkgStatus: .success(Self.status))
            == .failsToMeetPolicy(reason: "cowsay: not known to dpkg; it must be installed"))
        #expect(Evaluator.package(name: "x", installed: true, dpkgStatus: .failure(.init("unreadable"))).status == .error)
    }
}
