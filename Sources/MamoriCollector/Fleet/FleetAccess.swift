public import MamoriCore

/// Who may see what (docs/compliance.md "Access control").
///
/// A token with no organisation list is ward-wide, except for 区議会 (policy 9: the assembly's
/// audit results are left to the assembly): its hosts' checks, events, alerts and history are
/// visible only to tokens whose list names 区議会. Ward-wide tokens see the assembly only as
/// aggregate counts in the fleet summary. Anything a token may not see is answered as if it did
/// not exist (404), so host names do not leak; an explicit `org=assembly` filter is refused
/// with 403 because the organisation's existence is no secret.
extension AdminPrincipal {
    /// May see hosts, checks, events, alerts and history of `organisation`.
    public func seesDetails(of organisation: Organisation) -> Bool {
        if organisation == .wardAssembly { return organisations?.contains(.wardAssembly) == true }
        return covers(organisation)
    }

    /// May see the organisation's aggregate counts.
    public func seesCounts(of organisation: Organisation) -> Bool { covers(organisation) }

    public var detailOrganisations: [Organisation] { Organisation.allCases.filter(seesDetails(of:)) }

    /// Whether this principal may create, list or revoke a token scoped to `scope` (nil: ward-wide):
    /// only within what it sees in detail, so a ward-wide admin cannot mint a 区議会 token.
    public func manages(scope: [Organisation]?) -> Bool {
        guard let scope else { return organisations == nil }
        return !scope.isEmpty && scope.allSatisfy(seesDetails(of:))
    }

    /// Alerts with no host (forged requests from nowhere) are for ward-wide tokens.
    public func seesAlert(organisation: String?) -> Bool {
        guard let organisation else { return organisations == nil }
        return Organisation(rawValue: organisation).map(seesDetails(of:)) ?? false
    }
}

/// The endpoints each role may use (docs/compliance.md has the matrix).
public enum FleetPermission: String, Sendable, CaseIterable {
    case readFleet
    case readAudit
    case acknowledge
    case manageScope
    case manageTokens
    case enrol
    case pushProfiles

    public var roles: Set<AdminRole> {
        switch self {
        case .readFleet: [.viewer, .auditor, .admin]
        case .readAudit: [.auditor, .admin]
        case .acknowledge, .manageScope, .manageTokens, .enrol, .pushProfiles: [.admin]
        }
    }
}
