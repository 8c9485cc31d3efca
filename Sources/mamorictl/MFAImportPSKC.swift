import ArgumentParser
import Foundation
import MamoriAgent
import MamoriCore

#if canImport(Glibc)
import Glibc
#endif

struct MFAImportPSKC: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-pskc",
        abstract: "Enrol OATH hardware tokens from a PSKC file (RFC 6030), plain or password-protected.",
        discussion: """
            Each key is given to the user named by --user SERIAL=USER, or else by its <UserId> when that
            is a valid user name. Nothing is written unless every key in the file maps to a user who is
            not yet enrolled (or --force). A password-protected file (PBKDF2, AES-CBC, HMAC; RFC 6030
            section 6.2) is decrypted with the password from --password-file, or asked for on the terminal;
            every secret's MAC is checked first, so a wrong password or an altered file writes nothing.
            """
    )

    @Argument(help: "The PSKC file.")
    var file: String

    @OptionGroup var location: MFARootOption

    @Option(name: .customLong("user"), help: "SERIAL=USER: enrol the token with this serial number for USER (repeatable).")
    var assignments: [String] = []

    @Option(name: .customLong("password-file"), help: "Read the password of a password-protected file from this file (first line).")
    var passwordFile: String?

    @Flag(help: "Replace existing enrolments.")
    var force = false

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file) else { throw InputError("cannot read \(file)") }
        let keys = try PSKCDocument.keys(from: data, password: readPassword)
        let owners = try assignedUsers(keys)
        let store = location.store
        try store.prepare()
        for (key, user) in zip(keys, owners) where !force {
            if try store.readLocked(user) != nil { throw InputError("\(user) is already enrolled (token \(key.serial)); use --force to replace") }
        }
        for (key, user) in zip(keys, owners) {
            try store.update(user) { _ -> (MFAUserRecord?, Void) in
                (MFAUserRecord(user: user, credential: key.credential, state: MFAUserState(hotpCounter: key.counter)), ())
            }
            print("enrolled      \(user) (\(key.credential.factor.rawValue) token \(key.serial.isEmpty ? "without serial" : key.serial))")
        }
    }

    /// The password from --password-file (its first line), or typed on the terminal without echo.
    func readPassword() throws -> [UInt8] {
        if let passwordFile {
            guard let data = FileManager.default.contents(atPath: passwordFile) else { throw InputError("cannot read \(passwordFile)") }
            let line = data.split(separator: UInt8(ascii: "\n"), maxSplits: 1, omittingEmptySubsequences: false).first ?? []
            let password = Array(line.last == UInt8(ascii: "\r") ? line.dropLast() : line)
            guard !password.isEmpty else { throw InputError("\(passwordFile) holds no password") }
            return password
        }
        guard isatty(STDIN_FILENO) == 1, let typed = getpass("PSKC file password: ") else {
            throw InputError("\(file) is password-protected: pass --password-file FILE")
        }
        let password = Array(String(cString: typed).utf8)
        // getpass returns a static buffer: clear it so the password does not linger there.
        memset(typed, 0, strlen(typed))
        return password
    }

    func assignedUsers(_ keys: [PSKCKey]) throws -> [String] {
        var bySerial: [String: String] = [:]
        for assignment in assignments {
            let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, MFAUserName.isValid(parts[1]) else { throw InputError("--user \(assignment): expected SERIAL=USER") }
            bySerial[parts[0]] = parts[1]
        }
        let users = try keys.map { key -> String in
            if let user = bySerial[key.serial] { return user }
            if let userId = key.userId, MFAUserName.isValid(userId) { return userId }
            throw InputError("token \(key.serial.isEmpty ? "without serial" : key.serial) has no user: pass --user \(key.serial)=USER")
        }
        guard Set(users).count == users.count else { throw InputError("two tokens map to the same user") }
        return users
    }
}
