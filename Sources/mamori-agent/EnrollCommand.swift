import ArgumentParser
import Crypto
import Foundation
import MamoriAgent
import MamoriClient
import MamoriCore

/// Enrols this terminal with a collector: creates the host key and K0, registers them with a
/// one-time token, starts the journal under the host id the collector assigned, and pins the
/// collector's CA and the profile root key.
struct EnrollCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll",
        abstract: "Enrol this terminal with a collector (once; the token is spent).",
        discussion: """
            The CA file is the collector's CA certificate, obtained out of band (mamori-collector init \
            writes it to DATA/tls/ca.pem). The profile root key is pinned from --profile-root if given \
            (and must then match the collector's), else from the collector's answer over the pinned CA.
            """
    )

    @Option(help: "The collector's URL, e.g. https://collector.example:8443.")
    var server: String

    @Option(help: "The one-time enrolment token (mamorictl enroll-token create).")
    var token: String?

    @Option(name: .customLong("token-file"), help: "Read the token from this file instead (keeps it out of the process list).")
    var tokenFile: String?

    @Option(help: "The collector's CA certificate (PEM).")
    var ca: String

    @Option(name: .customLong("profile-root"), help: "The profile root public key file, to pin out of band.")
    var profileRoot: String?

    @Option(help: "The name to register (default: this machine's host name).")
    var hostname: String?

    @Option(help: "Put every path under this directory (tests and demos).")
    var root: String?

    func validate() throws {
        guard server.hasPrefix("https://") else { throw ValidationError("--server must be an https:// URL") }
        guard (token == nil) != (tokenFile == nil) else { throw ValidationError("give exactly one of --token and --token-file") }
        if let root, !root.hasPrefix("/") { throw ValidationError("--root must be an absolute path") }
    }

    func run() async throws {
        let layout = AgentLayout(root: root ?? "")
        do {
            try await enrol(layout)
        } catch let error as AgentStateError {
            AgentOutput.error(error.description)
            throw ExitCode(1)
        } catch let error as CollectorClientError {
            AgentOutput.error("enrolment failed: \(error.description)")
            throw ExitCode(1)
        }
    }

    func enrol(_ layout: AgentLayout) async throws {
        if FileSystem.exists(layout.enrolmentPath) || FileSystem.exists(layout.journalPaths.epochKeyPath) {
            throw AgentStateError("this terminal is already enrolled (\(layout.enrolmentPath)); its journal and keys are kept. "
                + "To enrol it again, an administrator must first archive and remove \(layout.stateDirectory)")
        }
        let secret = try token ?? String(contentsOfFile: tokenFile!, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let caPEM: String
        do {
            caPEM = try String(contentsOfFile: ca, encoding: .utf8)
        } catch {
            throw AgentStateError("cannot read the CA certificate \(ca): \(error.localizedDescription)")
        }
        let pinnedRoot = try profileRoot.map { path -> ProfilePublicKey in
            let text = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let key = ProfilePublicKey(hex: text) else { throw AgentStateError("\(path): not a profile root public key") }
            return key
        }
        let hostKey = Curve25519.Signing.PrivateKey()
        let k0 = EpochKey.generateK0()
        let name = hostname ?? ProcessInfo.processInfo.hostName
        let client = try CollectorClient(baseURL: server, caPEM: caPEM, connectionsPerHost: 1)
        let enrolment: AgentEnrolment
        do {
            enrolment = try await client.enrolDetailed(token: secret, hostname: name, hostKey: hostKey, k0: k0)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
        let collectorRoot = enrolment.profileRoot
        if let pinnedRoot, let collectorRoot, pinnedRoot != collectorRoot {
            throw AgentStateError("the collector's profile root \(collectorRoot.keyId) is not the one given with --profile-root (\(pinnedRoot.keyId))")
        }
        let now = SystemClock.now()
        try FileSystem.makeDirectory(layout.stateDirectory, mode: 0o755)
        let store = try JournalStore.create(paths: layout.journalPaths, host: enrolment.identity.hostId, k0: k0, hostKey: hostKey, now: now)
        try FileSystem.writeFileAtomically(layout.collectorCAPath, Array(caPEM.utf8), mode: 0o644)
        if let root = pinnedRoot ?? collectorRoot {
            try FileSystem.writeFileAtomically(layout.profileRootPath, Array((root.hex + "\n").utf8), mode: 0o644)
        }
        let record = EnrolmentRecord(hostId: enrolment.identity.hostId, organisation: enrolment.identity.organisation,
                                     hostGroup: enrolment.identity.hostGroup, collectorURL: server,
                                     receiptKey: enrolment.identity.receiptKey.rawRepresentation.map { $0 }, enrolledAt: now)
        try record.save(layout)
        _ = try store.append(kind: "agent.enrolled", payload: [
            "host_id": .string(record.hostId), "organisation": .string(record.organisation),
            "host_group": record.hostGroup.map { .string($0) } ?? .null, "collector": .string(server),
            "profile_root": (pinnedRoot ?? collectorRoot).map { .string($0.keyId) } ?? .null,
        ], now: now)
        try store.close(now: now)
        AgentOutput.line("enrolled as \(record.hostId) (\(record.organisation)\(record.hostGroup.map { ", group " + $0 } ?? ""))")
        if pinnedRoot == nil && collectorRoot == nil {
            AgentOutput.error("warning: the collector has no profile root key; this terminal will reject every profile until one is pinned at "
                + layout.profileRootPath)
        }
    }
}

