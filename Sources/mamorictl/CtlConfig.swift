import Foundation
import Yams

/// `~/.config/mamori/ctl.yaml` (or `$XDG_CONFIG_HOME/mamori/ctl.yaml`; `MAMORI_CTL_CONFIG`
/// names another file): where mamorictl finds the collector when neither flags nor the
/// environment say.
///
///     server: https://collector.example:8443
///     ca: /etc/mamori/collector-ca.pem
///     token_file: ~/.config/mamori/token      # or token: mamori_admin_… (then the file must be 0600)
///
/// Unknown keys are an error, so a typo does not silently fall back to a default.
struct CtlConfig: Equatable {
    var server: String?
    var ca: String?
    var tokenFile: String?
    var token: String?

    static let keys: Set<String> = ["server", "ca", "token_file", "token"]

    static func defaultPath(environment: [String: String]) -> String? {
        if let explicit = environment["MAMORI_CTL_CONFIG"], !explicit.isEmpty { return explicit }
        if let xdg = environment["XDG_CONFIG_HOME"], !xdg.isEmpty { return xdg + "/mamori/ctl.yaml" }
        return environment["HOME"].map { $0 + "/.config/mamori/ctl.yaml" }
    }

    /// The configuration at `path`; empty when the file does not exist.
    static func load(path: String?) throws -> CtlConfig {
        guard let path, FileManager.default.fileExists(atPath: path) else { return CtlConfig() }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw InputError("cannot read \(path)") }
        let node: Any?
        do {
            node = try Yams.load(yaml: text)
        } catch {
            throw InputError("\(path) is not valid YAML: \(error)")
        }
        guard let map = node as? [String: Any] else {
            if node == nil { return CtlConfig() }
            throw InputError("\(path) must be a mapping of server, ca, token_file, token")
        }
        for key in map.keys where !keys.contains(key) {
            throw InputError("\(path): unknown key `\(key)` (known: \(keys.sorted().joined(separator: ", ")))")
        }
        func string(_ key: String) throws -> String? {
            guard let value = map[key] else { return nil }
            guard let text = value as? String, !text.isEmpty else { throw InputError("\(path): `\(key)` must be a non-empty string") }
            return key == "server" ? text : expandHome(text)
        }
        let config = CtlConfig(server: try string("server"), ca: try string("ca"), tokenFile: try string("token_file"), token: try string("token"))
        if config.token != nil, let mode = (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int,
           mode & 0o077 != 0 {
            throw InputError("\(path) holds a token but is readable by others (mode \(String(mode, radix: 8))); chmod 600 it")
        }
        return config
    }

    static func expandHome(_ path: String) -> String {
        guard path.hasPrefix("~/"), let home = ProcessInfo.processInfo.environment["HOME"] else { return path }
        return home + path.dropFirst()
    }
}
