public import MamoriCore

/// Posture results for simulated terminals (mamori-loadgen, the fleet benchmark's seeder, tests):
/// `count` checks, the built-in catalogue first, then `custom.check-NN`. Which fail depends only
/// on the terminal's index and the check, so every tool and every run agree.
public enum SimulatedPosture {
    public static func checks(host: Int, count: Int, failRate: Double) -> [PostureCheckResult] {
        (0..<count).map { index in
            let entry = index < PostureCatalogue.builtin.count ? PostureCatalogue.builtin[index] : nil
            let id = entry?.id ?? "custom.check-" + (index < 10 ? "0" : "") + String(index)
            let fails = failing(host: host, check: index, rate: failRate)
            return PostureCheckResult(id: id, title: entry?.title ?? "Custom check \(index)", clause: entry?.clause ?? "7",
                                      status: fails ? .fail : .pass, evidence: fails ? "simulated failure" : "simulated pass")
        }
    }

    public static func failing(host: Int, check: Int, rate: Double) -> Bool {
        var state = UInt64(host) &* 1_000_003 &+ UInt64(check) &+ 0x9E37_79B9_7F4A_7C15
        state = (state ^ (state >> 30)) &* 0xBF58_476D_1CE4_E5B9
        state = (state ^ (state >> 27)) &* 0x94D0_49BB_1331_11EB
        state ^= state >> 31
        return Double(state % 1_000_000) < rate * 1_000_000
    }
}
