import Foundation
import MamoriAgent
import MamoriCore
import Testing

/// The udev helper's policy source: anything short of a valid, current, root-controlled profile
/// gives the fail-closed defaults.
@Suite("MediaPolicyLoader")
final class MediaPolicyLoaderTests {
    let directory = NSTemporaryDirectory() + "mamori-media-policy-\(UUID().uuidString)"
    let now = Timestamp(parsing: "2026-06-01T09:00:00Z")!

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    static let profile = """
        name: loader-fixture
        version: 3
        expires: 2027-01-01
        scope:
          organisation: mayor
        media:
          mode: audit

        """

    func write(_ text: String, mode: Int = 0o644) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/profile-\(UUID().uuidString).yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    @Test func validProfileGivesItsRules() throws {
        let load = MediaPolicyLoader.load(path: try write(Self.profile), now: now, requireTrustedFile: getuid() == 0)
        #expect(load.problem == nil)
        #expect(load.profileName == "loader-fixture")
        #expect(load.policy.rules.mode == .audit)
        #expect(load.policy.isFailClosed == false)
    }

    @Test func missingProfileFailsClosed() {
        let load = MediaPolicyLoader.load(path: directory + "/absent.yaml", now: now, requireTrustedFile: false)
        #expect(load.policy == MediaPolicy.failClosed)
        #expect(load.policy.rules.mode == .enforce)
        #expect(load.problem != nil)
    }

    @Test func invalidProfileFailsClosed() throws {
        let load = MediaPolicyLoader.load(path: try write("name: [unclosed"), now: now, requireTrustedFile: false)
        #expect(load.policy.isFailClosed)
    }

    @Test func expiredProfileFailsClosed() throws {
        let load = MediaPolicyLoader.load(path: try write(Self.profile), now: Timestamp(parsing: "2027-01-02")!, requireTrustedFile: false)
        #expect(load.policy.isFailClosed)
        #expect(load.problem?.contains("expired") == true)
    }

    @Test func writableByOthersFailsClosedWhenTrustIsRequired() throws {
        let path = try write(Self.profile, mode: 0o666)
        let load = MediaPolicyLoader.load(path: path, now: now, requireTrustedFile: true)
        #expect(load.policy.isFailClosed)
        #expect(load.problem != nil)
    }

    @Test func notUTF8FailsClosed() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/binary.yaml"
        try Data([0xff, 0xfe, 0x00, 0x41]).write(to: URL(fileURLWithPath: path))
        #expect(MediaPolicyLoader.load(path: path, now: now, requireTrustedFile: false).policy.isFailClosed)
    }
}
