public import Prometheus

/// The collector's Prometheus metrics: ingested records, verification failures by kind, hosts by
/// status (set at each scrape from the database), and request latency per route.
public final class CollectorMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let ingestedRecords: Counter
    let ingestedBatches: Counter
    let duplicateBatches: Counter
    let requestBuckets: [Duration] = [.milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                                      .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
                                      .seconds(2.5), .seconds(5)]

    public init() {
        ingestedRecords = registry.makeCounter(name: "mamori_ingest_records_total", help: "Journal records verified and stored.")
        ingestedBatches = registry.makeCounter(name: "mamori_ingest_batches_total", help: "Journal batches verified and stored.")
        duplicateBatches = registry.makeCounter(name: "mamori_ingest_duplicate_batches_total",
                                                help: "Batches the collector already held, acknowledged again without storing.")
        for kind in ["modified", "deleted", "inserted", "reordered", "truncated", "forked", "bad-mac", "wrong-epoch-key", "bad-signature", "torn-tail"] {
            _ = registry.makeCounter(name: "mamori_verification_failures_total", labels: [("kind", kind)],
                                     help: "Batches refused as tampering, by the first failure's kind.")
        }
        for status in ["ok", "stale", "tampered", "never-seen"] {
            registry.makeGauge(name: "mamori_hosts", labels: [("status", status)], help: "Enrolled hosts by status.").set(0)
        }
    }

    func recordIngest(records: Int) {
        ingestedRecords.increment(by: Int64(records))
        ingestedBatches.increment()
    }

    func recordDuplicate() { duplicateBatches.increment() }

    func recordVerificationFailure(kind: String) {
        registry.makeCounter(name: "mamori_verification_failures_total", labels: [("kind", kind)],
                             help: "Batches refused as tampering, by the first failure's kind.").increment()
    }

    func recordRejectedRequest(reason: String) {
        registry.makeCounter(name: "mamori_rejected_requests_total", labels: [("reason", reason)],
                             help: "Requests refused before any work: replay, bad signature, rate limit, size.").increment()
    }

    func recordRequest(route: String, status: Int, duration: Duration) {
        registry.makeDurationHistogram(name: "mamori_request_duration_seconds", labels: [("route", route)], buckets: requestBuckets,
                                       help: "Request latency by route.").record(duration)
        registry.makeCounter(name: "mamori_requests_total", labels: [("route", route), ("status", String(status))],
                             help: "Requests by route and status.").increment()
    }

    func setHosts(_ counts: [String: Int64]) {
        for (status, count) in counts {
            registry.makeGauge(name: "mamori_hosts", labels: [("status", status)], help: "Enrolled hosts by status.").set(count)
        }
    }

    public func render() -> String { registry.emitToString() }
}
