import ArgumentParser
import Crypto
import MamoriAgent
import MamoriCore

struct JournalGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a valid journal of varied records, for demos, tests and benchmarks.",
        discussion: """
            Writes DIR/journal (the segments), DIR/k0 (the epoch-0 key, hex) and DIR/host.pub (the
            host's Ed25519 public key, hex): what `journal verify` needs. The writer's own secrets
            go to DIR/writer (mode 0700). The same --seed gives the same records.
            """
    )

    @Argument(help: "Directory to create (must not hold a journal yet).")
    var directory: String

    @Option(help: "Number of records to write (an epoch-end checkpoint may follow the last).")
    var records: Int

    @Option(help: "Seed for the pseudo-random event mix and keys.")
    var seed: UInt64 = 1

    @Option(help: "Host name written into every record.")
    var host: String = "mynumber-pc-001"

    @Option(help: "Records per epoch before the key evolves.")
    var epochRecords: UInt64 = 1000

    @Option(help: "Maximum segment size in bytes.")
    var segmentBytes: Int = 64 << 20

    func validate() throws {
        guard records >= 1 else { throw ValidationError("--records must be at least 1") }
        guard records <= 100_000_000 else { throw ValidationError("--records must be at most 100000000") }
        guard epochRecords >= 2 else { throw ValidationError("--epoch-records must be at least 2") }
        guard segmentBytes >= 4096 else { throw ValidationError("--segment-bytes must be at least 4096") }
    }

    func run() throws {
        var random = SplitMix64(seed: seed)
        let k0 = EpochKey(epoch: 0, keyBytes: random.bytes(32))
        let hostKey = try Curve25519.Signing.PrivateKey(rawRepresentation: random.bytes(32))
        let paths = JournalPaths(journalDirectory: directory + "/journal", keyDirectory: directory + "/writer")
        var options = JournalStoreOptions()
        options.durability = .syncOnClose
        options.epochPolicy = EpochPolicy(maxRecords: epochRecords, maxDurationSeconds: 15 * 60)
        options.segmentByteLimit = segmentBytes
        var clock = Timestamp(parsing: "2026-04-01T08:30:00Z")!
        let store: JournalStore
        do {
            store = try JournalStore.create(paths: paths, host: host, k0: k0, hostKey: hostKey, now: clock, options: options)
        } catch let error as JournalStoreError where error.code == .exists {
            throw InputError(error.description)
        }
        var mix = EventMix(random: random)
        while store.nextSeq < UInt64(records) {
            clock = clock.adding(microseconds: Int64(mix.random.next() % 4_000_000))
            let event = mix.next()
            _ = try store.append(kind: event.kind, payload: event.payload, now: clock)
        }
        try store.sync()
        try FileSystem.writeFileAtomically(directory + "/k0", Array((Hex.encode(k0.keyBytes) + "\n").utf8), mode: 0o600)
        try HostKeyFile.writePublic(hostKey.publicKey, to: directory + "/host.pub")
        let head = store.head!
        print("wrote \(head.seq + 1) records to \(paths.journalDirectory) (epochs 0...\(store.epoch))")
        print("head \(head)")
    }
}

/// The kinds of events a terminal in the zone produces, with plausible payloads.
struct EventMix {
    var random: SplitMix64
    let users = ["tanaka.h", "suzuki.m", "sato.k", "yamamoto.a", "watanabe.y", "ito.r"]
    let services = ["login", "gdm-password", "sudo", "sshd", "xscreensaver"]
    let devices: [(vendor: String, product: String, serial: String, label: String)] = [
        ("0781", "5583", "4C530001230517115063", "SanDisk Ultra Fit"),
        ("0951", "1666", "E0D55EA573DCF450E9370C1B", "Kingston DataTraveler 3.0"),
        ("05ac", "12a8", "", "iPhone (PTP/MTP)"),
        ("0bda", "0129", "20100201396000000", "Realtek SD card reader"),
        ("046d", "c52b", "", "Logitech Unifying receiver"),
    ]
    let checks = [("media.rules", "6(3)①"), ("pam.stack", "6(3)①"), ("net.wireless", "6(3)①"),
                  ("net.egress", "6(3)①"), ("clock.sync", "6(6)"), ("agent.integrity", "6(6)")]

    init(random: SplitMix64) { self.random = random }

    mutating func next() -> (kind: String, payload: [String: JSONValue]) {
        switch random.next() % 10 {
        case 0, 1, 2:
            let device = random.pick(devices)
            let decision = random.pick(["read-only", "block", "read-write"])
            return ("media.decision", [
                "device": .string("/dev/sd" + random.pick(["b", "c", "d"])),
                "vendor": .string(device.vendor), "product": .string(device.product),
                "serial": .string(device.serial), "label": .string(device.label),
                "decision": .string(decision),
                "rule": .string(decision == "read-write" ? "allow-list:総務課-暗号化USB" : "default"),
                "mode": .string("enforce"),
            ])
        case 3, 4, 5:
            let outcome = random.pick(["success", "success", "success", "failure", "replay"])
            return ("auth." + outcome, [
                "user": .string(random.pick(users)), "service": .string(random.pick(services)),
                "tty": .string(random.pick([":0", "tty1", "pts/0"])), "factor": .string("totp"),
                "consecutive_failures": .int(outcome == "success" ? 0 : Int64(random.next() % 4) + 1),
            ])
        case 6, 7:
            let check = random.pick(checks)
            let status = random.pick(["pass", "pass", "pass", "fail"])
            return ("posture." + status, [
                "check": .string(check.0), "clause": .string(check.1), "status": .string(status),
                "evidence": .string(status == "pass" ? "確認済み (verified)" : "wlan0 is UP"),
            ])
        case 8:
            return ("profile.applied", [
                "profile": .string("mynumber-standard"), "version": .int(Int64(random.next() % 40) + 1),
                "scope": .string("区長部局"),
            ])
        default:
            return ("agent.heartbeat", [
                "uptime_s": .int(Int64(random.next() % 900_000)), "spool_records": .int(Int64(random.next() % 50)),
            ])
        }
    }
}
