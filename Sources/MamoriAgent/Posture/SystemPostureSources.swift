internal import CUdev
import Foundation
import MamoriCore

#if canImport(Glibc)
import Glibc
#endif

/// The production readings behind `PostureSources.system`.
public enum SystemPostureSources {
    /// adjtimex(2) with no modes set only reads. The kernel sets STA_UNSYNC until a time daemon
    /// (systemd-timesyncd, chrony, ntpd) disciplines the clock, and returns TIME_ERROR while unsynchronised.
    public static func kernelClock() -> Result<ClockState, PostureSourceError> {
        var maxError = 0, estimatedError = 0
        var unsynchronised: Int32 = 1
        do {
            try Syscall.call("adjtimex") { cudev_clock_state(&maxError, &estimatedError, &unsynchronised) }
        } catch {
            return .failure(PostureSourceError("\(error)"))
        }
        return .success(ClockState(synchronised: unsynchronised == 0, maxErrorMicroseconds: Int64(maxError),
                                   estimatedErrorMicroseconds: Int64(estimatedError)))
    }

    /// Runs `nft -j list ruleset` (nftables' own JSON, read by `EgressRulesetAnalyzer`).
    public static func nftRuleset(executable: String = "/usr/sbin/nft") -> Result<String, PostureSourceError> {
        guard FileSystem.exists(executable) else { return .failure(PostureSourceError("\(executable) is not installed")) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-j", "list", "ruleset"]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do { try process.run() } catch { return .failure(PostureSourceError("\(executable): \(error)")) }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let problem = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: problem, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
            return .failure(PostureSourceError("nft -j list ruleset exited with \(process.terminationStatus): \(text)"))
        }
        return .success(String(decoding: data, as: UTF8.self))
    }
}

/// Reading the system under a root prefix without ever trapping: every failure is a value.
struct PostureFiles {
    let root: String
    /// Larger files are not read (a regex over a huge file would stall the run).
    static let maxBytes = 4 << 20

    func path(_ path: String) -> String { root + path }

    /// nil when the file does not exist.
    func text(_ path: String) -> Result<String?, DeclarativeCheckEvaluator.ReadFailure> {
        let full = root + path
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.readProcFile(full, limit: Self.maxBytes)
        } catch let error as SystemError where error.errno == .noEntry {
            return .success(nil)
        } catch {
            let text = "\(error)"
            return .failure(.init(root.isEmpty ? text : text.replacingOccurrences(of: root, with: "")))
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { return .failure(.init("\(path) is not UTF-8 text")) }
        return .success(text)
    }

    func probe(_ path: String) -> FileProbe {
        var info = stat()
        let full = root + path
        if stat(full, &info) != 0 {
            let code = errno
            if code == ENOENT || code == ENOTDIR { return .missing }
            return .unreadable("stat: \(Errno(rawValue: code))")
        }
        return .found(FileFacts(mode: UInt32(info.st_mode & 0o7777), uid: info.st_uid, gid: info.st_gid,
                                isRegular: (info.st_mode & S_IFMT) == S_IFREG))
    }

    func isDirectory(_ path: String) -> Bool { FileSystem.isDirectory(root + path) }
    func exists(_ path: String) -> Bool { FileSystem.exists(root + path) }
    func list(_ path: String) -> [String]? { try? FileSystem.listDirectory(root + path) }

    /// `name:x:uid:gid:…` lines of `root`/etc/passwd or /etc/group.
    func accounts(_ file: String) -> Result<[[Substring]], DeclarativeCheckEvaluator.ReadFailure> {
        switch text(file) {
        case .failure(let failure): return .failure(failure)
        case .success(nil): return .failure(.init("\(file) does not exist"))
        case .success(let content?):
            return .success(content.split(separator: "\n").map { $0.split(separator: ":", omittingEmptySubsequences: false) }
                .filter { $0.count >= 4 && !$0[0].hasPrefix("#") })
        }
    }

    func id(of name: String, in file: String) -> UInt32? {
        guard case .success(let entries) = accounts(file) else { return nil }
        return entries.first { $0[0] == Substring(name) }.flatMap { UInt32($0[2]) }
    }
}

extension FileSystem {
    /// `readProcFile` with a size limit: a larger file is an error, not a truncated read.
    static func readProcFile(_ path: String, limit: Int) throws -> [UInt8] {
        let handle = try FileHandleFD(path: path, flags: O_RDONLY | O_NONBLOCK)
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let got = try chunk.withUnsafeMutableBytes { raw in
                try Syscall.call("read", path: path) { read(handle.fd, raw.baseAddress!, raw.count) }
            }
            if got == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<got])
            if bytes.count > limit { throw SystemError(operation: "read (larger than \(limit) bytes)", path: path, errno: Errno(rawValue: EFBIG)) }
        }
    }
}
