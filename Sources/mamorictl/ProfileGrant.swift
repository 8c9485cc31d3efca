public import ArgumentParser
import Foundation
import MamoriClient
import MamoriCore

/// `mamorictl profile grant-device`: a one-off exception (持ち出し申請) — one terminal may write
/// to one stick for hours — signed with a profile-signing key and pushed through the collector.
/// The terminal verifies it against its pinned root, applies it on top of its profile, and ends
/// it by itself at expiry, collector or not.
struct ProfileGrantDevice: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grant-device",
        abstract: "Sign a one-off, host-scoped grant for one device (持ち出し申請) and push it to the collector.",
        discussion: """
            The grant adds one allow entry, for the device with this exact serial, on this host only, until it expires
            (1m to 7d). Revoke it early with `mamorictl profile revoke-grant ID`. With --no-push, only the signed
            grant is written (--out), and --host must be the host's id.
            Exit status: 0 signed (and pushed); 1 refused by the collector (with the reason); 2 bad input.
            """
    )

    @Option(help: "The terminal: its id, or its hostname as the collector knows it.")
    var host: String

    @Option(help: "The device's serial number, exactly as `mamori-agent media scan` shows it.")
    var serial: String

    @Option(help: "The device's USB vendor id (four hex digits); recommended.")
    var vendor: String?

    @Option(help: "The device's USB product id (four hex digits); recommended.")
    var product: String?

    @Option(name: .customLong("for"), help: "How long the grant lasts: e.g. 30m, 4h, 2d (at most 7d).")
    var duration: String

    @Option(help: "read-write (default: the take-out) or read-only.")
    var mode: MediaAction = .readWrite

    @Option(help: "Why (recorded in the grant, the terminal's journal and the report).")
    var reason: String

    @Option(help: "The approval reference (申請番号).")
    var ref: String

    @OptionGroup var signing: SigningKeyOptions

    @Option(help: "Also write the signed grant to this file.")
    var out: String?

    @Flag(help: "Sign only: write --out and do not contact the collector.")
    var noPush = false

    @OptionGroup var collector: CollectorOptions

    @OptionGroup var clock: ClockOptions

    func validate() throws {
        guard mode == .readWrite || mode == .readOnly else { throw ValidationError("--mode must be read-write or read-only") }
        if noPush && out == nil { throw ValidationError("--no-push needs --out FILE (where the signed grant goes)") }
        guard let seconds = EnrollTokenCreate.parseDuration(duration),
              (DeviceGrant.minimumSeconds...DeviceGrant.maximumSeconds).contains(seconds) else {
            throw ValidationError("--for must be 1m to 7d, like 30m, 4h or 2d (found `\(duration)`)")
        }
        for (name, value) in [("--vendor", vendor), ("--product", product)] {
            if let value, !(value.count == 4 && value.allSatisfy(\.isHexDigit)) { throw ValidationError("\(name) must be four hex digits") }
        }
    }

    func run() async throws {
        let now = clock.time
        let seconds = EnrollTokenCreate.parseDuration(duration) ?? 0
        var hostId = host
        var hostname: String?
        if !noPush {
            let reply = try await collector.withClient { client, token in
                try await client.adminGet("/v1/admin/fleet/host", query: [("name", host)], token: token)
            }
            guard let id = reply["host"]?["id"]?.stringValue else { throw InputError("the collector did not name the host's id") }
            hostId = id
            hostname = reply["host"]?["hostname"]?.stringValue
        }
        let grant = DeviceGrant(id: Self.newId(), host: hostId, vendor: vendor?.lowercased(), product: product?.lowercased(),
                                serial: serial, mode: mode, issued: now, expires: now.adding(seconds: seconds),
                                reason: reason.trimmingCharacters(in: .whitespacesAndNewlines),
                                reference: ref.trimmingCharacters(in: .whitespacesAndNewlines))
        if let problem = grant.problem() { throw InputError("not signed: \(problem)") }
        let (signingKey, certificate, chain) = try signing.load()
        let signed: SignedDeviceGrant
        switch SignedDeviceGrant.sign(grant, key: signingKey, certificate: certificate, rootRotations: chain, now: now) {
        case .failure(let rejection): throw InputError("not signed: \(rejection.description)")
        case .success(let value): signed = value
        }
        if let out { try KeysFiles.write(out, signed.bytes, secret: false) }
        if !noPush {
            _ = try await collector.withClient { client, token in
                try await client.admin("POST", "/v1/admin/grants", token: token, body: signed.bytes).json(expect: 201)
            }
        }
        print("\(noPush ? "signed" : "granted") \(grant.id): \(grant.deviceLabel) \(grant.mode.rawValue) on \(hostname.map { "\($0) (\(hostId))" } ?? hostId)")
        print("  until   \(grant.expires)")
        print("  ref     \(TerminalText.safe(grant.reference))")
        print("  reason  \(TerminalText.safe(grant.reason))")
        if let out { print("  written \(out)") }
    }

    /// `grt-` and 16 random hex digits.
    static func newId() -> String {
        var generator = SystemRandomNumberGenerator()
        return "grt-" + Hex.encode((0..<8).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}

/// `mamorictl profile revoke-grant ID --reason TEXT`: the collector stops serving the grant and
/// the terminal ends it at its next poll (journalled there as `media.grant-revoked`).
struct ProfileRevokeGrant: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke-grant",
        abstract: "Withdraw a device grant before it expires.",
        discussion: "Exit status: 0 revoked; 1 refused (unknown, already revoked or expired); 2 bad input."
    )

    @Argument(help: "The grant's id (grt-…).")
    var id: String

    @Option(help: "Why it is withdrawn (recorded).")
    var reason: String

    @OptionGroup var collector: CollectorOptions

    func validate() throws {
        if reason.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--reason must not be empty") }
    }

    func run() async throws {
        let reply = try await collector.withClient { client, token in
            try await client.adminPost("/v1/admin/grants/revoke", ["id": .string(id), "reason": .string(reason)], token: token)
        }
        print(TerminalText.safe("revoked \(id) (\(reply["serial"]?.stringValue ?? "?") on \(reply["hostname"]?.stringValue ?? "?")); "
              + "the terminal ends it at its next profile poll"))
    }
}

