#if canImport(Glibc)
import Glibc
#endif
public import Crypto
import Foundation
public import MamoriCore

/// The writer's current epoch key on disk, in two fixed 128-byte slots overwritten in place.
///
/// Evolving writes the new key into the idle slot (fdatasync), then overwrites the old slot with
/// zeros (fdatasync), so K(e) does not survive on the disk once K(e+1) is safe. A crash between the
/// two steps leaves both; the next open keeps the newer and zeroes the older.
///
/// Slot: "MJK1" ‖ u64be epoch ‖ u64be firstSeq ‖ i64be startedAt(µs) ‖ key[32] ‖ SHA-256 of the
/// preceding 60 bytes ‖ zero padding.
public struct EpochKeyState: Sendable, Equatable {
    public var key: EpochKey
    public var firstSeq: UInt64
    public var startedAt: Timestamp

    public init(key: EpochKey, firstSeq: UInt64, startedAt: Timestamp) {
        self.key = key
        self.firstSeq = firstSeq
        self.startedAt = startedAt
    }
}

public struct EpochKeyFileError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

final class EpochKeyFile {
    static let slotSize = 128
    static let magic: [UInt8] = Array("MJK1".utf8)
    let handle: FileHandleFD
    private(set) var activeSlot: Int

    private init(handle: FileHandleFD, activeSlot: Int) {
        self.handle = handle
        self.activeSlot = activeSlot
    }

    static func create(path: String, state: EpochKeyState) throws -> EpochKeyFile {
        let handle = try FileHandleFD(path: path, flags: O_RDWR | O_CREAT | O_EXCL, mode: 0o600)
        try handle.pwriteAll(encode(state) + [UInt8](repeating: 0, count: slotSize), at: 0)
        try handle.sync()
        try FileSystem.syncDirectory(containing: path)
        return EpochKeyFile(handle: handle, activeSlot: 0)
    }

    static func open(path: String) throws -> (EpochKeyFile, EpochKeyState) {
        let handle = try FileHandleFD(path: path, flags: O_RDWR)
        let bytes = try handle.readAll()
        guard bytes.count == 2 * slotSize else {
            throw EpochKeyFileError(description: "\(path): epoch key file has \(bytes.count) bytes, expected \(2 * slotSize)")
        }
        let slots = [decode(Array(bytes[0..<slotSize])), decode(Array(bytes[slotSize...]))]
        let valid = slots.enumerated().compactMap { index, state in state.map { (index, $0) } }
        guard let newest = valid.max(by: { $0.1.key.epoch < $1.1.key.epoch }) else {
            throw EpochKeyFileError(description: "\(path): no valid epoch key (both slots empty or damaged); the journal cannot be continued")
        }
        let file = EpochKeyFile(handle: handle, activeSlot: newest.0)
        if valid.count == 2 {
            // A crash between writing the new key and erasing the old one: finish the erasure.
            try handle.pwriteAll([UInt8](repeating: 0, count: slotSize), at: off_t((1 - newest.0) * slotSize))
            try handle.syncData()
        }
        return (file, newest.1)
    }

    /// Stores `state` in the idle slot, then erases the active one.
    func replace(with state: EpochKeyState) throws {
        let idle = 1 - activeSlot
        try handle.pwriteAll(EpochKeyFile.encode(state), at: off_t(idle * EpochKeyFile.slotSize))
        try handle.syncData()
        try handle.pwriteAll([UInt8](repeating: 0, count: EpochKeyFile.slotSize), at: off_t(activeSlot * EpochKeyFile.slotSize))
        try handle.syncData()
        activeSlot = idle
    }

    static func encode(_ state: EpochKeyState) -> [UInt8] {
        var out = magic
        out.append(contentsOf: bigEndian(state.key.epoch))
        out.append(contentsOf: bigEndian(state.firstSeq))
        out.append(contentsOf: bigEndian(UInt64(bitPattern: state.startedAt.microsecondsSinceEpoch)))
        out.append(contentsOf: state.key.keyBytes)
        out.append(contentsOf: Array(SHA256.hash(data: out)))
        out.append(contentsOf: [UInt8](repeating: 0, count: slotSize - out.count))
        return out
    }

    static func decode(_ slot: [UInt8]) -> EpochKeyState? {
        guard slot.count == slotSize, Array(slot[0..<4]) == magic else { return nil }
        let checksum = Array(SHA256.hash(data: slot[0..<60]))
        guard checksum == Array(slot[60..<92]) else { return nil }
        func u64(_ at: Int) -> UInt64 {
            var value: UInt64 = 0
            for index in at..<(at + 8) { value = (value << 8) | UInt64(slot[index]) }
            return value
        }
        let key = EpochKey(epoch: u64(4), keyBytes: Array(slot[28..<60]))
        return EpochKeyState(key: key, firstSeq: u64(12), startedAt: Timestamp(microsecondsSinceEpoch: Int64(bitPattern: u64(20))))
    }

    static func bigEndian(_ value: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
        return out
    }
}

/// The host's Ed25519 signing key, stored as hex in a root-only file.
public enum HostKeyFile {
    public static func write(_ key: Curve25519.Signing.PrivateKey, to path: String) throws {
        try FileSystem.writeFileAtomically(path, Array((Hex.encode(key.rawRepresentation) + "\n").utf8), mode: 0o600)
    }

    public static func writePublic(_ key: Curve25519.Signing.PublicKey, to path: String) throws {
        try FileSystem.writeFileAtomically(path, Array((Hex.encode(key.rawRepresentation) + "\n").utf8), mode: 0o644)
    }

    public static func read(_ path: String) throws -> Curve25519.Signing.PrivateKey {
        let text = String(decoding: try FileSystem.readFile(path), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let bytes = Hex.decode(text), bytes.count == 32 else {
            throw EpochKeyFileError(description: "\(path): not a hex Ed25519 private key (64 hex digits)")
        }
        return try Curve25519.Signing.PrivateKey(rawRepresentation: bytes)
    }

    public static func readPublic(_ path: String) throws -> Curve25519.Signing.PublicKey {
        let text = String(decoding: try FileSystem.readFile(path), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let bytes = Hex.decode(text), bytes.count == 32 else {
            throw EpochKeyFileError(description: "\(path): not a hex Ed25519 public key (64 hex digits)")
        }
        return try Curve25519.Signing.PublicKey(rawRepresentation: bytes)
    }
}
