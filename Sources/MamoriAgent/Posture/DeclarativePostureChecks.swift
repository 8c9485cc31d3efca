import MamoriCore

/// A profile's own checks: read under the root, decided by `DeclarativeCheckEvaluator`.
enum DeclarativePostureChecks {
    static func evaluate(_ rule: DeclarativeCheck.Rule, files: PostureFiles) -> PostureOutcome {
        switch rule {
        case .fileExists(let path):
            return DeclarativeCheckEvaluator.fileExists(path: path, probe: files.probe(path))
        case .fileMode(let path, let maximum):
            return DeclarativeCheckEvaluator.fileMode(path: path, maximum: maximum, probe: files.probe(path))
        case .fileOwner(let path, let user, let group):
            return DeclarativeCheckEvaluator.fileOwner(
                path: path, user: user, userId: user.flatMap { files.id(of: $0, in: "/etc/passwd") },
                group: group, groupId: group.flatMap { files.id(of: $0, in: "/etc/group") }, probe: files.probe(path))
        case .fileContent(let path, let regex, let mustMatch):
            return DeclarativeCheckEvaluator.fileContent(path: path, pattern: regex, mustMatch: mustMatch, text: files.text(path))
        case .sysctl(let key, let value):
            guard isSysctlKey(key) else { return .cannotDecide(reason: "`\(key)` is not a sysctl key") }
            let path = "/proc/sys/" + key.replacing(".", with: "/")
            return DeclarativeCheckEvaluator.sysctl(key: key, expected: value, actual: files.text(path))
        case .package(let name, let installed):
            let status: Result<String, DeclarativeCheckEvaluator.ReadFailure> = switch files.text("/var/lib/dpkg/status") {
            case .success(let text?): .success(text)
            case .success(nil): .failure(.init("/var/lib/dpkg/status does not exist"))
            case .failure(let failure): .failure(failure)
            }
            return DeclarativeCheckEvaluator.package(name: name, installed: installed, dpkgStatus: status)
        }
    }

    /// `net.ipv4.ip_forward`: no `..`, no slashes, nothing that leaves /proc/sys.
    static func isSysctlKey(_ key: String) -> Bool {
        !key.isEmpty && !key.contains("/") && !key.split(separator: ".", omittingEmptySubsequences: false).contains { $0.isEmpty }
    }
}