/// `mamorictl profile allow-device --host HOST`: `generate-policy` on the admin side. The
/// allow-list entries, as YAML to paste into a profile, for the storage devices a terminal's
/// media guard has decided about (from its journal, as the collector holds it).
struct ProfileAllowDevice: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allow-device",
        abstract: "Print media.allow entries (YAML) for the storage devices a host has reported.",
        discussion: "Exit status: 0 entries printed; 1 the host reported no matching storage device; 2 bad input or a refusal."
    )

    @Option(help: "The terminal: its id or hostname.")
    var host: String

    @Option(help: "Only the device with this serial.")
    var serial: String?

    @Option(help: "The mode each entry grants: read-write or read-only.")
    var mode: MediaAction = .readWrite

    @OptionGroup var collector: CollectorOptions

    func validate() throws {
        guard mode == .readWrite || mode == .readOnly else { throw ValidationError("--mode must be read-write or read-only") }
    }

    func run() async throws {
        let reply = try await collector.withFleetClient { client, token in
            try await client.adminGet("/v1/admin/fleet/devices", query: [("name", host)], token: token)
        }
        let hostname = reply["host"]?["hostname"]?.stringValue ?? host
        let candidates = (reply["devices"]?.arrayValue ?? []).compactMap { device -> MediaAllowCandidate? in
            guard let vendor = device["vendor"]?.stringValue, let product = device["product"]?.stringValue,
                  let deviceClass = device["class"]?.stringValue.flatMap(DeviceClass.init(rawValue:)) else { return nil }
            let deviceSerial = device["serial"]?.stringValue
            if let serial, deviceSerial != serial { return nil }
            let name = [device["vendor_name"]?.stringValue, device["model_name"]?.stringValue].compactMap { $0 }.joined(separator: " ")
            return MediaAllowCandidate(vendor: vendor, product: product, serial: deviceSerial, name: name.isEmpty ? nil : name,
                                       location: "seen on \(hostname), last \(device["last_seen"]?.stringValue ?? "?")", deviceClass: deviceClass)
        }
        let blocks = MediaAllowListYAML.blocks(candidates, mode: mode)
        guard !blocks.isEmpty else {
            Output.error("\(TerminalText.safe(hostname)) has reported no removable storage\(serial.map { " with serial \($0)" } ?? "")")
            throw ExitStatus.failed
        }
        print("""
            # media.allow entries for the storage devices \(TerminalText.safe(hostname)) has reported, from `mamorictl profile allow-device`.
            # Paste them under `media: allow:` of a profile, indented, fill in `expires` and `reason`,
            # then `mamorictl profile lint` and `mamorictl profile sign`. Names are what the devices claim.
            """)
        for line in blocks.joined(separator: "\n").split(separator: "\n", omittingEmptySubsequences: false) {
            print(TerminalText.safe(String(line)))
        }
    }
}

extension MediaAction: ExpressibleByArgument {}
