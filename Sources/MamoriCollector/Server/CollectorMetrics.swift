public import Prometheus

/// The collector's Prometheus metrics: ingested records, verification failures by kind, hosts by
/// status (set at each scrape from the database), and request latency per route.
public final class CollectorMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    static var records: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "mamori", metricName: "ingest_records", unitName: "total",
                             helpText: "Journal records verified and stored.")
    }
    static var batches: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "mamori", metricName: "ingest_batches", unitName: "total",
                             helpText: "Journal batches verified and stored.")
    }
    static var duplicates: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "mamori", metricName: "ingest_duplicate_batches", unitName: "total",
                             helpText: "Batches the collector already held, acknowledged again without storing.")
    }
    static var failures: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "mamori", metricName: "verification_failures", unitName: "total",
                             helpText: "Batches refused as tampering, by the first failure's kind.")
    }
    static var rejected: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "mamori", metricName: "rejected_requests", unitName: "total",
                             helpText: "Requests refused before any work: replay, bad signature, rate limit, size.")
    }
    static var hosts: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "mamori", metricName: "hosts", unitName: "",
                             helpText: "Enrolled hosts by status.")
    }
    static var duration: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "mamori", metricName: "request_duration", unitName: "seconds",
                             helpText: "Request latency by route.")
    }
    static var requests: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "mamori", metricName: "requests", unitName: "total",
                             helpText: "Requests by route and status.")
    }
    static let buckets: [Duration] = [.milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                                      .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
                                      .seconds(2.5), .seconds(5)]

    public init() {
        _ = registry.makeCounter(descriptor: Self.records)
        _ = registry.makeCounter(descriptor: Self.batches)
        _ = registry.makeCounter(descriptor: Self.duplicates)
        for kind in ["modified", "deleted", "inserted", "reordered", "truncated", "forked", "bad-mac", "wrong-epoch-key", "bad-signature", "torn-tail"] {
            _ = registry.makeCounter(descriptor: Self.failures, labels: [("kind", kind)])
        }
        setHosts(["ok": 0, "stale": 0, "tampered": 0, "never-seen": 0])
    }

    func recordIngest(records: Int) {
        registry.makeCounter(descriptor: Self.records).increment(by: Int64(records))
        registry.makeCounter(descriptor: Self.batches).increment()
    }

    func recordDuplicate() { registry.makeCounter(descriptor: Self.duplicates).increment() }

    func recordVerificationFailure(kind: String) {
        registry.makeCounter(descriptor: Self.failures, labels: [("kind", kind)]).increment()
    }

    func recordRejectedRequest(reason: String) {
        registry.makeCounter(descriptor: Self.rejected, labels: [("reason", reason)]).increment()
    }

    func recordRequest(route: String, status: Int, duration: Duration) {
        registry.makeDurationHistogram(descriptor: Self.duration, labels: [("route", route)], buckets: Self.buckets).record(duration)
        registry.makeCounter(descriptor: Self.requests, labels: [("route", route), ("status", String(status))]).increment()
    }

    func setHosts(_ counts: [String: Int64]) {
        for (status, count) in counts {
            registry.makeGauge(descriptor: Self.hosts, labels: [("status", status)]).set(to: Double(count))
        }
    }

    public func render() -> String { registry.emitToString() }
}
