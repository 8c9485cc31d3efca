import Foundation
import Testing

/// `mamorictl keys …` and `mamorictl profile …` as an administrator runs them: exit 0 accepted,
/// 1 rejected or lint errors, 2 bad input.
@Suite("mamorictl profile and keys")
struct ProfileCLITests {
    static let now = "2026-06-01T09:00:00Z"

    static var repositoryRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    static func shipped(_ name: String) -> String { repositoryRoot + "/profiles/\(name).yaml" }

    static func initKeys(_ temp: TemporaryDirectory) throws -> String {
        let dir = temp.file("keys")
        let result = try CLI.mamorictl("keys", "init", "--dir", dir, "--now", "2026-04-01")
        #expect(result.status == 0, "\(result.stderr)")
        return dir
    }

    @Test func keysInitWritesPrivateKeysWithMode0600() throws {
        let temp = try TemporaryDirectory()
        let dir = try Self.initKeys(temp)
        for name in ["root.key", "signing.key"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/" + name)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600, "\(name)")
        }
        for name in ["root.pub", "signing.pub", "signing.cert"] { #expect(FileManager.default.fileExists(atPath: dir + "/" + name)) }
        let again = try CLI.mamorictl("keys", "init", "--dir", dir)
        #expect(again.status == 2)
        #expect(again.stderr.contains("never overwritten"))
    }

    @Test func lintExitCodes() throws {
        let clean = try CLI.mamorictl("profile", "lint", Self.shipped("mynumber-standard"), Self.shipped("mynumber-strict"), Self.shipped("assembly"))
        #expect(clean.status == 0, "\(clean.stdout)")
        let temp = try TemporaryDirectory()
        let bad = temp.file("bad.yaml")
        try "name: x\nversion: 1\nexpires: 2027-01-01\nscope:\n  organisation: mayor\nmedia:\n  mdoe: audit\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let failed = try CLI.mamorictl("profile", "lint", bad)
        #expect(failed.status == 1)
        #expect(failed.stdout.contains("bad.yaml:7:3: media.mdoe: unknown key `mdoe` (did you mean `mode`?)"))
        let json = try CLI.mamorictl("profile", "lint", "--format", "json", bad)
        #expect(json.status == 1)
        #expect(json.stdout.contains("\"column\":3"))
        #expect(try CLI.mamorictl("profile", "lint", temp.file("missing.yaml")).status == 2)
    }

    @Test func signAndVerifyExitCodes() throws {
        let temp = try TemporaryDirectory()
        let dir = try Self.initKeys(temp)
        let out = temp.file("standard.signed")
        let sign = try CLI.mamorictl("profile", "sign", Self.shipped("mynumber-standard"), "--key", dir + "/signing.key", "--out", out, "--now", Self.now)
        #expect(sign.status == 0, "\(sign.stderr)")

        let accepted = try CLI.mamorictl("profile", "verify", out, "--root", dir + "/root.pub", "--current-version", "0", "--scope", "区長部局", "--now", Self.now)
        #expect(accepted.status == 0, "\(accepted.stdout)\(accepted.stderr)")
        #expect(accepted.stdout.contains("profile accepted: mynumber-standard version 1"))

        let rollback = try CLI.mamorictl("profile", "verify", out, "--root", dir + "/root.pub", "--current-version", "1", "--now", Self.now)
        #expect(rollback.status == 1)
        #expect(rollback.stdout.contains("version-not-newer"))

        let scope = try CLI.mamorictl("profile", "verify", out, "--root", dir + "/root.pub", "--scope", "assembly", "--now", Self.now)
        #expect(scope.status == 1)
        #expect(scope.stdout.contains("out-of-scope"))

        let expired = try CLI.mamorictl("profile", "verify", out, "--root", dir + "/root.pub", "--now", "2027-03-31T12:00:00Z", "--format", "json")
        #expect(expired.status == 1)
        #expect(expired.stdout.contains("\"reason\":\"profile-expired\""))

        let wrongRoot = try CLI.mamorictl("profile", "verify", out, "--root", dir + "/signing.pub", "--now", Self.now)
        #expect(wrongRoot.status == 1)
        #expect(wrongRoot.stdout.contains("signing-key-not-certified"))

        let unsigned = try CLI.mamorictl("profile", "verify", Self.shipped("assembly"), "--root", dir + "/root.pub", "--now", Self.now)
        #expect(unsigned.status == 1)
        #expect(unsigned.stdout.contains("unsigned"))
    }

    @Test func tamperedEnvelopeIsRejected() throws {
        let temp = try TemporaryDirectory()
        let dir = try Self.initKeys(temp)
        let out = temp.file("p.signed")
        #expect(try CLI.mamorictl("profile", "sign", Self.shipped("mynumber-strict"), "--key", dir + "/signing.key", "--out", out, "--now", Self.now).status == 0)
        var text = try String(contentsOfFile: out, encoding: .utf8)
        text = text.replacingOccurrences(of: "usb-storage: block", with: "usb-storage: read-write")
        try text.write(toFile: out, atomically: true, encoding: .utf8)
        let result = try CLI.mamorictl("profile", "verify", out, "--root", dir + "/root.pub", "--now", Self.now)
        #expect(result.status == 1)
        #expect(result.stdout.contains("changed-after-signing"))
    }

    @Test func badInputExitsWith2() throws {
        let temp = try TemporaryDirectory()
        let dir = try Self.initKeys(temp)
        #expect(try CLI.mamorictl("profile", "verify", temp.file("none.signed"), "--root", dir + "/root.pub").status == 2)
        #expect(try CLI.mamorictl("profile", "verify", temp.file("none.signed"), "--root", dir + "/root.pub", "--scope", "city-hall").status == 2)
        #expect(try CLI.mamorictl("profile", "verify", temp.file("none.signed")).status == 2)
        #expect(try CLI.mamorictl("profile", "verify", Self.shipped("assembly"), "--root", dir + "/root.key").status == 2)
        // A root key cannot sign profiles.
        let wrongKey = try CLI.mamorictl("profile", "sign", Self.shipped("assembly"), "--key", dir + "/root.key", "--out", temp.file("x"))
        #expect(wrongKey.status == 2)
        #expect(wrongKey.stderr.contains("signing key is needed"))
        // A profile with errors is not signed.
        let bad = temp.file("bad.yaml")
        try "name: x\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let invalid = try CLI.mamorictl("profile", "sign", bad, "--key", dir + "/signing.key", "--out", temp.file("y"), "--cert", dir + "/signing.cert")
        #expect(invalid.status == 1)
        #expect(!FileManager.default.fileExists(atPath: temp.file("y")))
    }

    @Test func signingKeyAndRootRotation() throws {
        let temp = try TemporaryDirectory()
        let dir = try Self.initKeys(temp)
        let rootPub = dir + "/root.pub"

        let newSigning = try CLI.mamorictl("keys", "new-signing-key", "--dir", dir, "--root-key", dir + "/root.key", "--now", "2026-04-01")
        #expect(newSigning.status == 0, "\(newSigning.stderr)")
        let second = temp.file("second.signed")
        #expect(try CLI.mamorictl("profile", "sign", Self.shipped("assembly"), "--key", dir + "/signing-2.key", "--out", second, "--now", Self.now).status == 0)
        #expect(try CLI.mamorictl("profile", "verify", second, "--root", rootPub, "--now", Self.now).status == 0)

        let rotate = try CLI.mamorictl("keys", "rotate-root", "--dir", dir, "--root-key", dir + "/root.key", "--now", "2026-05-01")
        #expect(rotate.status == 0, "\(rotate.stderr)")
        #expect(try CLI.mamorictl("keys", "new-signing-key", "--dir", dir, "--root-key", dir + "/root-2.key", "--name", "signing-new-root", "--now", "2026-05-01").status == 0)
        let third = temp.file("third.signed")
        #expect(try CLI.mamorictl("profile", "sign", Self.shipped("assembly"), "--key", dir + "/signing-new-root.key", "--out", third, "--now", Self.now).status == 0)
        // A terminal still pinned on the old root follows the rotation signed by both roots.
        let followed = try CLI.mamorictl("profile", "verify", third, "--root", rootPub, "--now", Self.now)
        #expect(followed.status == 0, "\(followed.stdout)")
        // Rotating again needs the newest root.
        #expect(try CLI.mamorictl("keys", "rotate-root", "--dir", dir, "--root-key", dir + "/root.key").status == 2)
    }
}
