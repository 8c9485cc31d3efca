import MamoriClient
import MamoriCollector
import MamoriCore
import Testing

/// `mamorictl fleet hosts --format json` prints the collector's reply as received and takes its
/// exit status from `FleetReplyScan`: the scan must find exactly the states a full parse finds,
/// whatever the hosts are called.
@Suite struct FleetReplyScanTests {
    static func reply(_ hosts: [(name: String, state: String)]) -> [UInt8] {
        JSONValue.object(["hosts": .array(hosts.map { host in
            .object(["hostname": .string(host.name), "id": .string("host-" + host.name), "org": .string("mayor"),
                     "state": .string(host.state), "checks": .int(20), "failing": .int(host.state == "compliant" ? 0 : 1)])
        })]).canonicalBytes
    }

    static func parsedStates(_ body: [UInt8]) throws -> [String] {
        try #require(try JSONValue.parse(body)["hosts"]?.arrayValue).map { $0["state"]?.stringValue ?? "?" }
    }

    @Test func findsEveryStateAsAParseDoes() throws {
        // Host names an enrolling terminal chose: quotes, backslashes, the marker itself, Japanese.
        let names = [#"pc-01"#, #"evil","state":"compliant"#, #"back\slash\"#, #"\"state\":\"x"#, "区議会-03", #"tail\\"#, ""]
        let states = ["non-compliant", "compliant", "stale", "tampered", "out-of-scope", "compliant", "unreported"]
        let body = Self.reply(Array(zip(names, states)))
        #expect(FleetReplyScan.states(in: body) == states)
        #expect(try Self.parsedStates(body) == states)
    }

    @Test func randomFleetsAgreeWithTheParser() throws {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array(#"ab"\:,{}[] 区-"#)
        let stateWords = ["compliant", "non-compliant", "stale", "tampered", "out-of-scope", "unreported"]
        for _ in 0..<200 {
            let hosts = (0..<Int.random(in: 0...30, using: &generator)).map { _ in
                (name: String((0..<Int.random(in: 0...12, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }),
                 state: stateWords.randomElement(using: &generator)!)
            }
            let body = Self.reply(hosts)
            let scanned = try #require(FleetReplyScan.states(in: body))
            #expect(scanned == (try Self.parsedStates(body)))
            #expect(FleetReplyScan.hasProblem(scanned) == hosts.contains { !["compliant", "out-of-scope"].contains($0.state) })
        }
    }

    @Test func aTruncatedReplyIsNotReadAsComplete() {
        let body = Self.reply([("pc-01", "compliant"), ("pc-02", "non-compliant")])
        let marker = Array(#""state":"non-"#.utf8)
        // Cut inside the second state value: the scan refuses rather than reporting one host.
        let inside = Array(body.prefix(upTo: body.firstRange(of: marker)!.upperBound))
        #expect(FleetReplyScan.states(in: inside) == nil)
        #expect(FleetReplyScan.states(in: []) == [])
    }

    /// The table path reads the members it shows in one pass; it must give what a parse gives.
    @Test func flatObjectsAgreeWithTheParser() throws {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ab\"\\:,{}[] 区-\n\t\u{01}é")
        let fields = ["hostname", "org", "state", "failing", "checks", "missing"]
        for _ in 0..<200 {
            let hosts = (0..<Int.random(in: 0...25, using: &generator)).map { _ in
                (name: String((0..<Int.random(in: 0...12, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }),
                 state: ["compliant", "stale", "non-compliant"].randomElement(using: &generator)!)
            }
            let body = Self.reply(hosts)
            let flat = try #require(FleetReplyScan.flatObjects(in: body, array: "hosts", fields: fields))
            let parsed = try #require(try JSONValue.parse(body)["hosts"]?.arrayValue)
            #expect(flat.count == parsed.count)
            for (row, host) in zip(flat, parsed) {
                let expected: [String?] = fields.map { field in
                    switch host[field] {
                    case .string(let text)?: text
                    case .int(let number)?: String(number)
                    default: nil
                    }
                }
                #expect(row == expected)
            }
        }
    }

    @Test func flatObjectsRefuseOtherShapes() {
        let nested = JSONValue.object(["hosts": .array([.object(["hostname": .string("a"), "tags": .array([.string("x")])])])]).canonicalBytes
        #expect(FleetReplyScan.flatObjects(in: nested, array: "hosts", fields: ["hostname"]) == nil)
        let other = JSONValue.object(["alerts": .array([])]).canonicalBytes
        #expect(FleetReplyScan.flatObjects(in: other, array: "hosts", fields: ["hostname"]) == nil)
        let body = Self.reply([("pc-01", "compliant")])
        #expect(FleetReplyScan.flatObjects(in: Array(body.dropLast(2)), array: "hosts", fields: ["hostname"]) == nil)
        #expect(FleetReplyScan.flatObjects(in: body + Array("x".utf8), array: "hosts", fields: ["hostname"]) == nil)
        #expect(FleetReplyScan.flatObjects(in: Array(#"{"hosts":[]}"#.utf8), array: "hosts", fields: ["hostname"])?.isEmpty == true)
    }

    @Test func problemsAreAnythingButCompliantOrOutOfScope() {
        // The collector's own rule for the exit status.
        for state in FleetHostState.allCases { #expect(FleetReplyScan.hasProblem([state.rawValue]) == state.isProblem) }
        #expect(!FleetReplyScan.hasProblem([]))
        #expect(!FleetReplyScan.hasProblem(["compliant", "out-of-scope"]))
        for state in ["non-compliant", "stale", "tampered", "unreported", "error"] {
            #expect(FleetReplyScan.hasProblem(["compliant", state]))
        }
    }
}
