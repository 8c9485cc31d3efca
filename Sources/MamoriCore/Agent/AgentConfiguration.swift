import Yams

/// The agent's own settings, `/etc/mamori/agent.yaml` (docs/agent.md documents every key).
/// Policy (media rules, MFA rules, checks, intervals) comes from the signed profile, never from
/// here: this file holds only how the agent runs. Every key is optional; an empty or missing file
/// means the defaults. Unknown keys and out-of-range values are errors, each with its position,
/// and an invalid file is never half-applied: the agent refuses to start with it, and a reload
/// (SIGHUP) with it keeps the configuration in force.
public struct AgentConfiguration: Sendable, Equatable {
    public static let defaultPath = "/etc/mamori/agent.yaml"

    /// Overrides the collector URL recorded at enrolment (a moved collector, same CA).
    public var collectorURL: String?
    /// Records per shipment.
    public var batchRecords: Int
    /// Unshipped journal bytes above which the agent journals `shipper.spool_limit` and reports the
    /// journal unhealthy. Nothing unreceipted is ever deleted.
    public var spoolLimitBytes: Int64
    /// First retry delay after a failed shipment; doubles (with jitter) up to `retryMaxSeconds`.
    public var retryInitialSeconds: Int64
    public var retryMaxSeconds: Int64
    /// How often the profile fetcher asks the collector for a newer profile.
    public var profilePollSeconds: Int64
    /// Seconds between shipments when the profile does not say (its `reporting.interval`).
    public var shipIntervalSeconds: Int64?
    /// Seconds between posture runs when the profile does not say (its `posture.interval`).
    public var postureIntervalSeconds: Int64?
    public var logLevel: LogLevel

    public enum LogLevel: String, Sendable, CaseIterable {
        case debug, info, notice, warning, error
    }

    public static let `default` = AgentConfiguration(
        collectorURL: nil, batchRecords: 1000, spoolLimitBytes: 512 << 20, retryInitialSeconds: 5,
        retryMaxSeconds: 600, profilePollSeconds: 900, shipIntervalSeconds: nil, postureIntervalSeconds: nil, logLevel: .info
    )

    static let keys = ["collector_url", "batch_records", "spool_limit", "retry_initial", "retry_max", "profile_poll",
                       "ship_interval", "posture_interval", "log_level"]

    public static func parse(_ source: String) -> Result<AgentConfiguration, ProfileValidationError> {
        guard source.utf8.count <= 64 << 10 else {
            return .failure(ProfileValidationError(diagnostics: [ProfileDiagnostic(line: 1, column: 1, path: "", message: "larger than 64 KiB")]))
        }
        if source.split(whereSeparator: \.isNewline).allSatisfy({ $0.trimmingPrefix(while: \.isWhitespace).hasPrefix("#") || $0.allSatisfy(\.isWhitespace) }) {
            return .success(.default)
        }
        let root: Node
        switch ProfileParser.compose(source) {
        case .success(let node): root = node
        case .failure(let error): return .failure(error)
        }
        var reader = ProfileNodeReader()
        let configuration = read(root, &reader)
        guard reader.diagnostics.isEmpty, let configuration else {
            return .failure(ProfileValidationError(diagnostics: reader.diagnostics.isEmpty
                ? [ProfileDiagnostic(line: 1, column: 1, path: "", message: "not a valid configuration")] : reader.diagnostics))
        }
        return .success(configuration)
    }

    static func read(_ root: Node, _ reader: inout ProfileNodeReader) -> AgentConfiguration? {
        guard let fields = reader.mapping(root, "", allowed: keys) else { return nil }
        var configuration = AgentConfiguration.default
        if let node = fields["collector_url"], let url = reader.string(node, "collector_url") {
            if url.hasPrefix("https://"), url.count > 8, !url.contains(" ") {
                configuration.collectorURL = url
            } else {
                reader.error(at: node, "collector_url", "expected an https:// URL, found `\(url)`")
            }
        }
        if let node = fields["batch_records"], let value = reader.integer(node, "batch_records", in: 1...10_000) {
            configuration.batchRecords = Int(value)
        }
        if let node = fields["spool_limit"], let value = byteSize(node, "spool_limit", &reader) { configuration.spoolLimitBytes = value }
        if let node = fields["retry_initial"], let value = reader.duration(node, "retry_initial", in: 1...3600) {
            configuration.retryInitialSeconds = value
        }
        if let node = fields["retry_max"], let value = reader.duration(node, "retry_max", in: 1...86_400) {
            configuration.retryMaxSeconds = value
        }
        if let node = fields["profile_poll"], let value = reader.duration(node, "profile_poll", in: 1...86_400) {
            configuration.profilePollSeconds = value
        }
        if let node = fields["ship_interval"] { configuration.shipIntervalSeconds = reader.duration(node, "ship_interval", in: 1...86_400) }
        if let node = fields["posture_interval"] {
            configuration.postureIntervalSeconds = reader.duration(node, "posture_interval", in: 1...86_400)
        }
        if let node = fields["log_level"], let text = reader.string(node, "log_level") {
            if let level = LogLevel(rawValue: text) {
                configuration.logLevel = level
            } else {
                reader.error(at: node, "log_level", "expected one of \(LogLevel.allCases.map(\.rawValue).joined(separator: ", ")), found `\(text)`")
            }
        }
        if configuration.retryMaxSeconds < configuration.retryInitialSeconds {
            reader.error(at: fields["retry_max"] ?? root, "retry_max", "must not be shorter than retry_initial")
        }
        return configuration
    }

    /// `512M`, `2G`, `65536` (bytes); 16 KiB to 1 TiB.
    static func byteSize(_ node: Node, _ path: String, _ reader: inout ProfileNodeReader) -> Int64? {
        guard let text = reader.string(node, path) else { return nil }
        let units: [Character: Int64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        var digits = Substring(text)
        var unit: Int64 = 1
        if let last = text.last, let multiplier = units[last] {
            digits = text.dropLast()
            unit = multiplier
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let count = Int64(digits), count <= (1 << 40) / unit,
              (Int64(16 << 10)...(1 << 40)).contains(count * unit) else {
            reader.error(at: node, path, "expected a size from 16K to 1024G such as 512M or 2G, found `\(text)`")
            return nil
        }
        return count * unit
    }
}
