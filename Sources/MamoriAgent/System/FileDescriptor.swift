#if canImport(Glibc)
public import Glibc
#endif

/// An owned file descriptor, closed in deinit.
final class FileHandleFD {
    let fd: Int32
    let path: String

    init(path: String, flags: Int32, mode: mode_t = 0o600) throws {
        self.path = path
        self.fd = try Syscall.call("open", path: path) { open(path, flags | O_CLOEXEC, mode) }
    }

    deinit { close(fd) }

    /// Writes all of `bytes`, retrying short writes.
    func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let written = try Syscall.call("write", path: path) {
                write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            }
            offset += written
        }
    }

    func writeAll(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in try writeAll(raw) }
    }

    func pwriteAll(_ bytes: [UInt8], at offset: off_t) throws {
        try bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let written = try Syscall.call("pwrite", path: path) {
                    pwrite(fd, raw.baseAddress! + done, raw.count - done, offset + off_t(done))
                }
                done += written
            }
        }
    }

    func syncData() throws { try Syscall.call("fdatasync", path: path) { fdatasync(fd) } }
    func sync() throws { try Syscall.call("fsync", path: path) { fsync(fd) } }

    func size() throws -> Int {
        var info = stat()
        try Syscall.call("fstat", path: path) { fstat(fd, &info) }
        return Int(info.st_size)
    }

    func truncate(to length: Int) throws {
        try Syscall.call("ftruncate", path: path) { ftruncate(fd, off_t(length)) }
    }

    /// Reads the whole file from offset 0.
    func readAll() throws -> [UInt8] {
        let total = try size()
        var bytes = [UInt8](repeating: 0, count: total)
        var done = 0
        while done < total {
            let got = try bytes.withUnsafeMutableBytes { raw in
                try Syscall.call("pread", path: path) { pread(fd, raw.baseAddress! + done, total - done, off_t(done)) }
            }
            if got == 0 { break }
            done += got
        }
        if done < total { bytes.removeLast(total - done) }
        return bytes
    }
}

/// Small file-system helpers; each fails with a SystemError naming the path.
public enum FileSystem {
    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    public static func makeDirectory(_ path: String, mode: mode_t = 0o700) throws {
        if isDirectory(path) { return }
        var parent = path
        while parent.hasSuffix("/") && parent.count > 1 { parent.removeLast() }
        if let slash = parent.lastIndex(of: "/"), slash != parent.startIndex {
            try makeDirectory(String(parent[..<slash]), mode: 0o755)
        }
        do {
            try Syscall.call("mkdir", path: path) { mkdir(path, mode) }
        } catch let error as SystemError where error.errno == .exists {
            return
        }
    }

    public static func readFile(_ path: String) throws -> [UInt8] {
        try FileHandleFD(path: path, flags: O_RDONLY).readAll()
    }

    /// Writes a whole file atomically: temp file, fsync, rename, fsync of the directory.
    public static func writeFileAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o600) throws {
        try replaceFile(path, bytes, mode: mode, syncData: true)
        try syncDirectory(containing: path)
    }

    /// Temp file + rename: readers see the old or the new content, never a mix. With `syncData`
    /// false nothing is synced, so after a crash the file may be the old one (or, on a file system
    /// without ext4's rename heuristic, empty): only for files that something synced can rebuild.
    public static func replaceFile(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o600, syncData: Bool) throws {
        let temp = path + ".tmp-\(getpid())"
        do {
            let handle = try FileHandleFD(path: temp, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
            try Syscall.call("fchmod", path: temp) { fchmod(handle.fd, mode) }
            try handle.writeAll(bytes)
            if syncData { try handle.sync() }
        }
        try Syscall.call("rename", path: path) { rename(temp, path) }
    }

    /// Overwrites an existing file in place (write at 0, truncate to the new length) with no
    /// rename and no sync: no new inode, no directory change, nothing for the next journal commit
    /// but the data. Readers must hold the writer's lock (they could see a mix), and after a crash
    /// the file may be old, new or torn: only for files that something synced can rebuild. A
    /// missing file is created with `replaceFile`.
    public static func overwriteFile(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o600) throws {
        guard exists(path) else { return try replaceFile(path, bytes, mode: mode, syncData: false) }
        let handle = try FileHandleFD(path: path, flags: O_WRONLY | O_NOFOLLOW)
        try handle.pwriteAll(bytes, at: 0)
        try Syscall.call("ftruncate", path: path) { ftruncate(handle.fd, off_t(bytes.count)) }
    }

    /// fsync of an existing file.
    public static func syncFile(_ path: String) throws {
        try FileHandleFD(path: path, flags: O_RDONLY | O_NOFOLLOW).sync()
    }

    public static func syncDirectory(containing path: String) throws {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        try syncDirectory(directory.isEmpty ? "/" : directory)
    }

    public static func syncDirectory(_ directory: String) throws {
        let handle = try FileHandleFD(path: directory, flags: O_RDONLY | O_DIRECTORY)
        try handle.sync()
    }

    public static func listDirectory(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else {
            throw SystemError(operation: "opendir", path: path, errno: Errno(rawValue: errno))
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Owner uid and permission bits of a path (without following a final symlink).
    public static func ownerAndMode(_ path: String) throws -> (uid: uid_t, mode: mode_t, isRegular: Bool) {
        var info = stat()
        try Syscall.call("lstat", path: path) { lstat(path, &info) }
        return (info.st_uid, info.st_mode & 0o7777, (info.st_mode & S_IFMT) == S_IFREG)
    }
}
