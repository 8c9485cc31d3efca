public import MamoriCore

/// Where the media guard's policy comes from, and what happens when it cannot be read.
public struct MediaPolicyLoad: Sendable {
    public var policy: MediaPolicy
    /// The profile's name, or nil when the fail-closed defaults apply.
    public var profileName: String?
    /// Why the profile was not used (fail closed), or nil.
    public var problem: String?
}

public enum MediaPolicyLoader {
    /// The verified profile the agent keeps for the udev helper (written by the profile fetcher).
    public static let defaultProfilePath = "/var/lib/mamori/profile/current.yaml"

    /// Reads and validates the profile at `path`. Any problem — missing, unreadable, not UTF-8,
    /// invalid, expired, or (with `requireTrustedFile`) writable by anyone but root — yields the
    /// fail-closed policy: storage read-only, phones and BadUSB blocked, HID allowed.
    public static func load(path: String, now: Timestamp, requireTrustedFile: Bool) -> MediaPolicyLoad {
        if requireTrustedFile, let problem = untrusted(path) { return failClosed(problem) }
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.readFile(path)
        } catch {
            return failClosed("\(error)")
        }
        guard let source = String(validating: bytes, as: UTF8.self) else { return failClosed("\(path): not UTF-8 text") }
        switch ProfileParser.parse(source) {
        case .failure(let error):
            return failClosed("\(path): invalid profile: \(error)")
        case .success(let profile):
            guard now < profile.expires else { return failClosed("\(path): profile \(profile.name) expired \(profile.expires)") }
            return MediaPolicyLoad(policy: MediaPolicy(rules: profile.media), profileName: profile.name, problem: nil)
        }
    }

    static func failClosed(_ problem: String) -> MediaPolicyLoad {
        MediaPolicyLoad(policy: .failClosed, profileName: nil, problem: problem)
    }

    /// A policy file anyone but root could have written is no policy at all.
    static func untrusted(_ path: String) -> String? {
        guard let info = try? FileSystem.ownerAndMode(path) else { return "\(path): not readable" }
        guard info.isRegular else { return "\(path): not a regular file" }
        guard info.uid == 0 else { return "\(path): not owned by root" }
        guard info.mode & 0o022 == 0 else { return "\(path): writable by group or others" }
        return nil
    }
}
