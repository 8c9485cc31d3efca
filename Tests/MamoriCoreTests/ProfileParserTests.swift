import Foundation
import Testing
@testable import MamoriCore

@Suite("ProfileParser")
struct ProfileParserTests {
    @Test(arguments: ShippedProfiles.names)
    func shippedProfilesLintClean(name: String) throws {
        let source = try ShippedProfiles.source(name)
        #expect(ProfileParser.lint(source) == [])
    }

    @Test func omittedSectionsTakeTheSafeDefaults() throws {
        let profile = try ProfileParser.parse(ProfileFixture.minimalProfile).get()
        #expect(profile.media == MediaRules.default)
        #expect(profile.media.action(for: .usbStorage) == .readOnly)
        #expect(profile.media.action(for: .mtpPTP) == .block)
        #expect(profile.media.action(for: .hid) == .allow)
        #expect(profile.media.mode == .enforce)
        #expect(profile.mfa == MFARules.default)
        #expect(profile.mfa.lockoutThreshold == 5)
        #expect(profile.posture.builtin == PostureRules.builtinIds)
        #expect(profile.network.allowedDestinations.isEmpty)
        #expect(profile.network.wirelessAllowed == false)
        #expect(profile.reporting.interval == 900)
        #expect(profile.scope.organisation == .mayorsDepartments)
    }

    @Test func readsEveryKindOfRule() throws {
        let profile = try ProfileParser.parse(try ShippedProfiles.source("mynumber-standard")).get()
        #expect(profile.scope.organisation == .mayorsDepartments)
        #expect(profile.media.allow.first?.vendor == "0781")
        #expect(profile.media.allow.first?.mode == .readWrite)
        #expect(profile.mfa.factors == [.totp, .hotp])
        #expect(profile.mfa.lockoutDuration == 900)
        #expect(profile.posture.checks.map(\.id).contains("local.no-ip-forwarding"))
        #expect(profile.posture.checks.contains { $0.rule == .fileMode(path: "/etc/shadow", maximum: 0o640) })
        #expect(profile.network.allowedDestinations.first?.cidr.description == "10.10.0.0/16")
        #expect(profile.network.allowedDestinations.last?.transport == .udp)
    }

