public import Crypto
public import Logging
public import MamoriCore
import Synchronization

/// Everything a request handler needs, shared across connections.
public final class CollectorService: Sendable {
    public let store: CollectorStore
    public let ingest: IngestService
    public let box: SecretBox
    public let receiptKey: Curve25519.Signing.PrivateKey
    public let profileRoot: ProfilePublicKey?
    public let metrics: CollectorMetrics
    public let limits: CollectorLimits
    public let logger: Logger
    let rateLimiter: RateLimiter
    /// Requests that fail authentication, per claimed host and per source address: checked
    /// before the failure is written anywhere.
    let failureLimiter: RateLimiter
    let now: @Sendable () -> Timestamp

    public init(store: CollectorStore, box: SecretBox, receiptKey: Curve25519.Signing.PrivateKey, profileRoot: ProfilePublicKey?,
                metrics: CollectorMetrics = CollectorMetrics(), limits: CollectorLimits = CollectorLimits(), logger: Logger,
                now: @escaping @Sendable () -> Timestamp = CollectorClock.now) {
        self.store = store
        var ingest = IngestService(store: store, box: box, metrics: metrics)
        ingest.maxRecords = limits.maxRecordsPerBatch
        self.ingest = ingest
        self.box = box
        self.receiptKey = receiptKey
        self.profileRoot = profileRoot
        self.metrics = metrics
        self.limits = limits
        self.logger = logger
        self.rateLimiter = RateLimiter(perSecond: limits.requestsPerSecondPerHost, burst: limits.burstPerHost)
        self.failureLimiter = RateLimiter(perSecond: limits.failedAuthenticationsPerSecond, burst: limits.failedAuthenticationBurst)
        self.now = now
    }
}

/// Request limits. Defaults suit a ward's terminals sending a batch every few minutes.
public struct CollectorLimits: Sendable {
    public var maxBodyBytes = 8 << 20
    public var maxAdminBodyBytes = 4 << 20
    public var maxRecordsPerBatch = 50_000
    public var requestsPerSecondPerHost = 10.0
    public var burstPerHost = 20.0
    /// SHA-256 of the bearer token `/metrics` requires (`serve --metrics-token-file`); nil: no
    /// scrape token is configured and `/metrics` answers nobody (403).
    public var metricsTokenSHA256: [UInt8]?

    /// What `metricsTokenSHA256` holds for a token.
    public static func scrapeTokenDigest(_ token: String) -> [UInt8] { Array(SHA256.hash(data: Array(token.utf8))) }
    /// Requests failing authentication allowed per claimed host and per source address.
    public var failedAuthenticationsPerSecond = 0.2
    public var failedAuthenticationBurst = 5.0
    public var idleTimeoutSeconds: Int64 = 60
    /// How often agents ship their journal (the profile's `reporting.interval`, 15 minutes by default).
    public var reportingIntervalSeconds: Int64 = 900
    /// A host not heard from within this many reporting intervals is stale.
    public var staleIntervals: Int64 = 4
    /// A host not seen for this long counts as stale (one hour by default).
    public var staleAfterSeconds: Int64 { reportingIntervalSeconds * staleIntervals }

    public init() {}
}

/// A token bucket per host, so one agent gone wrong cannot starve the others.
final class RateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var updated: Int64
    }

    let perSecond: Double
    let burst: Double
    let buckets = Mutex<[String: Bucket]>([:])

    init(perSecond: Double, burst: Double) {
        self.perSecond = perSecond
        self.burst = burst
    }

    func allow(_ key: String, now: Timestamp) -> Bool {
        buckets.withLock { buckets in
            let micros = now.microsecondsSinceEpoch
            var bucket = buckets[key] ?? Bucket(tokens: burst, updated: micros)
            bucket.tokens = min(burst, bucket.tokens + Double(max(0, micros - bucket.updated)) / 1_000_000 * perSecond)
            bucket.updated = micros
            let allowed = bucket.tokens >= 1
            if allowed { bucket.tokens -= 1 }
            buckets[key] = bucket
            return allowed
        }
    }
}
