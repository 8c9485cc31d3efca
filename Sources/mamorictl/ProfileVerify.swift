import ArgumentParser
import MamoriCore

struct ProfileVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a signed profile as a terminal would.",
        discussion: """
            Exit status: 0 accepted; 1 rejected (the reason is printed); 2 unreadable input or bad arguments.
            Rejection codes: malformed, unsigned, bad-signature, signing-key-not-certified, certificate-expired,
            changed-after-signing, invalid-profile, profile-expired, out-of-scope, version-not-newer.
            """
    )

    @Argument(help: "The signed envelope.")
    var envelope: String

    @Option(help: "The pinned root public key file (64 hex digits).")
    var root: String

    @Option(help: "The version currently in force; the profile must be newer.")
    var currentVersion: Int64?

    @Option(help: "The terminal's organisation: \(Organisation.allCases.map { "\($0.rawValue) (\($0.japaneseName))" }.joined(separator: ", ")).")
    var scope: String?

    @Option(help: "The terminal's host group.")
    var hostGroup: String?

    @Option(help: "Output format: \(OutputFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format: OutputFormat = .text

    @OptionGroup var clock: ClockOptions

    func validate() throws {
        if let scope, Organisation(identifierOrName: scope) == nil {
            throw ValidationError("--scope must be one of: \(Organisation.allCases.map(\.rawValue).joined(separator: ", ")) (or the Japanese name)")
        }
        if let currentVersion, currentVersion < 0 { throw ValidationError("--current-version must not be negative") }
    }

    func run() throws {
        let pinned = try KeysFiles.publicKey(root)
        let bytes = try KeysFiles.read(envelope, what: "envelope")
        let result = ProfileVerifier.verify(bytes, pinnedRoot: pinned, currentVersion: currentVersion,
                                            scope: scope.flatMap(Organisation.init(identifierOrName:)),
                                            hostGroup: hostGroup, now: clock.time)
        switch result {
        case .success(let verified):
            report(verified)
        case .failure(let rejection):
            switch format {
            case .text:
                print("profile REJECTED: \(rejection.code)")
                print("  reason: \(rejection)")
            case .json:
                print(JSONValue.object(["accepted": .bool(false), "reason": .string(rejection.code),
                                        "detail": .string(rejection.description)]).canonicalString)
            }
            throw ExitStatus.failed
        }
    }

    private func report(_ verified: VerifiedProfile) {
        let profile = verified.profile
        switch format {
        case .text:
            print("profile accepted: \(profile.name) version \(profile.version)")
            print("  scope:        \(profile.scope.organisation.rawValue) (\(profile.scope.organisation.japaneseName))")
            print("  expires:      \(profile.expires)")
            print("  sha256:       \(verified.sha256)")
            print("  signing key:  \(verified.signingKey.keyId), certificate valid until \(verified.certificateExpires)")
            print("  root:         \(verified.root.keyId)")
        case .json:
            print(JSONValue.object([
                "accepted": .bool(true), "name": .string(profile.name), "version": .int(profile.version),
                "organisation": .string(profile.scope.organisation.rawValue), "expires": .string(profile.expires.description),
                "sha256": .string(verified.sha256.hex), "signing_key": .string(verified.signingKey.hex), "root": .string(verified.root.hex),
            ]).canonicalString)
        }
    }
}
