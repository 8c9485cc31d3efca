public import MamoriAuthWire

/// What pam_sm_authenticate does, written against `PAMHandle` and `AgentTransport` so that it is
/// tested with a scripted fake. Every path that is not a clear "accepted" from the agent ends
/// in a refusal; nothing here can trap.
public enum PamMamoriCore {
    public static let prompt = "Verification code: "

    public static func authenticate(handle: some PAMHandle, arguments: [String], silent: Bool,
                                    transport: some AgentTransport) -> PAMResult {
        let options: ModuleOptions
        switch ModuleOptions.parse(arguments) {
        case .options(let parsed): options = parsed
        case .invalid(let reason):
            handle.log(.error, "pam_mamori: \(reason); refusing every login until the PAM configuration is fixed")
            return .serviceError
        }
        guard let user = handle.userName(), !user.isEmpty else {
            handle.log(.error, "pam_mamori: the application did not supply a user name")
            return .userUnknown
        }
        guard var reply = handle.converse(.promptEchoOff, prompt) else {
            handle.log(.error, "pam_mamori: conversation failed or gave no reply for \(user)")
            return .conversationError
        }
        let request = AuthRequest(user: user, service: bounded(handle.stringItem(.service), 64),
                                  tty: bounded(handle.stringItem(.tty), 128), rhost: bounded(handle.stringItem(.rhost), 255),
                                  code: String(decoding: reply, as: UTF8.self))
        Secret.erase(&reply)
        guard var frame = try? request.encoded() else {
            handle.log(.notice, "pam_mamori: malformed user name or code for \(user)")
            return .authError
        }
        defer { Secret.erase(&frame) }
        return exchange(frame, user: user, options: options, handle: handle, silent: silent, transport: transport)
    }

    static func exchange(_ frame: [UInt8], user: String, options: ModuleOptions, handle: some PAMHandle,
                         silent: Bool, transport: some AgentTransport) -> PAMResult {
        guard let body = transport.exchange(frame, socketPath: options.socketPath,
                                            timeoutMilliseconds: options.timeoutMilliseconds) else {
            handle.log(.error, "pam_mamori: the agent at \(options.socketPath) is unreachable; refusing \(user)")
            return .authInfoUnavailable
        }
        guard let response = try? AuthResponse(body: body) else {
            handle.log(.error, "pam_mamori: malformed answer from the agent at \(options.socketPath); refusing \(user)")
            return .authInfoUnavailable
        }
        let result = result(for: response.status)
        if !silent && !response.message.isEmpty {
            _ = handle.converse(result == .success ? .textInfo : .errorMessage, response.message)
        }
        if result != .success {
            handle.log(.notice, "pam_mamori: \(user) refused (\(response.status.rawValue))")
        }
        return result
    }

    /// The mapping: accepted (or exempt by profile) → success; wrong, replayed, not
    /// enrolled or not allowed → auth error; locked → max tries; agent trouble → unavailable.
    public static func result(for status: AuthResponse.Status) -> PAMResult {
        switch status {
        case .accepted, .exempt: return .success
        case .rejected, .replayed, .notEnrolled, .denied: return .authError
        case .lockedOut: return .maxTries
        case .unavailable: return .authInfoUnavailable
        }
    }

    /// An item cut to the wire's bound at a character boundary (an over-long tty or host name is
    /// context for the journal, not a reason to refuse).
    static func bounded(_ text: String?, _ limit: Int) -> String {
        guard let text else { return "" }
        if text.utf8.count <= limit { return text }
        var result = ""
        for character in text {
            if result.utf8.count + character.utf8.count > limit { break }
            result.append(character)
        }
        return result
    }
}
