@testable import MamoriCollector
import Testing

@Suite struct PostgresURLTests {
    @Test func readsEveryPartAndDecodesEscapes() throws {
        let url = try PostgresURL("postgresql://col%40lector:p%40ss%3Aw%2Frd@db.example:6543/fleet?sslmode=require")
        #expect(url.username == "col@lector")
        #expect(url.password == "p@ss:w/rd")
        #expect(url.endpoint == .tcp(host: "db.example", port: 6543))
        #expect(url.database == "fleet")
        #expect(url.sslMode == .require)
        #expect(url.redacted == "postgres://col@lector:***@db.example:6543/fleet")
    }

    @Test func defaultsFollowLibpq() throws {
        let url = try PostgresURL("postgres://mamori@[::1]")
        #expect(url.endpoint == .tcp(host: "::1", port: 5432))
        #expect(url.password == nil)
        #expect(url.database == "mamori")
        #expect(url.sslMode == .prefer)
        #expect(url.redacted == "postgres://mamori@[::1]:5432/mamori")
    }

    @Test func hostParameterSelectsAUnixSocket() throws {
        let url = try PostgresURL("postgres://mamori@/collector?host=/run/postgresql&sslmode=disable")
        #expect(url.endpoint == .unixSocket(path: "/run/postgresql/.s.PGSQL.5432"))
        #expect(url.database == "collector")
    }

    @Test func placeholdersAreNumberedOutsideLiteralsAndComments() {
        let sql = "SELECT ?, '?''?', \"a?\" -- ?\n/* ? */ , ? WHERE x = ?"
        let placeholders = SQLPlaceholders(sql)
        #expect(placeholders.count == 3)
        #expect(placeholders.numberedSQL == "SELECT $1, '?''?', \"a?\" -- ?\n/* ? */ , $2 WHERE x = $3")
    }
}
