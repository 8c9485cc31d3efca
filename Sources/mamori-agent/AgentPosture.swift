import MamoriAgent
import MamoriCore

/// Builds the posture context from the runtime and runs the checks (PostureRunner).
enum AgentPosture {
    @Sendable static func evaluate(_ runtime: AgentRuntime) -> [PostureCheckResult] {
        []
    }
}
