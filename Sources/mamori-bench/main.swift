// mamori-bench: measurements for docs/benchmarks.md (run through `make bench`).
//
//   mamori-bench append DIR [--records N] [--batch B]
//     Durable append rate into a fresh journal in DIR (fdatasync before each receipt).
//     --batch 1 is one fsync per record; larger batches are group commit.
import Crypto
import MamoriAgent
import MamoriCore

#if canImport(Glibc)
import Glibc
#endif

func monotonicMicroseconds() -> Int64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000
}

func percentile(_ sorted: [Int64], _ fraction: Double) -> Int64 {
    guard !sorted.isEmpty else { return 0 }
    let index = min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.up)) - 1)
    return sorted[max(0, index)]
}

func runAppend(directory: String, records: Int, batch: Int) throws {
    let paths = JournalPaths(journalDirectory: directory + "/journal", keyDirectory: directory + "/keys")
    let store = try JournalStore.create(paths: paths, host: "bench-host", k0: EpochKey.generateK0(),
                                        hostKey: Curve25519.Signing.PrivateKey(), now: Timestamp(secondsSinceEpoch: 1_775_000_000))
    var latencies: [Int64] = []
    let payload: [String: JSONValue] = [
        "user": .string("tanaka.h"), "service": .string("login"), "tty": .string(":0"), "factor": .string("totp"),
    ]
    let started = monotonicMicroseconds()
    var written = 0
    var clock = Timestamp(secondsSinceEpoch: 1_775_000_000)
    while written < records {
        let events = Array(repeating: (kind: "auth.success", payload: payload), count: batch)
        clock = clock.adding(microseconds: 1000)
        let before = monotonicMicroseconds()
        _ = try store.append(events, now: clock)
        latencies.append(monotonicMicroseconds() - before)
        written += batch
    }
    let elapsed = Double(monotonicMicroseconds() - started) / 1_000_000
    latencies.sort()
    let rate = Double(written) / elapsed
    print("append batch=\(batch) records=\(written) seconds=\(String(format: elapsed)) records_per_s=\(Int(rate)) "
        + "p50_us=\(percentile(latencies, 0.5)) p99_us=\(percentile(latencies, 0.99)) max_us=\(latencies.last ?? 0)")
}

/// Concurrent producers through JournalWriter: true group commit.
func runConcurrent(directory: String, records: Int, producers: Int) async throws {
    let paths = JournalPaths(journalDirectory: directory + "/journal", keyDirectory: directory + "/keys")
    let store = try JournalStore.create(paths: paths, host: "bench-host", k0: EpochKey.generateK0(),
                                        hostKey: Curve25519.Signing.PrivateKey(), now: Timestamp(secondsSinceEpoch: 1_775_000_000))
    let writer = JournalWriter(store: store, now: { Timestamp(secondsSinceEpoch: 1_775_000_000) })
    let perProducer = max(1, records / producers)
    let started = monotonicMicroseconds()
    var latencies = try await withThrowingTaskGroup(of: [Int64].self) { group in
        for _ in 0..<producers {
            group.addTask {
                var mine: [Int64] = []
                for _ in 0..<perProducer {
                    let before = monotonicMicroseconds()
                    _ = try await writer.append(kind: "auth.success", payload: ["user": .string("tanaka.h"), "service": .string("login")])
                    mine.append(monotonicMicroseconds() - before)
                }
                return mine
            }
        }
        var all: [Int64] = []
        for try await part in group { all += part }
        return all
    }
    let elapsed = Double(monotonicMicroseconds() - started) / 1_000_000
    writer.shutdown()
    latencies.sort()
    print("append-concurrent producers=\(producers) records=\(latencies.count) seconds=\(String(format: elapsed)) "
        + "records_per_s=\(Int(Double(latencies.count) / elapsed)) p50_us=\(percentile(latencies, 0.5)) "
        + "p99_us=\(percentile(latencies, 0.99)) max_us=\(latencies.last ?? 0)")
}

extension String {
    init(format value: Double) {
        let scaled = (value * 1000).rounded() / 1000
        self = "\(scaled)"
    }
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count >= 2, ["append", "append-concurrent"].contains(arguments[0]) else {
    print("usage: mamori-bench append DIR [--records N] [--batch B]")
    print("       mamori-bench append-concurrent DIR [--records N] [--producers P]")
    exit(2)
}
var records = 2000
var batch = 1
var producers = 64
var index = 2
while index + 1 < arguments.count {
    switch arguments[index] {
    case "--records": records = Int(arguments[index + 1]) ?? records
    case "--batch": batch = max(1, Int(arguments[index + 1]) ?? batch)
    case "--producers": producers = max(1, Int(arguments[index + 1]) ?? producers)
    default: print("unknown option \(arguments[index])"); exit(2)
    }
    index += 2
}
do {
    if arguments[0] == "append" {
        try runAppend(directory: arguments[1], records: records, batch: batch)
    } else {
        try await runConcurrent(directory: arguments[1], records: records, producers: producers)
    }
} catch {
    print("mamori-bench: \(error)")
    exit(1)
}
