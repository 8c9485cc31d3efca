import Foundation
@testable import MamoriCore

/// Keys, certificates and envelopes for profile tests, made deterministically where it matters.
struct ProfileFixture {
    let root = ProfilePrivateKey.generate(role: .root)
    let signing = ProfilePrivateKey.generate(role: .signing)
    let issued = Timestamp(parsing: "2026-04-01")!
    let certificateExpires = Timestamp(parsing: "2027-04-01")!
    let now = Timestamp(parsing: "2026-06-01T09:00:00Z")!

    var certificate: SigningKeyCertificate {
        try! SigningKeyCertificate.issue(for: signing.publicKey, by: root, issued: issued, expires: certificateExpires)
    }

    func envelope(_ source: String = ProfileFixture.minimalProfile) -> SignedProfileEnvelope {
        switch ProfileSigner.sign(source: source, key: signing, certificate: certificate, now: now) {
        case .success(let envelope): return envelope
        case .failure(let error): fatalError("fixture profile does not sign: \(error)")
        }
    }

    func verify(_ bytes: [UInt8], currentVersion: Int64? = nil, scope: Organisation? = nil,
                hostGroup: String? = nil, at time: Timestamp? = nil) -> Result<VerifiedProfile, ProfileRejection> {
        ProfileVerifier.verify(bytes, pinnedRoot: root.publicKey, currentVersion: currentVersion, scope: scope,
                               hostGroup: hostGroup, now: time ?? now)
    }

    static let minimalProfile = """
        name: fixture
        version: 7
        expires: 2027-03-31
        scope:
          organisation: mayor
          host_groups: [mynumber-terminals]

        """
}

func rejection(_ result: Result<VerifiedProfile, ProfileRejection>) -> ProfileRejection? {
    if case .failure(let rejection) = result { return rejection }
    return nil
}

enum ShippedProfiles {
    static let names = ["mynumber-standard", "mynumber-strict", "assembly"]

    static func source(_ name: String) throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try String(contentsOf: root.appendingPathComponent("profiles/\(name).yaml"), encoding: .utf8)
    }
}

/// SplitMix64 (from MamoriCore): a small seeded generator so fuzz failures reproduce.
struct SeededGenerator: RandomNumberGenerator {
    private var base: SplitMix64
    init(state: UInt64) { base = SplitMix64(seed: state) }
    mutating func next() -> UInt64 { base.next() }
}
