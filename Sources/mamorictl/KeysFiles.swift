import ArgumentParser
import Foundation
import MamoriAgent
import MamoriCore

/// Reading and writing the profile trust chain's files: private keys 0600, everything else 0644.
enum KeysFiles {
    static func read(_ path: String, what: String) throws -> [UInt8] {
        do { return try FileSystem.readFile(path) } catch { throw InputError("cannot read \(what) \(path): \(error)") }
    }

    static func privateKey(_ path: String, role: ProfileKeyRole) throws -> ProfilePrivateKey {
        switch ProfilePrivateKey.parse(fileBytes: try read(path, what: "key")) {
        case .failure(let error): throw InputError("\(path): \(error)")
        case .success(let key):
            guard key.role == role else { throw InputError("\(path) is a \(key.role.rawValue) key; a \(role.rawValue) key is needed here") }
            return key
        }
    }

    static func publicKey(_ path: String) throws -> ProfilePublicKey {
        let text = String(decoding: try read(path, what: "public key"), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let key = ProfilePublicKey(hex: text) else { throw InputError("\(path): a public key is 64 lower-case hex digits") }
        return key
    }

    static func certificate(_ path: String) throws -> SigningKeyCertificate {
        switch SigningKeyCertificate.parse(fileBytes: try read(path, what: "certificate")) {
        case .failure(let error): throw InputError("\(path): \(error)")
        case .success(let certificate): return certificate
        }
    }

    static func rotations(_ path: String) throws -> [RootRotation] {
        switch RootRotation.parseChain(fileBytes: try read(path, what: "root rotations")) {
        case .failure(let error): throw InputError("\(path): \(error)")
        case .success(let chain): return chain
        }
    }

    static func write(_ path: String, _ bytes: [UInt8], secret: Bool) throws {
        do { try FileSystem.writeFileAtomically(path, bytes, mode: secret ? 0o600 : 0o644) } catch {
            throw InputError("cannot write \(path): \(error)")
        }
    }

    static func refuseOverwrite(_ paths: [String]) throws {
        if let existing = paths.first(where: FileSystem.exists) {
            throw InputError("\(existing) already exists; keys are never overwritten (choose another --dir or --name)")
        }
    }

    static func ensureDirectory(_ path: String) throws {
        do { try FileSystem.makeDirectory(path, mode: 0o700) } catch { throw InputError("cannot create \(path): \(error)") }
    }

    /// Writes NAME.key (0600), NAME.pub and, for signing keys, NAME.cert.
    static func writeKeyPair(dir: String, name: String, key: ProfilePrivateKey, certificate: SigningKeyCertificate?) throws {
        try write("\(dir)/\(name).key", key.fileBytes, secret: true)
        try write("\(dir)/\(name).pub", Array((key.publicKey.hex + "\n").utf8), secret: false)
        if let certificate { try write("\(dir)/\(name).cert", certificate.fileBytes, secret: false) }
    }
}

/// `--now` for reproducible runs and tests; otherwise the system clock (MamoriCore reads none).
struct ClockOptions: ParsableArguments {
    @Option(help: "Use this UTC time instead of the clock (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ).")
    var now: String?

    func validate() throws {
        if let now, Timestamp(parsing: now) == nil { throw ValidationError("--now must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ") }
    }

    var time: Timestamp {
        if let now, let parsed = Timestamp(parsing: now) { return parsed }
        return Timestamp(secondsSinceEpoch: Int64(Date().timeIntervalSince1970))
    }
}
