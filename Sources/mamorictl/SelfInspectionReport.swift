import Foundation
import MamoriClient
import MamoriCore

/// The self-inspection (自己点検) report from the collector's report figures
/// (`GET /v1/admin/fleet/report`): coverage, each check with its policy clause and pass rate,
/// failing hosts with since, tamper alerts and their acknowledgements, and compliance over time
/// as an inline SVG chart. HTML (no JavaScript, prints on A4) and Markdown, Japanese or English.
struct SelfInspectionReport {
    enum Language: String, CaseIterable { case ja, en }

    let data: JSONValue
    let language: Language

    func text(_ ja: String, _ en: String) -> String { language == .ja ? ja : en }

    var orgId: String { data["org"]?.stringValue ?? "?" }
    var orgName: String {
        let org = Organisation(rawValue: orgId)
        return language == .ja ? (org?.japaneseName ?? orgId) : "\(orgId) (\(org?.japaneseName ?? ""))"
    }
    var title: String { text("自己点検報告書", "Self-inspection report") + " — " + orgName }
    var coverage: JSONValue { data["coverage"] ?? .null }

    /// "97.5%" from a count over a total; "-" with no total.
    static func percent(_ count: Int64, of total: Int64) -> String {
        guard total > 0 else { return "-" }
        let tenths = (count * 1000 + total / 2) / total
        return "\(tenths / 10).\(tenths % 10)%"
    }

    func number(_ value: JSONValue?, _ key: String) -> Int64 { value?[key]?.intValue ?? 0 }

    // MARK: Sections as rows (shared by both formats)

    var coverageRows: [[String]] {
        let inScope = number(coverage, "in_scope")
        return [
            [text("端末数", "Hosts"), String(number(coverage, "hosts"))],
            [text("対象外（4(2)）", "Out of scope (4(2))"), String(number(coverage, "out-of-scope"))],
            [text("対象端末", "In scope"), String(inScope)],
            [text("適合", "Compliant"), String(number(coverage, "compliant"))],
            [text("不適合", "Non-compliant"), String(number(coverage, "non-compliant"))],
            [text("報告途絶", "Stale"), String(number(coverage, "stale"))],
            [text("改ざん検知", "Tampered"), String(number(coverage, "tampered"))],
            [text("未報告", "Unreported"), String(number(coverage, "unreported"))],
            [text("適合率", "Compliance rate"), Self.percent(number(coverage, "compliant"), of: inScope)],
        ]
    }

    var checkHeaders: [String] {
        [text("点検項目", "Check"), text("名称", "Title"), text("条項", "Clause"), text("端末", "Hosts"), text("合格", "Pass"),
         text("不合格", "Fail"), text("エラー", "Error"), text("対象外", "N/A"), text("合格率", "Pass rate")]
    }

    var checkRows: [[String]] {
        (data["checks"]?.arrayValue ?? []).map { check in
            let id = check["id"]?.stringValue ?? "?"
            let entry = PostureCatalogue.entry(id)
            let title = language == .ja ? (entry?.titleJapanese ?? check["title"]?.stringValue ?? "") : (check["title"]?.stringValue ?? "")
            let hosts = number(check, "hosts")
            let passing = number(check, "pass") + number(check, "not-applicable")
            return [id, title, check["clause"]?.stringValue ?? "-", String(hosts), String(number(check, "pass")), String(number(check, "fail")),
                    String(number(check, "error")), String(number(check, "not-applicable")), Self.percent(passing, of: hosts)]
        }
    }

    var failingHeaders: [String] {
        [text("端末", "Host"), text("点検項目", "Check"), text("状態", "Status"), text("発生日時", "Since"), text("根拠", "Evidence")]
    }

    var failingRows: [[String]] {
        (data["failing"]?.arrayValue ?? []).map { item in
            [item["hostname"]?.stringValue ?? "?", item["id"]?.stringValue ?? "?", item["status"]?.stringValue ?? "?",
             item["since"]?.stringValue ?? "", item["evidence"]?.stringValue ?? ""]
        }
    }

    var alertHeaders: [String] {
        [text("警報", "Alert"), text("日時", "Time"), text("端末", "Host"), text("内容", "Detail"), text("確認", "Acknowledgement")]
    }

    var alertRows: [[String]] {
        (data["tamper_alerts"]?.arrayValue ?? []).map { alert in
            let ack: String
            if let at = alert["acknowledged_at"]?.stringValue {
                ack = "\(at) \(alert["acknowledged_by"]?.stringValue ?? ""): \(alert["ack_reason"]?.stringValue ?? "")"
            } else {
                ack = text("未確認", "unacknowledged")
            }
            return [alert["id"]?.stringValue ?? "?", alert["created_at"]?.stringValue ?? "", alert["host"]?.stringValue ?? "-",
                    "\(alert["failure"]?.stringValue ?? ""): \(alert["detail"]?.stringValue ?? "")", ack]
        }
    }

    var grantHeaders: [String] {
        [text("端末", "Host"), text("媒体", "Device"), text("許可", "Mode"), text("申請番号", "Reference"), text("理由", "Reason"),
         text("期間", "Valid"), text("状態", "State"), text("使用回数", "Uses"), text("登録者", "Pushed by"), text("取消", "Revocation")]
    }

    /// Section 5: every one-off grant (持ち出し申請) in force during the period, as the terminal's
    /// own journal reported it (applied, used, expired, revoked or refused).
    var grantRows: [[String]] {
        (data["media_grants"]?.arrayValue ?? []).map { grant in
            let device = "\(grant["vendor"]?.stringValue ?? "*"):\(grant["product"]?.stringValue ?? "*"):\(grant["serial"]?.stringValue ?? "?")"
            let revocation = grant["revoked_at"]?.stringValue.map {
                "\($0) \(grant["revoked_by"]?.stringValue ?? ""): \(grant["revoke_reason"]?.stringValue ?? "")"
            } ?? "-"
            var state = grant["state"]?.stringValue ?? "?"
            if let code = grant["rejected_code"]?.stringValue { state += " (\(code))" }
            return [grant["hostname"]?.stringValue ?? "?", device, grant["mode"]?.stringValue ?? "?", grant["ref"]?.stringValue ?? "",
                    grant["reason"]?.stringValue ?? "", "\(grant["issued"]?.stringValue ?? "") – \(grant["expires"]?.stringValue ?? "")", state,
                    String(grant["uses"]?.intValue ?? 0), grant["pushed_by"]?.stringValue ?? "", revocation]
        }
    }

    var timeline: [(at: String, reporting: Int64, compliant: Int64)] {
        (data["timeline"]?.arrayValue ?? []).map { ($0["at"]?.stringValue ?? "", number($0, "reporting"), number($0, "compliant")) }
    }

    var timelineHeaders: [String] { [text("日時", "At"), text("報告端末", "Reporting"), text("適合", "Compliant"), text("適合率", "Rate")] }

    var timelineRows: [[String]] {
        timeline.map { [String($0.at.prefix(10)), String($0.reporting), String($0.compliant), Self.percent($0.compliant, of: $0.reporting)] }
    }

    var period: String {
        "\(String((data["from"]?.stringValue ?? "").prefix(10))) – \(String((data["to"]?.stringValue ?? "").prefix(10)))"
    }
}
