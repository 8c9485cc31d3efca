import Foundation
import MamoriAgent
import MamoriAuthWire
import MamoriCore
import Testing

/// `mamorictl mfa import-pskc` with RFC 6030's plain example (the RFC 4226 test secret).
@Suite(.serialized) struct PSKCImportTests {
    static func container(_ packages: String, extra: String = "") -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">\(extra)\(packages)</KeyContainer>
        """
    }

    static func package(serial: String = "987654321", algorithm: String = "urn:ietf:params:xml:ns:keyprov:pskc:hotp",
                        secret: String = "<PlainValue>MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=</PlainValue>", userId: String = "") -> String {
        """
        <KeyPackage>
          <DeviceInfo><Manufacturer>Manufacturer</Manufacturer><SerialNo>\(serial)</SerialNo></DeviceInfo>
          <CryptoModuleInfo><Id>CM_ID_001</Id></CryptoModuleInfo>
          <Key Id="12345678" Algorithm="\(algorithm)">
            <Issuer>Issuer</Issuer>
            <AlgorithmParameters><ResponseFormat Length="8" Encoding="DECIMAL"/></AlgorithmParameters>
            <Data><Secret>\(secret)</Secret><Counter><PlainValue>0</PlainValue></Counter></Data>
            \(userId.isEmpty ? "" : "<UserId>\(userId)</UserId>")
          </Key>
        </KeyPackage>
        """
    }

    static func write(_ text: String, in directory: TemporaryDirectory) throws -> String {
        let path = directory.file("tokens.pskc")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func importedHOTPTokenWorksAtTheAgent() throws {
        let agent = try AuthAgentTests.RunningAgent()
        let file = try Self.write(Self.container(Self.package()), in: agent.root)
        let result = try CLI.mamorictl("mfa", "import-pskc", file, "--root", agent.root.path, "--user", "987654321=tanaka")
        #expect(result.status == 0, "\(result.stderr)")
        let record = try #require(try MFAStore(directory: agent.mfaDirectory).read("tanaka"))
        #expect(record.credential.factor == .hotp && record.credential.parameters.digits == 8)
        #expect(record.credential.secret == Array("12345678901234567890".utf8))
        // RFC 4226 Appendix D, counter 0 and 1, as eight digits.
        #expect(try agent.ask(AuthRequest(user: "tanaka", service: "login", code: "84755224")).status == .accepted)
        #expect(try agent.ask(AuthRequest(user: "tanaka", service: "login", code: "84755224")).status == .replayed)
        #expect(try agent.ask(AuthRequest(user: "tanaka", service: "login", code: "94287082")).status == .accepted)
        #expect(agent.stop() == 0)
    }

    @Test(arguments: [
        (container(package(serial: "1")), "no user"),
        (container(package(algorithm: "urn:ietf:params:xml:ns:keyprov:pskc:ocra")), "not HOTP or TOTP"),
        (container(package(secret: "<EncryptedValue/>")), "encrypted"),
        (container(package(), extra: "<EncryptionKey/>"), "is password-protected: pass --password-file"),
        (container(package(secret: "<PlainValue>MTIz</PlainValue>")), "the secret must be"),
        ("<KeyContainer/>", "not a PSKC KeyContainer"),
        ("not xml", "not a PSKC KeyContainer"),
    ])
    func badFilesWriteNothing(text: String, message: String) throws {
        let root = try TemporaryDirectory("mamori-pskc")
        let file = try Self.write(text, in: root)
        let result = try CLI.mamorictl("mfa", "import-pskc", file, "--root", root.path, "--user", "987654321=tanaka")
        #expect(result.status == 2)
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: root.path + "/var/lib/mamori/mfa/tanaka.json"))
    }

    @Test func userIdMapsAndExistingEnrolmentNeedsForce() throws {
        let root = try TemporaryDirectory("mamori-pskc")
        let file = try Self.write(Self.container(Self.package(userId: "suzuki")), in: root)
        #expect(try CLI.mamorictl("mfa", "import-pskc", file, "--root", root.path).status == 0)
        let again = try CLI.mamorictl("mfa", "import-pskc", file, "--root", root.path)
        #expect(again.status == 2 && again.stderr.contains("already enrolled"))
        #expect(try CLI.mamorictl("mfa", "import-pskc", file, "--root", root.path, "--force").status == 0)
    }
}
