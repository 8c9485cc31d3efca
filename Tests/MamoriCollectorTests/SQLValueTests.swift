import MamoriCollector
import Testing

@Suite struct SQLValueTests {
    @Test func accessorsMatchTheirCase() {
        #expect(SQLValue.int(7).int == 7)
        #expect(SQLValue.int(7).double == 7)
        #expect(SQLValue.text("a").int == nil)
        #expect(SQLValue.null.isNull)
        #expect(SQLRow(values: ["a": .text("x")])["b"] == .null)
    }
}