    /// Every error at once, each with its exact position.
    @Test func reportsAllErrorsWithPositions() {
        let source = """
            name: bad
            version: 0
            expires: 2027-02-30
            scope:
              organisation: 区役所
            media:
              defualts:
                hid: block
              allow:
                - vendor: "781"
                  product: "5583"
                  serial: "S1"
                  reason: test
            mfa:
              lockout:
                threshold: 101
            network:
              allowed_destinations:
                - cidr: 10.1.2.3/16
                  ports: [443]
            """
        let diagnostics = ProfileParser.lint(source)
        let positions = diagnostics.map { "\($0.line):\($0.column) \($0.path)" }
        #expect(positions == [
            "2:10 version",
            "3:10 expires",
            "5:17 scope.organisation",
            "7:3 media.defualts",
            "10:15 media.allow[0].vendor",
            "16:16 mfa.lockout.threshold",
            "19:13 network.allowed_destinations[0].cidr",
        ])
        #expect(diagnostics[3].message.contains("did you mean `defaults`?"))
        #expect(diagnostics[5].message.contains("1...100"))
        #expect(diagnostics[6].message.contains("10.1.0.0/16"))
    }

    /// threshold × max_lockouts is capped at 100 failures (NIST SP 800-63B); unset, the number of
    /// lockouts that fits is taken, at most 10.
    @Test(arguments: [
        ("    threshold: 10\n    max_lockouts: 11\n", nil, "110 failures"),
        ("    threshold: 10\n    max_lockouts: 10\n", 10, nil),
        ("    threshold: 30\n", 3, nil),
        ("    duration: 10m\n", 10, nil),
        ("    max_lockouts: 0\n", nil, "1...100"),
    ] as [(String, Int?, String?)])
    func maxLockoutsRespectsTheHundredFailureCap(lockout: String, expected: Int?, problem: String?) {
        let source = ProfileFixture.minimalProfile + "mfa:\n  lockout:\n" + lockout
        let diagnostics = ProfileParser.lint(source)
        if let problem {
            #expect(diagnostics.count == 1)
            #expect(diagnostics.first?.path == "mfa.lockout.max_lockouts")
            #expect(diagnostics.first?.message.contains(problem) == true, "\(diagnostics)")
        } else {
            #expect(diagnostics.isEmpty, "\(diagnostics)")
            if case .success(let profile) = ProfileParser.parse(source) { #expect(profile.mfa.maxLockouts == expected) } else { Issue.record("did not parse") }
        }
    }

    @Test func reportsMissingRequiredKeysAtTheirMapping() {
        let diagnostics = ProfileParser.lint("name: x\nscope:\n  host_groups: [a]\n")
        #expect(diagnostics.map(\.description) == [
            "1:1: version: required key `version` is missing",
            "1:1: expires: required key `expires` is missing",
            "3:3: scope.organisation: required key `organisation` is missing",
        ])
    }

    @Test func hidCanNeverBeBlockedAndPhonesCannotBeReadOnly() {
        let source = ProfileFixture.minimalProfile + "media:\n  defaults:\n    hid: read-only\n    mtp-ptp: read-only\n"
        let diagnostics = ProfileParser.lint(source)
        #expect(diagnostics.map { "\($0.line):\($0.column)" } == ["9:10", "10:14"])
        #expect(diagnostics.first?.message.contains("lock the operator out") == true)
    }

    @Test func outOfScopeMarkingIsOnlyForTheBoardOfEducation() {
        let base = "name: x\nversion: 1\nexpires: 2027-01-01\nscope:\n  organisation: %@\n  out_of_scope_host_groups: [school-lan]\n"
        let mayor = ProfileParser.lint(base.replacingOccurrences(of: "%@", with: "mayor"))
        #expect(mayor.map { "\($0.line):\($0.column) \($0.path)" } == ["6:29 scope.out_of_scope_host_groups"])
        let education = ProfileParser.parse(base.replacingOccurrences(of: "%@", with: "教育委員会"))
        #expect((try? education.get())?.scope.covers(hostGroup: "school-lan") == false)
    }

    @Test func declarativeChecksNeedExactlyOneValidRule() {
        let source = ProfileFixture.minimalProfile + """
            posture:
              builtin: [media.rules-enforcing, journal.healty]
              checks:
                - id: local.a
                  title: two rules
                  sysctl: {key: net.ipv4.ip_forward, value: "0"}
                  package: {name: telnet, state: absent}
                - id: local.b
                  title: bad regex
                  file_content: {path: /etc/x, regex: "(unclosed"}
                - id: local.c
                  title: bad mode
                  file_mode: {path: relative/path, max_mode: "644"}
            """
        let diagnostics = ProfileParser.lint(source)
        #expect(diagnostics.map { "\($0.line):\($0.column) \($0.path)" } == [
            "8:36 posture.builtin[1]",
            "10:7 posture.checks[0]",
            "16:43 posture.checks[1].file_content.regex",
            "19:25 posture.checks[2].file_mode.path",
            "19:50 posture.checks[2].file_mode.max_mode",
        ])
        #expect(diagnostics.first?.message.contains("did you mean `journal.healthy`?") == true)
    }

    @Test func yamlSyntaxErrorsAndDuplicateKeysHavePositions() {
        let syntax = ProfileParser.lint("name: x\nscope: [unclosed\n")
        #expect(syntax.count == 1)
        #expect(syntax.first?.message.hasPrefix("YAML syntax") == true)
        let duplicate = ProfileParser.lint("name: x\nname: y\n")
        #expect(duplicate.first?.message.contains("more than once") == true)
        #expect(ProfileParser.lint("").first?.message == "the profile is empty")
    }

    @Test func everyAllowEntryNeedsSerialAndReason() {
        let source = ProfileFixture.minimalProfile + "media:\n  allow:\n    - vendor: \"0781\"\n      product: \"5583\"\n"
        #expect(ProfileParser.lint(source).map(\.description) == [
            "9:7: media.allow[0].serial: required key `serial` is missing",
            "9:7: media.allow[0].reason: required key `reason` is missing",
        ])
    }

    @Test func cidrParsing() {
        #expect((try? CIDR.parse("10.0.0.0/8").get())?.description == "10.0.0.0/8")
        #expect((try? CIDR.parse("fd00::/8").get())?.prefixLength == 8)
        #expect(CIDR.parse("fd00::1/64") == .failure(.hostBitsSet(network: "fd00:0:0:0:0:0:0:0/64")))
        #expect(CIDR.parse("10.0.0/8") == .failure(.syntax))
        #expect(CIDR.parse("10.0.0.0") == .failure(.syntax))
        #expect(CIDR.parse("10.0.0.0/33") == .failure(.syntax))
    }
}
