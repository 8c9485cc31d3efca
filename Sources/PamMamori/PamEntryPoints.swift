internal import CPAM

/// The module's only exported symbols (the version script in Sources/PamMamori/exports.map hides
/// everything else). Each is a few lines: wrap the handle, hand over to the core.

@_cdecl("pam_sm_authenticate")
public func pamSmAuthenticate(_ pamh: OpaquePointer?, _ flags: Int32, _ argc: Int32,
                              _ argv: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    guard let pamh else { return PAMResult.serviceError.rawValue }
    let handle = LivePAMHandle(raw: pamh)
    let silent = flags & Int32(PAM_SILENT) != 0
    return PamMamoriCore.authenticate(handle: handle, arguments: moduleArguments(argc, argv), silent: silent,
                                      transport: AgentSocketClient()).rawValue
}

/// No credentials to set: the second factor only gates authentication.
@_cdecl("pam_sm_setcred")
public func pamSmSetcred(_ pamh: OpaquePointer?, _ flags: Int32, _ argc: Int32,
                         _ argv: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    PAMResult.success.rawValue
}

/// Account management belongs to pam_unix and friends; the second factor adds nothing here.
@_cdecl("pam_sm_acct_mgmt")
public func pamSmAcctMgmt(_ pamh: OpaquePointer?, _ flags: Int32, _ argc: Int32,
                          _ argv: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    PAMResult.success.rawValue
}

/// argv as Swift strings; a NULL entry or an absurd count becomes an option that fails closed.
func moduleArguments(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> [String] {
    guard argc > 0 else { return [] }
    guard let argv, argc <= 64 else { return ["<unreadable arguments>"] }
    var arguments: [String] = []
    for index in 0..<Int(argc) {
        guard let argument = argv[index] else { return ["<unreadable arguments>"] }
        arguments.append(String(cString: argument))
    }
    return arguments
}

/// pam_handle_t behind the `PAMHandle` protocol.
struct LivePAMHandle: PAMHandle {
    let raw: OpaquePointer

    func userName() -> String? {
        var user: UnsafePointer<CChar>?
        guard pam_get_user(raw, &user, nil) == PAM_SUCCESS, let user else { return nil }
        return String(cString: user)
    }

    func stringItem(_ item: PAMStringItem) -> String? {
        mamori_pam_get_string_item(raw, item.rawValue).map { String(cString: $0) }
    }

    func converse(_ style: PAMMessageStyle, _ text: String) -> [UInt8]? {
        var response: UnsafeMutablePointer<CChar>?
        let status = mamori_pam_prompt(raw, style.rawValue, &response, text)
        defer { mamori_pam_free_response(response) }
        guard status == PAM_SUCCESS else { return nil }
        guard style == .promptEchoOff else { return [] }
        guard let response else { return nil }
        // Bounded: a reply longer than any code is cut, and the wire refuses it as too long.
        let length = strnlen(response, 256)
        return response.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
    }

    func log(_ priority: PAMLogPriority, _ message: String) {
        mamori_pam_syslog(raw, priority.rawValue, message)
    }
}
