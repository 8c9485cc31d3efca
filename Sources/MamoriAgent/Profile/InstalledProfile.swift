public import MamoriCore

/// The verified profile the agent keeps on disk (written by the profile fetcher), as every part
/// that enforces it reads it: the media guard's udev helper and the second-factor verifier.
public enum InstalledProfile {
    /// Where it lives, under the agent's root ("" in production).
    public static let defaultPath = "/var/lib/mamori/profile/current.yaml"

    /// Why no profile could be used; the caller falls back to its safe defaults.
    public struct Unusable: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads and validates the profile at `path`. Missing, unreadable, not UTF-8, invalid, expired,
    /// or (with `requireTrustedFile`) writable by anyone but root: each is a failure naming why.
    public static func load(path: String, now: Timestamp, requireTrustedFile: Bool) -> Result<Profile, Unusable> {
        if requireTrustedFile, let problem = untrusted(path) { return .failure(Unusable(description: problem)) }
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.readFile(path)
        } catch {
            return .failure(Unusable(description: "\(error)"))
        }
        guard let source = String(validating: bytes, as: UTF8.self) else {
            return .failure(Unusable(description: "\(path): not UTF-8 text"))
        }
        switch ProfileParser.parse(source) {
        case .failure(let error):
            return .failure(Unusable(description: "\(path): invalid profile: \(error)"))
        case .success(let profile):
            guard now < profile.expires else {
                return .failure(Unusable(description: "\(path): profile \(profile.name) expired \(profile.expires)"))
            }
            return .success(profile)
        }
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
