import Foundation
import Testing
@testable import MamoriCore

@Suite("ProfileVerifier")
struct ProfileVerifierTests {
    let fixture = ProfileFixture()

    @Test func acceptsAProperlySignedProfile() throws {
        let envelope = fixture.envelope()
        let verified = try fixture.verify(envelope.bytes, currentVersion: 6, scope: .mayorsDepartments, hostGroup: "mynumber-terminals").get()
        #expect(verified.profile.version == 7)
        #expect(verified.root == fixture.root.publicKey)
        #expect(verified.signingKey == fixture.signing.publicKey)
        #expect(verified.source == ProfileFixture.minimalProfile)
    }

    @Test func rejectsABareProfileAsUnsigned() {
        #expect(rejection(fixture.verify(Array(ProfileFixture.minimalProfile.utf8))) == .unsigned)
    }

    @Test func rejectsAnEnvelopeWithoutSignatureAsUnsigned() {
        guard case .object(var members) = fixture.envelope().json else { Issue.record("not an object"); return }
        members["signature"] = nil
        #expect(rejection(fixture.verify(JSONValue.object(members).canonicalBytes + [0x0A])) == .unsigned)
    }

    @Test func rejectsAForeignSignature() throws {
        var envelope = fixture.envelope()
        let other = ProfilePrivateKey.generate(role: .signing)
        envelope.signature = try other.sign(SignedProfileEnvelope.signedMessage(profileSHA256: envelope.profileSHA256))
        #expect(rejection(fixture.verify(envelope.bytes)) == .badSignature)
    }

    @Test func rejectsASignatureOverAnotherDigest() throws {
        var envelope = fixture.envelope()
        // The attacker edits the text and its digest; the signature no longer matches the digest.
        envelope.profileSource = ProfileFixture.minimalProfile.replacingOccurrences(of: "version: 7", with: "version: 70")
        envelope.profileSHA256 = SignedProfileEnvelope.digest(of: envelope.profileSource)
        #expect(rejection(fixture.verify(envelope.bytes)) == .badSignature)
    }

    @Test func rejectsTextChangedAfterSigning() {
        var envelope = fixture.envelope()
        envelope.profileSource = ProfileFixture.minimalProfile.replacingOccurrences(of: "version: 7", with: "version: 70")
        #expect(rejection(fixture.verify(envelope.bytes)) == .changedAfterSigning)
    }

    @Test func rejectsASigningKeyCertifiedByAnotherRoot() throws {
        let otherRoot = ProfilePrivateKey.generate(role: .root)
        let certificate = try SigningKeyCertificate.issue(for: fixture.signing.publicKey, by: otherRoot,
                                                          issued: fixture.issued, expires: fixture.certificateExpires)
        let envelope = try ProfileSigner.sign(source: ProfileFixture.minimalProfile, key: fixture.signing,
                                              certificate: certificate, now: fixture.now).get()
        guard case .signingKeyNotCertified = rejection(fixture.verify(envelope.bytes)) else {
            Issue.record("expected signing-key-not-certified"); return
        }
    }

    @Test func rejectsACertificateWithAForgedRootSignature() throws {
        var envelope = fixture.envelope()
        let forger = ProfilePrivateKey.generate(role: .root)
        let forged = try SigningKeyCertificate.issue(for: fixture.signing.publicKey, by: forger,
                                                     issued: fixture.issued, expires: fixture.certificateExpires)
        // Claims the real root but carries the forger's signature.
        envelope.certificate = SigningKeyCertificate(signingKey: forged.signingKey, rootKey: fixture.root.publicKey,
                                                     issued: forged.issued, expires: forged.expires, signature: forged.signature)
        #expect(rejection(fixture.verify(envelope.bytes))?.code == "signing-key-not-certified")
    }

