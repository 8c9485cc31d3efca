/// Walks every path through an auth stack the way `_pam_dispatch_aux` (Linux-PAM 1.5) does,
/// with each module free to return any code it can return, and pam_mamori.so never returning
/// success. A path that still ends in PAM_SUCCESS is a login without the second factor.
struct PAMStackExplorer {
    enum Impression: Hashable { case undefined, positive, negative }

    struct State: Hashable {
        var index: Int
        var impression: Impression
        /// Whether libpam's `status` is PAM_SUCCESS (the only thing its decisions compare).
        var statusIsSuccess: Bool
        var previousLevel: Int
        /// `substates[level]`: impression and status on entering each substack level (for `reset`).
        var saved: [Pair]
    }

    struct Pair: Hashable {
        var impression: Impression
        var statusIsSuccess: Bool
    }

    /// One module's turn on a path: which entry, what it returned, what libpam did.
    struct Step: Sendable, Equatable {
        var entry: Int
        var code: PAMReturnCode
        var action: PAMAction
        /// The entries passed over by a jump or by a decision (`done`, `die`).
        var skipped: Range<Int>
    }

    let entries: [PAMStackEntry]
    /// Where pam_rootok.so only grants to a caller that is already root (setuid programs).
    let rootokIsRootOnly: Bool
    var visited: Set<State> = []
    var budget = 200_000

    init(entries: [PAMStackEntry], rootokIsRootOnly: Bool) {
        self.entries = entries
        self.rootokIsRootOnly = rootokIsRootOnly
    }

    enum Outcome {
        case noBypass
        case bypass([Step])
        case tooComplex
    }

    mutating func findBypass() -> Outcome {
        let levels = (entries.map(\.level).max() ?? 0) + 1
        let start = State(index: 0, impression: .undefined, statusIsSuccess: false, previousLevel: 0,
                          saved: Array(repeating: Pair(impression: .undefined, statusIsSuccess: false), count: levels))
        var path: [Step] = []
        switch search(start, &path) {
        case .some(true): return .bypass(path)
        case .some(false): return .noBypass
        case .none: return .tooComplex
        }
    }

    /// The codes a module can return in this analysis.
    func returnCodes(_ entry: PAMStackEntry) -> [PAMReturnCode] {
        switch entry.kind {
        case .mustFail: return [.permDenied]
        case .substackHeader: return []
        case .module:
            switch entry.moduleName {
            case PAMStackAnalyzer.moduleName?: return PAMStackAnalyzer.mamoriFailureCodes
            case "pam_deny.so"?: return [.authErr]
            case "pam_permit.so"?: return [.success]
            case "pam_rootok.so"? where rootokIsRootOnly: return [.authErr]
            default: return PAMReturnCode.allCases.filter { $0 != .incomplete }
            }
        }
    }

    /// True when some path from `state` ends in success (the path is left in `path`); nil when the
    /// search ran out of budget.
    mutating func search(_ state: State, _ path: inout [Step]) -> Bool? {
        guard visited.insert(state).inserted else { return false }
        budget -= 1
        guard budget > 0 else { return nil }
        var state = state
        while state.index < entries.count, case .substackHeader = entries[state.index].kind {
            enter(&state)
            state.previousLevel = entries[state.index].level
            state.index += 1
        }
        guard state.index < entries.count else {
            return state.statusIsSuccess && state.impression == .positive
        }
        enter(&state)
        let entry = entries[state.index]
        for code in returnCodes(entry) {
            let action = entry.actions[code.rawValue]
            let (next, skipped) = apply(action, code: code, to: state)
            path.append(Step(entry: state.index, code: code, action: action, skipped: skipped))
            switch search(next, &path) {
            case .some(true): return true
            case .none: return nil
            case .some(false): path.removeLast()
            }
        }
        return false
    }

    func enter(_ state: inout State) {
        let level = entries[state.index].level
        if state.previousLevel < level {
            state.saved[level] = Pair(impression: state.impression, statusIsSuccess: state.statusIsSuccess)
        }
    }

    func apply(_ action: PAMAction, code: PAMReturnCode, to current: State) -> (State, Range<Int>) {
        var state = current
        let index = state.index
        let level = entries[index].level
        state.previousLevel = level
        var nextIndex = index + 1
        switch action {
        case .reset:
            state.impression = state.saved[level].impression
            state.statusIsSuccess = state.saved[level].statusIsSuccess
        case .ok, .done:
            if state.impression == .undefined || (state.impression == .positive && state.statusIsSuccess), code != .ignore {
                state.impression = .positive
                state.statusIsSuccess = code == .success
            }
            if state.impression == .positive, action == .done { nextIndex = endOfLevel(from: index) }
        case .bad, .die:
            if state.impression != .negative {
                state.impression = .negative
                state.statusIsSuccess = code == .success
            }
            if action == .die { nextIndex = endOfLevel(from: index) }
        case .ignore:
            break
        case .jump(let count):
            let (landing, remaining) = jump(from: index, count: count)
            nextIndex = landing
            if remaining > 0 {
                state.impression = .negative
                state.statusIsSuccess = false
            }
        }
        state.index = nextIndex
        return (state, (index + 1)..<max(index + 1, nextIndex))
    }

    /// `decision_made`: past every following entry at this level or deeper.
    func endOfLevel(from index: Int) -> Int {
        let level = entries[index].level
        var position = index
        while position + 1 < entries.count, entries[position + 1].level >= level { position += 1 }
        return position + 1
    }

    /// libpam's jump loop: each step passes one entry of this level with everything deeper after it.
    func jump(from index: Int, count: Int) -> (next: Int, remaining: Int) {
        let level = entries[index].level
        var position = index
        var remaining = count
        while position + 1 < entries.count, entries[position + 1].level >= level, remaining > 0 {
            repeat { position += 1 } while position + 1 < entries.count && entries[position + 1].level > level
            remaining -= 1
        }
        return (position + 1, remaining)
    }
}
