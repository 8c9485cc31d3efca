import Foundation
import Testing
@testable import MamoriCore

/// One-off device grants (持ち出し申請): signing, strict verification, and the media decision.
@Suite("Device grants")
struct DeviceGrantTests {
    let fixture = ProfileFixture()

    func grant(id: String = "grt-0001", host: String = "hst-aaaa", serial: String = "4C530001", vendor: String? = "0781",
               product: String? = "5583", mode: MediaAction = .readWrite, issued: Timestamp? = nil, seconds: Int64 = 4 * 3600,
               reason: String = "議会資料の持ち出し", reference: String = "R8-情シ-0142") -> DeviceGrant {
        let start = issued ?? fixture.now
        return DeviceGrant(id: id, host: host, vendor: vendor, product: product, serial: serial, mode: mode, issued: start,
                           expires: start.adding(seconds: seconds), reason: reason, reference: reference)
    }

    func signed(_ grant: DeviceGrant) throws -> SignedDeviceGrant {
        try SignedDeviceGrant.sign(grant, key: fixture.signing, certificate: fixture.certificate, now: fixture.now).get()
    }

    func verify(_ bytes: [UInt8], host: String? = "hst-aaaa", at time: Timestamp? = nil) -> Result<SignedDeviceGrant, DeviceGrantRejection> {
        DeviceGrantVerifier.verify(bytes, pinnedRoot: fixture.root.publicKey, host: host, now: time ?? fixture.now.adding(seconds: 60))
    }

    func code(_ result: Result<SignedDeviceGrant, DeviceGrantRejection>) -> String? {
        if case .failure(let rejection) = result { return rejection.code }
        return nil
    }

    @Test func aSignedGrantVerifiesForItsHostUntilItExpires() throws {
        let envelope = try signed(grant())
        let verified = try verify(envelope.bytes).get()
        #expect(verified.grant == grant())
        #expect(code(verify(envelope.bytes, host: "hst-bbbb")) == "other-host")
        #expect(code(verify(envelope.bytes, at: fixture.now.adding(seconds: 4 * 3600))) == "grant-expired")
        #expect(code(verify(envelope.bytes, at: fixture.now.adding(seconds: -301))) == "not-yet-issued")
        // The collector checks the host against its own records instead.
        #expect((try? verify(envelope.bytes, host: nil).get()) != nil)
    }

    @Test func anyChangeAfterSigningIsRefused() throws {
        let envelope = try signed(grant())
        var text = String(decoding: envelope.bytes, as: UTF8.self)
        // Another serial, another host, a longer life: each breaks the signature.
        for (from, to) in [("4C530001", "4C530002"), ("hst-aaaa", "hst-aaab"), ("read-write", "read-only")] {
            let forged = text.replacingOccurrences(of: from, with: to)
            #expect(code(verify(Array(forged.utf8), host: nil)) == "bad-signature", "\(from) -> \(to)")
        }
        // Re-encoded (not canonical) or with an extra member: malformed.
        text = text.replacingOccurrences(of: "{\"certificate\"", with: "{ \"certificate\"")
        #expect(code(verify(Array(text.utf8))) == "malformed")
        var members = envelope.json.objectValue!
        members["note"] = .string("x")
        #expect(code(verify(JSONValue.object(members).canonicalBytes + [0x0A])) == "malformed")
        #expect(code(verify(Array("not json\n".utf8))) == "malformed")
        #expect(code(verify([UInt8](repeating: 0x20, count: DeviceGrantVerifier.maximumEnvelopeBytes + 1))) == "malformed")
    }

