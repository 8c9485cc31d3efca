/// What one check concluded, before it is given its id, title and clause: the shape of
/// swift-certificates' `.meetsPolicy` / `.failsToMeetPolicy(reason:)`, plus the two outcomes a
/// posture check also needs. A check that cannot decide says so (`cannotDecide`), never `meetsPolicy`.
public enum PostureOutcome: Sendable, Equatable {
    case meetsPolicy(evidence: String)
    case failsToMeetPolicy(reason: String)
    /// Something needed to decide could not be read or understood: reported as `error`.
    case cannotDecide(reason: String)
    case notApplicable(reason: String)

    public var status: PostureStatus {
        switch self {
        case .meetsPolicy: .pass
        case .failsToMeetPolicy: .fail
        case .cannotDecide: .error
        case .notApplicable: .notApplicable
        }
    }

    public var evidence: String {
        switch self {
        case .meetsPolicy(let text), .failsToMeetPolicy(let text), .cannotDecide(let text), .notApplicable(let text): text
        }
    }

    /// The journal entry for a built-in check (id, title and clause from `PostureCatalogue`).
    public func result(builtin id: String) -> PostureCheckResult {
        let entry = PostureCatalogue.entry(id)
        return PostureCheckResult(id: id, title: entry?.title ?? id, clause: entry?.clause, status: status, evidence: evidence)
    }

    /// The journal entry for a profile's declarative check.
    public func result(for check: DeclarativeCheck) -> PostureCheckResult {
        PostureCheckResult(id: check.id, title: check.title, clause: check.clause, status: status, evidence: evidence)
    }
}
