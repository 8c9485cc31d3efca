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
    public static let defaultProfilePath = InstalledProfile.defaultPath

    /// The media rules of the installed profile at `path`. Any problem — missing, unreadable, not
    /// UTF-8, invalid, expired, or (with `requireTrustedFile`) writable by anyone but root — yields
    /// the fail-closed policy: storage read-only, phones and BadUSB blocked, HID allowed.
    public static func load(path: String, now: Timestamp, requireTrustedFile: Bool) -> MediaPolicyLoad {
        switch InstalledProfile.load(path: path, now: now, requireTrustedFile: requireTrustedFile) {
        case .success(let profile):
            MediaPolicyLoad(policy: MediaPolicy(rules: profile.media), profileName: profile.name, problem: nil)
        case .failure(let unusable):
            MediaPolicyLoad(policy: .failClosed, profileName: nil, problem: unusable.description)
        }
    }
}
