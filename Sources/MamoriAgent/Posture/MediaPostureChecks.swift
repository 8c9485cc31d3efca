import MamoriCore

#if canImport(Glibc)
import Glibc
#endif

/// `media.rules-enforcing` and `media.no-writable-removable-mounts`.
enum MediaPostureChecks {
    /// Where the package installs the guard's udev rule (packaging/udev).
    static let ruleName = "72-mamori-media.rules"
    static let rulePath = "/usr/lib/udev/rules.d/" + ruleName
    /// A file of the same name in these directories replaces the packaged rule (udev's override
    /// order), e.g. a symlink to /dev/null masks it.
    static let overrideDirectories = ["/etc/udev/rules.d", "/run/udev/rules.d"]

    static func rulesEnforcing(_ context: PostureContext) -> PostureOutcome {
        let files = PostureFiles(root: context.root)
        var problems: [String] = []
        switch files.probe(rulePath) {
        case .found(let facts) where facts.isRegular:
            break
        case .found:
            problems.append("\(rulePath) is not a regular file")
        case .missing:
            problems.append("\(rulePath) is not installed")
        case .unreadable(let reason):
            return .cannotDecide(reason: "\(rulePath): \(reason)")
        }
        for directory in overrideDirectories where files.exists(directory + "/" + ruleName) || isSymlink(files.path(directory + "/" + ruleName)) {
            problems.append("\(directory)/\(ruleName) overrides the packaged rule")
        }
        // Without a profile the helper enforces the fail-closed defaults.
        let mode = context.profile?.media.mode ?? .enforce
        if mode != .enforce { problems.append("the profile's media rules are in audit mode (decisions logged, not enforced)") }
        if !context.mediaGuardRunning { problems.append("the media guard service is not running") }
        if problems.isEmpty {
            return .meetsPolicy(evidence: "\(rulePath) installed, mode enforce, media guard running")
        }
        return .failsToMeetPolicy(reason: problems.joined(separator: "; "))
    }

    static func isSymlink(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK
    }

    static func noWritableRemovableMounts(_ context: PostureContext) -> PostureOutcome {
        let files = PostureFiles(root: context.root)
        let mounts: [MountEntry]
        switch files.text("/proc/self/mountinfo") {
        case .success(let text?): mounts = MountInfo.parse(text)
        case .success(nil): return .cannotDecide(reason: "/proc/self/mountinfo does not exist")
        case .failure(let failure): return .cannotDecide(reason: "/proc/self/mountinfo: \(failure.reason)")
        }
        guard !mounts.isEmpty else { return .cannotDecide(reason: "/proc/self/mountinfo lists no mounts") }
        var writable: [String] = []
        var unknown: [String] = []
        for mount in mounts where mount.major != 0 && mount.isWritable {
            switch RemovableDeviceClassifier(files: files).classify(major: mount.major, minor: mount.minor, depth: 0) {
            case .removable(let name, let reason): writable.append("\(mount.mountPoint) (\(name)) is mounted rw: \(reason)")
            case .fixed: continue
            case .unknown(let reason): unknown.append("\(mount.mountPoint): \(reason)")
            }
        }
        if !writable.isEmpty { return .failsToMeetPolicy(reason: writable.joined(separator: "; ")) }
        if !unknown.isEmpty { return .cannotDecide(reason: unknown.joined(separator: "; ")) }
        let blockMounts = mounts.filter { $0.major != 0 }.count
        return .meetsPolicy(evidence: "no removable medium mounted writable (\(mounts.count) mounts, \(blockMounts) on block devices)")
    }
}

/// Classifies a mounted block device from sysfs the way the media guard does (MediaClassifier),
/// following device-mapper and md `slaves` down to the disks underneath.
struct RemovableDeviceClassifier {
    enum Verdict { case removable(name: String, reason: String), fixed, unknown(String) }

    let files: PostureFiles

    func classify(major: UInt32, minor: UInt32, depth: Int) -> Verdict {
        guard let sysPath = resolve("/sys/dev/block/\(major):\(minor)") else {
            return .unknown("no sysfs entry for block device \(major):\(minor)")
        }
        return classify(sysPath: sysPath, depth: depth)
    }

    func classify(sysPath: String, depth: Int) -> Verdict {
        let name = sysPath.split(separator: "/").last.map(String.init) ?? sysPath
        if let slaves = files.list(sysPath + "/slaves"), !slaves.isEmpty, depth < 8 {
            for slave in slaves {
                guard let slavePath = resolve(sysPath + "/slaves/" + slave) else { return .unknown("\(name): slave \(slave) unresolved") }
                if case .removable(let inner, let reason) = classify(sysPath: slavePath, depth: depth + 1) {
                    return .removable(name: "\(name) on \(inner)", reason: reason)
                }
            }
            return .fixed
        }
        let isPartition = files.exists(sysPath + "/partition")
        let disk = isPartition ? String(sysPath[..<(sysPath.lastIndex(of: "/") ?? sysPath.endIndex)]) : sysPath
        let facts = MediaDeviceFacts(
            kernelName: name, sysPath: sysPath, subsystem: "block", devType: isPartition ? "partition" : "disk",
            bus: sysPath.contains("/usb") ? "usb" : nil, removable: attribute(disk + "/removable").map { $0 == "1" },
            isOptical: name.hasPrefix("sr"), mmcType: attribute(disk + "/device/type"))
        switch MediaClassifier.classify(facts) {
        case .governed(_, let reason): return .removable(name: name, reason: reason)
        case .notRemovable, .hub: return .fixed
        }
    }

    func attribute(_ path: String) -> String? {
        guard case .success(let text?) = files.text(path) else { return nil }
        return text.trimmingSpaces
    }

    /// realpath under the root, returned without the root prefix.
    func resolve(_ path: String) -> String? {
        guard let pointer = realpath(files.path(path), nil) else { return nil }
        defer { free(pointer) }
        let full = String(cString: pointer)
        guard full.hasPrefix(files.root) else { return nil }
        return String(full.dropFirst(files.root.count))
    }
}

extension String {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\n" || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\n" || $0 == "\t" }.reversed())
    }
}