    @Test func rejectsAnExpiredCertificate() {
        let later = Timestamp(parsing: "2027-04-01T00:00:01Z")
        #expect(rejection(fixture.verify(fixture.envelope().bytes, at: later))
                == .certificateExpired(expires: fixture.certificateExpires))
    }

    @Test func rejectsAnExpiredProfile() throws {
        let source = ProfileFixture.minimalProfile.replacingOccurrences(of: "2027-03-31", with: "2026-05-01")
        let expires = try #require(Timestamp(parsing: "2026-05-01"))
        #expect(rejection(fixture.verify(fixture.envelope(source).bytes)) == .profileExpired(expires: expires))
    }

    @Test(arguments: [Int64(7), 8, 1000])
    func rejectsAVersionNotGreaterThanTheCurrentOne(current: Int64) {
        #expect(rejection(fixture.verify(fixture.envelope().bytes, currentVersion: current))
                == .versionNotNewer(version: 7, current: current))
    }

    @Test func rejectsAnotherOrganisationsProfile() {
        #expect(rejection(fixture.verify(fixture.envelope().bytes, scope: .wardAssembly))?.code == "out-of-scope")
    }

    @Test func rejectsAHostGroupOutsideTheScope() {
        #expect(rejection(fixture.verify(fixture.envelope().bytes, scope: .mayorsDepartments, hostGroup: "lgwan-terminals"))?.code == "out-of-scope")
    }

    @Test func rejectsASignedButInvalidProfile() throws {
        let source = ProfileFixture.minimalProfile + "medai: {}\n"
        let digest = SignedProfileEnvelope.digest(of: source)
        let envelope = SignedProfileEnvelope(
            profileSource: source, profileSHA256: digest,
            signature: try fixture.signing.sign(SignedProfileEnvelope.signedMessage(profileSHA256: digest)),
            certificate: fixture.certificate, rootRotations: [])
        guard case .invalidProfile(let diagnostics) = rejection(fixture.verify(envelope.bytes)) else {
            Issue.record("expected invalid-profile"); return
        }
        #expect(diagnostics.first?.line == 7)
        #expect(diagnostics.first?.path == "medai")
    }

    @Test func rejectsNonCanonicalAndGarbageInput() {
        let bytes = fixture.envelope().bytes
        #expect(rejection(fixture.verify(Array(bytes.dropLast())))?.code == "malformed")
        #expect(rejection(fixture.verify([UInt8](" ".utf8) + bytes))?.code == "malformed")
        #expect(rejection(fixture.verify([]))?.code == "malformed")
        #expect(rejection(fixture.verify(Array("{\"format\":1}".utf8)))?.code == "malformed")
    }

    @Test func signerRefusesInvalidProfilesAndWrongKeys() {
        let invalid = ProfileSigner.sign(source: "name: x\n", key: fixture.signing, certificate: fixture.certificate, now: fixture.now)
        guard case .failure(.invalidProfile) = invalid else { Issue.record("signed an invalid profile"); return }
        let wrongRole = ProfileSigner.sign(source: ProfileFixture.minimalProfile, key: fixture.root, certificate: fixture.certificate, now: fixture.now)
        #expect(wrongRole == .failure(.wrongKeyRole(.root)))
        let other = ProfilePrivateKey.generate(role: .signing)
        let mismatch = ProfileSigner.sign(source: ProfileFixture.minimalProfile, key: other, certificate: fixture.certificate, now: fixture.now)
        #expect(mismatch == .failure(.certificateDoesNotMatchKey))
    }

    // MARK: Rotation

    @Test func acceptsANewSigningKeyCertifiedByTheRoot() throws {
        let newSigning = ProfilePrivateKey.generate(role: .signing)
        let certificate = try SigningKeyCertificate.issue(for: newSigning.publicKey, by: fixture.root,
                                                          issued: fixture.issued, expires: fixture.certificateExpires)
        let envelope = try ProfileSigner.sign(source: ProfileFixture.minimalProfile, key: newSigning, certificate: certificate, now: fixture.now).get()
        #expect(try fixture.verify(envelope.bytes).get().signingKey == newSigning.publicKey)
    }

    @Test func followsARootRotationSignedByBothRoots() throws {
        let newRoot = ProfilePrivateKey.generate(role: .root)
        let rotation = try RootRotation.make(from: fixture.root, to: newRoot, issued: fixture.issued)
        let newSigning = ProfilePrivateKey.generate(role: .signing)
        let certificate = try SigningKeyCertificate.issue(for: newSigning.publicKey, by: newRoot,
                                                          issued: fixture.issued, expires: fixture.certificateExpires)
        let envelope = try ProfileSigner.sign(source: ProfileFixture.minimalProfile, key: newSigning, certificate: certificate,
                                              rootRotations: [rotation], now: fixture.now).get()
        let verified = try fixture.verify(envelope.bytes).get()
        #expect(verified.root == newRoot.publicKey)
        // A terminal that already re-pinned on the new root accepts the same envelope.
        let repinned = ProfileVerifier.verify(envelope.bytes, pinnedRoot: newRoot.publicKey, now: fixture.now)
        #expect((try? repinned.get()) != nil)
        // Without the rotation the new root's certificate is not trusted.
        var stripped = envelope
        stripped.rootRotations = []
        #expect(rejection(fixture.verify(stripped.bytes))?.code == "signing-key-not-certified")
    }

    @Test func rejectsARotationSignedOnlyByTheNewRoot() throws {
        let newRoot = ProfilePrivateKey.generate(role: .root)
        let attacker = try RootRotation.make(from: ProfilePrivateKey.generate(role: .root), to: newRoot, issued: fixture.issued)
        // Claims to start at the pinned root, but the old-root signature is not the pinned root's.
        let forged = RootRotation(oldRoot: fixture.root.publicKey, newRoot: newRoot.publicKey, issued: fixture.issued,
                                  oldSignature: attacker.oldSignature, newSignature: attacker.newSignature)
        let newSigning = ProfilePrivateKey.generate(role: .signing)
        let certificate = try SigningKeyCertificate.issue(for: newSigning.publicKey, by: newRoot,
                                                          issued: fixture.issued, expires: fixture.certificateExpires)
        for chain in [[forged], [attacker]] {
            let envelope = try ProfileSigner.sign(source: ProfileFixture.minimalProfile, key: newSigning, certificate: certificate,
                                                  rootRotations: chain, now: fixture.now).get()
            #expect(rejection(fixture.verify(envelope.bytes))?.code == "signing-key-not-certified")
        }
    }

    // MARK: Shipped profiles and fuzzing

    @Test(arguments: ShippedProfiles.names)
    func shippedProfilesSignAndVerify(name: String) throws {
        let source = try ShippedProfiles.source(name)
        let envelope = try ProfileSigner.sign(source: source, key: fixture.signing, certificate: fixture.certificate, now: fixture.now).get()
        let verified = try fixture.verify(envelope.bytes, currentVersion: 0).get()
        #expect(verified.profile.name == name)
        #expect(verified.source == source)
    }

    @Test func randomMutationsOfASignedEnvelopeAreAlwaysRejected() throws {
        let original = try ProfileSigner.sign(source: try ShippedProfiles.source("mynumber-standard"), key: fixture.signing,
                                              certificate: fixture.certificate, now: fixture.now).get().bytes
        var generator = SeededGenerator(state: 0x6D61_6D6F_7269)
        var reasons: [String: Int] = [:]
        for _ in 0..<3000 {
            let mutated = mutate(original, using: &generator)
            if mutated == original { continue }
            let result = fixture.verify(mutated)
            guard let reason = rejection(result) else {
                Issue.record("a mutated envelope was accepted")
                return
            }
            reasons[reason.code, default: 0] += 1
        }
        #expect(reasons.values.reduce(0, +) > 2900)
        #expect(reasons["changed-after-signing", default: 0] > 0)
        #expect(reasons["malformed", default: 0] > 0)
    }

    private func mutate(_ bytes: [UInt8], using generator: inout SeededGenerator) -> [UInt8] {
        var out = bytes
        let count = Int.random(in: 1...3, using: &generator)
        for _ in 0..<count where !out.isEmpty {
            let index = Int.random(in: 0..<out.count, using: &generator)
            switch Int.random(in: 0..<5, using: &generator) {
            case 0: out[index] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &generator)
            case 1: out[index] = UInt8.random(in: 0...255, using: &generator)
            case 2: out.remove(at: index)
            case 3: out.insert(UInt8.random(in: 0x20...0x7E, using: &generator), at: index)
            default: out.removeSubrange(index..<min(out.count, index + Int.random(in: 1...64, using: &generator)))
            }
        }
        return out
    }
}
