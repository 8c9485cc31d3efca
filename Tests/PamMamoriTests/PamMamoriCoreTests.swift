import MamoriAuthWire
import PamMamori
import Testing

/// A PAM handle that plays a script: each conversation turn must come in order and the script
/// must be used up. Items are a fixed table; log lines are collected.
final class ScriptedPAMHandle: PAMHandle {
    enum Turn: Equatable {
        case prompt(reply: [UInt8]?)
        case message(PAMMessageStyle, String)
    }

    let user: String?
    var items: [PAMStringItem: String]
    var script: [Turn]
    var logs: [(PAMLogPriority, String)] = []
    var unexpected: [String] = []

    init(user: String? = "tanaka", items: [PAMStringItem: String] = [.service: "login", .tty: "tty1"], script: [Turn]) {
        self.user = user
        self.items = items
        self.script = script
    }

    func userName() -> String? { user }
    func stringItem(_ item: PAMStringItem) -> String? { items[item] }

    func converse(_ style: PAMMessageStyle, _ text: String) -> [UInt8]? {
        guard !script.isEmpty else {
            unexpected.append("\(style) \(text)")
            return nil
        }
        let turn = script.removeFirst()
        switch turn {
        case .prompt(let reply):
            if style != .promptEchoOff { unexpected.append("expected a prompt, got \(style) \(text)") }
            return reply
        case .message(let expectedStyle, let expectedText):
            if style != expectedStyle || text != expectedText { unexpected.append("expected \(turn), got \(style) \(text)") }
            return []
        }
    }

    func log(_ priority: PAMLogPriority, _ message: String) { logs.append((priority, message)) }

    func expectUsedUp(sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(script.isEmpty, "script not used up: \(script)", sourceLocation: sourceLocation)
        #expect(unexpected.isEmpty, "unexpected turns: \(unexpected)", sourceLocation: sourceLocation)
    }
}

/// A transport that answers with a fixed reply and records what was sent where.
final class FakeTransport: AgentTransport {
    let reply: [UInt8]?
    var sent: [(frame: [UInt8], socket: String, timeout: Int)] = []

    init(reply: [UInt8]?) { self.reply = reply }

    convenience init(_ status: AuthResponse.Status, message: String = "") {
        let frame = (try? AuthResponse(status: status, message: message).encoded()) ?? []
        self.init(reply: Array(frame.dropFirst(4)))
    }

    func exchange(_ frame: [UInt8], socketPath: String, timeoutMilliseconds: Int) -> [UInt8]? {
        sent.append((frame, socketPath, timeoutMilliseconds))
        return reply
    }

    var requests: [AuthRequest] {
        sent.compactMap { try? AuthRequest(body: Array($0.frame.dropFirst(4))) }
    }
}

@Suite struct PamMamoriCoreTests {
    static let code = Array("123456".utf8)

    @Test(arguments: [
        (AuthResponse.Status.accepted, PAMResult.success),
        (.exempt, .success),
        (.rejected, .authError),
        (.replayed, .authError),
        (.notEnrolled, .authError),
        (.denied, .authError),
        (.lockedOut, .maxTries),
        (.unavailable, .authInfoUnavailable),
    ])
    func agentAnswersMapToPAMResults(status: AuthResponse.Status, expected: PAMResult) {
        let handle = ScriptedPAMHandle(script: [.prompt(reply: Self.code)])
        let transport = FakeTransport(status)
        let result = PamMamoriCore.authenticate(handle: handle, arguments: [], silent: false, transport: transport)
        #expect(result == expected)
        handle.expectUsedUp()
        #expect(transport.requests == [AuthRequest(user: "tanaka", service: "login", tty: "tty1", rhost: "", code: "123456")])
        #expect(transport.sent.first?.socket == "/run/mamori/pam.sock")
    }