    @Test func aKeyTheRootNeverCertifiedIsRefused() throws {
        let other = ProfileFixture()
        let foreign = try SignedDeviceGrant.sign(grant(), key: other.signing, certificate: other.certificate, now: other.now).get()
        #expect(code(verify(foreign.bytes)) == "signing-key-not-certified")
        // The root key itself is not a signing key, and a certificate for another key is refused.
        #expect(code(SignedDeviceGrant.sign(grant(), key: fixture.root, certificate: fixture.certificate, now: fixture.now).map { $0 }) == "invalid-grant")
        #expect(code(SignedDeviceGrant.sign(grant(), key: other.signing, certificate: fixture.certificate, now: fixture.now)) == "invalid-grant")
        #expect(code(SignedDeviceGrant.sign(grant(), key: fixture.signing, certificate: fixture.certificate,
                                            now: fixture.certificateExpires)) == "certificate-expired")
    }

    /// A profile signature never verifies as a grant: the messages are domain-separated.
    @Test func aProfileSignatureIsNotAGrantSignature() throws {
        let envelope = try signed(grant())
        let profileMessage = SignedProfileEnvelope.signedMessage(profileSHA256: SignedProfileEnvelope.digest(of: "x"))
        #expect(!fixture.signing.publicKey.isValidSignature(envelope.signature, for: profileMessage))
        #expect(SignedDeviceGrant.signedMessage(envelope.grant).starts(with: Array("mamori-profile-v1/device-grant\n".utf8)))
    }

    @Test func nothingInvalidIsSigned() {
        let invalid: [(DeviceGrant, String)] = [
            (grant(serial: "*"), "wildcard"),
            (grant(serial: ""), "empty serial"),
            (grant(serial: "has space"), "space in serial"),
            (grant(vendor: "07811"), "vendor of five digits"),
            (grant(product: "55G3"), "product not hex"),
            (grant(mode: .block), "mode block"),
            (grant(seconds: 59), "under a minute"),
            (grant(seconds: 7 * 86400 + 1), "over seven days"),
            (grant(reason: ""), "empty reason"),
            (grant(reason: "   "), "blank reason"),
            (grant(reason: "ok\u{202E}gnp.exe"), "bidi override in the reason"),
            (grant(reference: "R8\n0142"), "newline in the reference"),
            (grant(reference: String(repeating: "申", count: 43)), "reference over 128 bytes"),
            (grant(id: "grt/../x"), "id with a slash"),
            (grant(host: ""), "empty host"),
        ]
        for (body, label) in invalid {
            #expect(code(SignedDeviceGrant.sign(body, key: fixture.signing, certificate: fixture.certificate, now: fixture.now)) == "invalid-grant", "\(label)")
        }
        #expect(grant(vendor: nil, product: nil).problem() == nil)
    }

    // MARK: The media decision

    func policy(_ grants: [DeviceGrant], allow: [MediaAllowEntry] = []) -> MediaPolicy {
        var rules = MediaRules.default
        rules.allow = allow
        return MediaPolicy(rules: rules, grants: grants)
    }

    @Test func aGrantMakesItsStickWritableUntilItExpires() {
        let live = policy([grant()])
        let decision = live.decide(MediaDevices.stick, now: fixture.now.adding(seconds: 60))
        #expect(decision.action == .readWrite)
        #expect(decision.rule == .grant(id: "grt-0001"))
        #expect(decision.rule.description == "grant:grt-0001")
        #expect(!decision.rule.isDefault)
        #expect(decision.reason.contains("R8-情シ-0142"))
        #expect(live.nextGrantExpiry(after: fixture.now) == fixture.now.adding(seconds: 4 * 3600))
        // At expiry the default applies again, and the reason says why the grant did not.
        let after = live.decide(MediaDevices.stick, now: fixture.now.adding(seconds: 4 * 3600))
        #expect(after.action == .readOnly)
        #expect(after.rule == .classDefault(.usbStorage))
        #expect(after.reason.contains("grant grt-0001 expired"))
        #expect(live.nextGrantExpiry(after: fixture.now.adding(seconds: 4 * 3600)) == nil)
    }

    @Test func aGrantNamesOneDeviceOnly() {
        let live = policy([grant()])
        var other = MediaDevices.stick
        other.usb?.serial = "4C530002"
        #expect(live.decide(other, now: fixture.now).action == .readOnly)
        var otherVendor = MediaDevices.stick
        otherVendor.usb?.vendor = "090c"
        #expect(live.decide(otherVendor, now: fixture.now).action == .readOnly, "vendor named by the grant must match")
        // Without vendor and product, the serial alone decides.
        #expect(policy([grant(vendor: nil, product: nil)]).decide(otherVendor, now: fixture.now).action == .readWrite)
        // Keyboards stay allowed, hubs ungoverned, and a partition follows its disk.
        #expect(live.decide(MediaDevices.keyboard, now: fixture.now).rule == .hidAlwaysAllowed)
        #expect(live.decide(MediaDevices.stickPartition, now: fixture.now).rule == .grant(id: "grt-0001"))
    }

    @Test func aGrantNeverAllowsABadUSBCompositeNorActsWithoutAProfile() {
        let composite = policy([grant(serial: "EVIL", vendor: "05ac", product: "1234")])
        let decision = composite.decide(MediaDevices.badUSB, now: fixture.now)
        #expect(decision.action == .block)
        #expect(decision.reason.contains("never allows a storage+HID composite"))
        var failClosed = MediaPolicy.failClosed
        failClosed.grants = [grant()]
        #expect(failClosed.decide(MediaDevices.stick, now: fixture.now).rule == .failClosedDefault(.usbStorage))
        #expect(failClosed.nextGrantExpiry(after: fixture.now) == nil)
    }

    @Test func aGrantAddsToAReadOnlyAllowEntryButNeverTakesAway() {
        let readOnly = MediaAllowEntry(vendor: "0781", product: "5583", serial: "4C530001", mode: .readOnly, expires: nil, reason: "listed")
        #expect(policy([grant()], allow: [readOnly]).decide(MediaDevices.stick, now: fixture.now).rule == .grant(id: "grt-0001"))
        let readWrite = MediaAllowEntry(vendor: "0781", product: "5583", serial: "4C530001", mode: .readWrite, expires: nil, reason: "listed")
        let decision = policy([grant(mode: .readOnly)], allow: [readWrite]).decide(MediaDevices.stick, now: fixture.now)
        #expect(decision.action == .readWrite)
        #expect(decision.rule == .allowEntry(index: 0))
    }

    @Test func aPhoneGrantedReadOnlyIsBlocked() {
        let decision = policy([grant(serial: "PIXEL7", vendor: "18d1", product: "4ee1", mode: .readOnly)]).decide(MediaDevices.phone, now: fixture.now)
        #expect(decision.action == .block, "read-only cannot be enforced for a phone: fail closed")
        #expect(decision.rule == .grant(id: "grt-0001"))
    }

    @Test func aFileOfGrantsVerifiesLineByLine() throws {
        let mine = try signed(grant())
        let theirs = try signed(grant(id: "grt-0002", host: "hst-bbbb"))
        let results = DeviceGrantVerifier.verifyLines(mine.bytes + theirs.bytes + Array("garbage\n".utf8), pinnedRoot: fixture.root.publicKey,
                                                      host: "hst-aaaa", now: fixture.now)
        #expect(results.count == 3)
        #expect((try? results[0].get())?.grant.id == "grt-0001")
        #expect(code(results[1]) == "other-host")
        #expect(code(results[2]) == "malformed")
    }
}
