import ArgumentParser
import Foundation
import MamoriClient
import MamoriCore

/// How mamorictl reaches the collector. The token is read from a file or the environment, never
/// from the command line (where `ps` would show it).
struct CollectorOptions: ParsableArguments {
    @Option(help: "The collector's URL, e.g. https://collector.example:8443 (or MAMORI_SERVER).")
    var server: String?

    @Option(help: "The collector's CA certificate (DATA/tls/ca.pem), or MAMORI_CA.")
    var ca: String?

    @Option(name: .customLong("token-file"), help: "A file holding the admin bearer token, or MAMORI_TOKEN in the environment.")
    var tokenFile: String?

    /// Flags, then the environment (MAMORI_SERVER, MAMORI_CA, MAMORI_TOKEN), then ctl.yaml.
    func resolved() throws -> (client: CollectorClient, token: String) {
        let environment = ProcessInfo.processInfo.environment
        let config = try CtlConfig.load(path: CtlConfig.defaultPath(environment: environment))
        guard let server = server ?? environment["MAMORI_SERVER"] ?? config.server else {
            throw InputError("no collector: give --server URL, set MAMORI_SERVER, or put `server:` in ctl.yaml")
        }
        guard server.hasPrefix("https://") else { throw InputError("--server must be an https:// URL") }
        guard let ca = ca ?? environment["MAMORI_CA"] ?? config.ca else {
            throw InputError("no CA: give --ca FILE (the collector's tls/ca.pem), set MAMORI_CA, or put `ca:` in ctl.yaml")
        }
        let token: String
        if let tokenFile {
            token = try Self.readToken(tokenFile)
        } else if let value = environment["MAMORI_TOKEN"] {
            token = value
        } else if let value = config.token {
            token = value
        } else if let file = config.tokenFile {
            token = try Self.readToken(file)
        } else {
            throw InputError("no admin token: give --token-file FILE, set MAMORI_TOKEN, or put `token_file:` in ctl.yaml")
        }
        guard !token.isEmpty else { throw InputError("the admin token is empty") }
        do {
            return (try CollectorClient(baseURL: server, caFile: ca), token)
        } catch {
            throw InputError("\(error)")
        }
    }

    static func readToken(_ file: String) throws -> String {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw InputError("cannot read the token file \(file)") }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs `body` with a client; a refusal or an unreachable collector is a usage/connection
    /// error (exit 2), as `mamorictl fleet`, `token` and `report` document.
    func withFleetClient<T>(_ body: (CollectorClient, String) async throws -> T) async throws -> T {
        do {
            return try await withClient(body)
        } catch let error as ExitCode where error == ExitStatus.failed {
            throw ExitStatus.badInput
        }
    }

    /// Runs `body` with a client, shutting it down afterwards; collector refusals exit 1.
    func withClient<T>(_ body: (CollectorClient, String) async throws -> T) async throws -> T {
        let (client, token) = try resolved()
        do {
            let value = try await body(client, token)
            try? await client.shutdown()
            return value
        } catch let error as CollectorClientError {
            try? await client.shutdown()
            Output.error(error.description)
            throw ExitStatus.failed
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}

struct EnrollTokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll-token",
        abstract: "One-time enrolment tokens for terminals.",
        subcommands: [EnrollTokenCreate.self]
    )
}

struct EnrollTokenCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a one-time enrolment token scoped to an organisation (and optionally a host group).",
        discussion: "Prints the token once; the collector keeps only its hash. Exit status: 0 created; 1 refused; 2 bad input."
    )

    @OptionGroup var collector: CollectorOptions

    @Option(help: "Organisation: mayor, education, assembly, election, audit, agriculture (or its Japanese name).")
    var org: String

    @Option(help: "Host group the terminal joins.")
    var group: String?

    @Option(help: "How long the token stays valid: e.g. 30m, 12h, 7d (default 24h; at most 90d).")
    var expires: String = "24h"

    @Option(help: "text (the token alone) or json.")
    var format: OutputFormat = .text

    func run() async throws {
        guard let organisation = Organisation(identifierOrName: org) else {
            throw InputError("unknown organisation \(org) (one of \(Organisation.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard let seconds = Self.parseDuration(expires) else { throw InputError("--expires must look like 30m, 12h or 7d, found `\(expires)`") }
        guard (60...(90 * 86400)).contains(seconds) else { throw InputError("--expires must be between 1m and 90d, found `\(expires)`") }
        let reply = try await collector.withClient { client, token in
            try await client.createEnrollToken(adminToken: token, organisation: organisation.rawValue, group: group, expiresSeconds: seconds)
        }
        switch format {
        case .json: print(reply.canonicalString)
        case .text: print(reply["token"]?.stringValue ?? "")
        }
    }

    /// `30s`, `15m`, `12h`, `7d` in seconds; nil for anything else, including a count whose
    /// seconds do not fit in 64 bits (never an arithmetic trap).
    static func parseDuration(_ text: String) -> Int64? {
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        guard let last = text.last, let unit = units[last] else { return nil }
        let digits = text.dropLast()
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int64(digits), value > 0 else { return nil }
        let (seconds, overflow) = value.multipliedReportingOverflow(by: unit)
        return overflow ? nil : seconds
    }
}

struct ProfilePush: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Upload a signed profile to the collector, which verifies it before any agent can fetch it.",
        discussion: "Exit status: 0 accepted; 1 refused (with the reason); 2 bad input."
    )

    @Argument(help: "The signed envelope (from `mamorictl profile sign`).")
    var file: String

    @OptionGroup var collector: CollectorOptions

    func run() async throws {
        guard let envelope = FileManager.default.contents(atPath: file) else { throw InputError("cannot read \(file)") }
        let reply = try await collector.withClient { client, token in
            try await client.pushProfile(adminToken: token, envelope: Array(envelope))
        }
        print("accepted: \(reply["org"]?.stringValue ?? "?") version \(reply["version"]?.intValue ?? 0) sha256 \(reply["sha256"]?.stringValue ?? "?")")
    }
}
