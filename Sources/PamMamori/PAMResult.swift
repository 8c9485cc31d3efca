internal import CPAM

/// A PAM return code with a Swift name.
public struct PAMResult: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let success = PAMResult(rawValue: PAM_SUCCESS)
    public static let authError = PAMResult(rawValue: PAM_AUTH_ERR)
    public static let maxTries = PAMResult(rawValue: PAM_MAXTRIES)
    public static let authInfoUnavailable = PAMResult(rawValue: PAM_AUTHINFO_UNAVAIL)
    public static let serviceError = PAMResult(rawValue: PAM_SERVICE_ERR)
    public static let userUnknown = PAMResult(rawValue: PAM_USER_UNKNOWN)
    public static let conversationError = PAMResult(rawValue: PAM_CONV_ERR)

    public var description: String {
        switch self {
        case .success: return "PAM_SUCCESS"
        case .authError: return "PAM_AUTH_ERR"
        case .maxTries: return "PAM_MAXTRIES"
        case .authInfoUnavailable: return "PAM_AUTHINFO_UNAVAIL"
        case .serviceError: return "PAM_SERVICE_ERR"
        case .userUnknown: return "PAM_USER_UNKNOWN"
        case .conversationError: return "PAM_CONV_ERR"
        default: return "PAM result \(rawValue)"
        }
    }
}

/// The PAM string items the module reads.
public enum PAMStringItem: Sendable, Hashable {
    case service, tty, rhost

    var rawValue: Int32 {
        switch self {
        case .service: return PAM_SERVICE
        case .tty: return PAM_TTY
        case .rhost: return PAM_RHOST
        }
    }
}

/// Messages the module shows through the conversation.
public enum PAMMessageStyle: Sendable, Hashable {
    case promptEchoOff, errorMessage, textInfo

    var rawValue: Int32 {
        switch self {
        case .promptEchoOff: return PAM_PROMPT_ECHO_OFF
        case .errorMessage: return PAM_ERROR_MSG
        case .textInfo: return PAM_TEXT_INFO
        }
    }
}

public enum PAMLogPriority: Sendable, Hashable {
    case error, warning, notice, info

    var rawValue: Int32 {
        switch self {
        case .error: return LOG_ERR
        case .warning: return LOG_WARNING
        case .notice: return LOG_NOTICE
        case .info: return LOG_INFO
        }
    }
}

/// What the core needs from libpam; the live handle wraps pam_handle_t, tests script a fake.
public protocol PAMHandle {
    /// pam_get_user; nil when the application cannot say who is logging in.
    func userName() -> String?
    func stringItem(_ item: PAMStringItem) -> String?
    /// One conversation turn. For `.promptEchoOff`, the reply's bytes (nil when the conversation
    /// failed or the application answered NULL); for messages, an empty array on success.
    func converse(_ style: PAMMessageStyle, _ text: String) -> [UInt8]?
    func log(_ priority: PAMLogPriority, _ message: String)
}

/// One request/response exchange with the agent; nil when it is unreachable or times out.
public protocol AgentTransport {
    func exchange(_ frame: [UInt8], socketPath: String, timeoutMilliseconds: Int) -> [UInt8]?
}