    @Test func agentMessagesAreShownUnlessSilent() {
        let handle = ScriptedPAMHandle(script: [.prompt(reply: Self.code), .message(.errorMessage, "locked")])
        #expect(PamMamoriCore.authenticate(handle: handle, arguments: [], silent: false,
                                           transport: FakeTransport(.lockedOut, message: "locked")) == .maxTries)
        handle.expectUsedUp()
        let quiet = ScriptedPAMHandle(script: [.prompt(reply: Self.code)])
        #expect(PamMamoriCore.authenticate(handle: quiet, arguments: [], silent: true,
                                           transport: FakeTransport(.accepted, message: "3 left")) == .success)
        quiet.expectUsedUp()
    }

    @Test(arguments: [nil, [], [0, 0, 0], Array("garbage that is not a frame".utf8)] as [[UInt8]?])
    func unreachableOrGarbageAgentIsUnavailable(reply: [UInt8]?) {
        let handle = ScriptedPAMHandle(script: [.prompt(reply: Self.code)])
        let result = PamMamoriCore.authenticate(handle: handle, arguments: [], silent: false, transport: FakeTransport(reply: reply))
        #expect(result == .authInfoUnavailable)
        handle.expectUsedUp()
        #expect(handle.logs.contains { $0.0 == .error })
    }

    @Test(arguments: [["debug"], ["socket=relative.sock"], ["socket"], ["timeout=5"], ["timeout=abc"], ["nullok"],
                      ["socket=/" + String(repeating: "s", count: 120)]])
    func badOptionsFailClosedWithoutPrompting(arguments: [String]) {
        let handle = ScriptedPAMHandle(script: [])
        let transport = FakeTransport(.accepted)
        #expect(PamMamoriCore.authenticate(handle: handle, arguments: arguments, silent: false, transport: transport) == .serviceError)
        handle.expectUsedUp()
        #expect(transport.sent.isEmpty)
        #expect(handle.logs.contains { $0.0 == .error && $0.1.contains("refusing") })
    }

    @Test func optionsAreApplied() {
        let handle = ScriptedPAMHandle(script: [.prompt(reply: Self.code)])
        let transport = FakeTransport(.accepted)
        _ = PamMamoriCore.authenticate(handle: handle, arguments: ["socket=/tmp/x.sock", "timeout=250"], silent: false, transport: transport)
        #expect(transport.sent.first?.socket == "/tmp/x.sock")
        #expect(transport.sent.first?.timeout == 250)
    }

    @Test func noUserOrNoReplyIsRefusedWithoutAskingTheAgent() {
        let nobody = ScriptedPAMHandle(user: nil, script: [])
        let transport = FakeTransport(.accepted)
        #expect(PamMamoriCore.authenticate(handle: nobody, arguments: [], silent: false, transport: transport) == .userUnknown)
        nobody.expectUsedUp()
        // A NULL conversation reply (the pam-u2f CVE-2021-31924 shape) is a refusal.
        let silentApp = ScriptedPAMHandle(script: [.prompt(reply: nil)])
        #expect(PamMamoriCore.authenticate(handle: silentApp, arguments: [], silent: false, transport: transport) == .conversationError)
        silentApp.expectUsedUp()
        #expect(transport.sent.isEmpty)
    }

    @Test func overlongCodeIsRefusedAndLongItemsAreCut() {
        let handle = ScriptedPAMHandle(script: [.prompt(reply: [UInt8](repeating: 0x31, count: 200))])
        let transport = FakeTransport(.accepted)
        #expect(PamMamoriCore.authenticate(handle: handle, arguments: [], silent: false, transport: transport) == .authError)
        #expect(transport.sent.isEmpty)
        let longHost = ScriptedPAMHandle(items: [.service: "sshd", .rhost: String(repeating: "端", count: 200)],
                                         script: [.prompt(reply: Self.code)])
        #expect(PamMamoriCore.authenticate(handle: longHost, arguments: [], silent: false, transport: transport) == .success)
        let rhost = transport.requests.first?.rhost ?? ""
        #expect(rhost.utf8.count <= 255 && rhost.utf8.count > 250)
    }

    @Test func codeWithNULOrInvalidUTF8NeverTraps() {
        for reply: [UInt8] in [[0x31, 0, 0x32], [0xFF, 0xFE], []] {
            let handle = ScriptedPAMHandle(script: [.prompt(reply: reply)])
            let result = PamMamoriCore.authenticate(handle: handle, arguments: [], silent: true, transport: FakeTransport(.rejected))
            #expect(result != .success)
        }
    }
}
