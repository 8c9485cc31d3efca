import Foundation
import MamoriAgent
import MamoriCore
import Testing

/// `mamorictl mfa import-pskc --password-file` with RFC 6030's password-protected example
/// (figures 6 and 7: PBKDF2 with password "qwerty", AES-128-CBC, HMAC-SHA1; the RFC 4226 secret).
@Suite(.serialized) struct PSKCPasswordImportTests {
    static let cipherValue = "oTvo+S22nsmS2Z/RtcoF8Hfh+jzMe0RkiafpoDpnoZTjPYZu6V+A4aEn032yCr4f"
    static let valueMAC = "LP6xMvjtypbfT9PdkJhBZ+D6O4w="

    static func rfc6030Example(cipherValue: String = cipherValue, valueMAC: String = valueMAC) -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <pskc:KeyContainer xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc"
            xmlns:xenc11="http://www.w3.org/2009/xmlenc11#"
            xmlns:pkcs5="http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#"
            xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" Version="1.0">
          <pskc:EncryptionKey>
            <xenc11:DerivedKey>
              <xenc11:KeyDerivationMethod Algorithm="http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2">
                <pkcs5:PBKDF2-params>
                  <Salt><Specified>Ej7/PEpyEpw=</Specified></Salt>
                  <IterationCount>1000</IterationCount>
                  <KeyLength>16</KeyLength>
                  <PRF/>
                </pkcs5:PBKDF2-params>
              </xenc11:KeyDerivationMethod>
              <xenc:ReferenceList><xenc:DataReference URI="#ED"/></xenc:ReferenceList>
              <xenc11:MasterKeyName>My Password 1</xenc11:MasterKeyName>
            </xenc11:DerivedKey>
          </pskc:EncryptionKey>
          <pskc:MACMethod Algorithm="http://www.w3.org/2000/09/xmldsig#hmac-sha1">
            <pskc:MACKey>
              <xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>
              <xenc:CipherData>
                <xenc:CipherValue>2GTTnLwM3I4e5IO5FkufoOEiOhNj91fhKRQBtBJYluUDsPOLTfUvoU2dStyOwYZx</xenc:CipherValue>
              </xenc:CipherData>
            </pskc:MACKey>
          </pskc:MACMethod>
          <pskc:KeyPackage>
            <pskc:DeviceInfo>
              <pskc:Manufacturer>TokenVendorAcme</pskc:Manufacturer>
              <pskc:SerialNo>987654321</pskc:SerialNo>
            </pskc:DeviceInfo>
            <pskc:CryptoModuleInfo><pskc:Id>CM_ID_001</pskc:Id></pskc:CryptoModuleInfo>
            <pskc:Key Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp" Id="123456">
              <pskc:Issuer>Example-Issuer</pskc:Issuer>
              <pskc:AlgorithmParameters><pskc:ResponseFormat Length="8" Encoding="DECIMAL"/></pskc:AlgorithmParameters>
              <pskc:Data>
                <pskc:Secret>
                  <pskc:EncryptedValue Id="ED">
                    <xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>
                    <xenc:CipherData><xenc:CipherValue>\(cipherValue)</xenc:CipherValue></xenc:CipherData>
                  </pskc:EncryptedValue>
                  <pskc:ValueMAC>\(valueMAC)</pskc:ValueMAC>
                </pskc:Secret>
              </pskc:Data>
            </pskc:Key>
          </pskc:KeyPackage>
        </pskc:KeyContainer>
        """
    }

    struct Import {
        let root: TemporaryDirectory
        let result: CLIResult

        init(_ document: String, password: String?) throws {
            root = try TemporaryDirectory("mamori-pskc-password")
            let file = root.file("tokens.pskc")
            try document.write(toFile: file, atomically: true, encoding: .utf8)
            var arguments = ["mfa", "import-pskc", file, "--root", root.path, "--user", "987654321=tanaka"]
            if let password {
                try password.write(toFile: root.file("password"), atomically: true, encoding: .utf8)
                arguments += ["--password-file", root.file("password")]
            }
            result = try CLI.run("mamorictl", arguments)
        }

        var enrolment: MFAUserRecord? {
            get throws { try MFAStore(directory: root.path + "/var/lib/mamori/mfa").read("tanaka") }
        }
    }

    @Test func rfc6030ExampleDecryptsToTheRFC4226Secret() throws {
        let imported = try Import(Self.rfc6030Example(), password: "qwerty\n")
        #expect(imported.result.status == 0, "\(imported.result.stderr)")
        let record = try #require(try imported.enrolment)
        #expect(record.credential.secret == Array("12345678901234567890".utf8))
        #expect(record.credential.factor == .hotp && record.credential.parameters.digits == 8)
    }

    /// The MAC key decrypts to garbage under a wrong password, so the secret's MAC fails before
    /// anything is decrypted; a changed MAC or ciphertext fails the same check.
    @Test(arguments: [
        (rfc6030Example(), "qwertz", "wrong password"),
        (rfc6030Example(valueMAC: "AP6xMvjtypbfT9PdkJhBZ+D6O4w="), "qwerty", "the MAC does not match"),
        (rfc6030Example(cipherValue: "oTvo+S22nsmS2Z/RtcoF8Hfh+jzMe0RkiafpoDpnoZTjPYZu6V+A4aEn032yCr4g"), "qwerty",
         "the MAC does not match"),
        (rfc6030Example(), "", "holds no password"),
    ])
    func wrongPasswordOrAlteredFileWritesNothing(document: String, password: String, message: String) throws {
        let imported = try Import(document, password: password)
        #expect(imported.result.status == 2)
        #expect(imported.result.stderr.contains(message), "\(imported.result.stderr)")
        #expect(try imported.enrolment == nil)
    }

    @Test func protectedFileWithoutPasswordOnAPipeIsRefused() throws {
        let imported = try Import(Self.rfc6030Example(), password: nil)
        #expect(imported.result.status == 2)
        #expect(imported.result.stderr.contains("is password-protected: pass --password-file"), "\(imported.result.stderr)")
        #expect(try imported.enrolment == nil)
    }
}
