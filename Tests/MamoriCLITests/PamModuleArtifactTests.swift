import Foundation
import Testing

/// What `make pam` promises about build/pam_mamori.so.
@Suite struct PamModuleArtifactTests {
    @Test func exportsOnlyThePAMEntryPoints() throws {
        let module = try PamModule.path()
        let result = try Tool.run("nm", ["-D", "--defined-only", module])
        #expect(result.status == 0, "\(result.stderr)")
        let symbols = result.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) }
        #expect(Set(symbols) == ["pam_sm_authenticate", "pam_sm_setcred", "pam_sm_acct_mgmt"], "exported: \(symbols)")
    }

    @Test func needsNoSwiftRuntimeAndNoFoundation() throws {
        let module = try PamModule.path()
        let ldd = try Tool.run("ldd", [module])
        #expect(ldd.status == 0, "\(ldd.stderr)")
        let libraries = ldd.stdout.lowercased()
        #expect(!libraries.contains("swift"), "\(ldd.stdout)")
        #expect(!libraries.contains("foundation"), "\(ldd.stdout)")
        #expect(!libraries.contains("dispatch"), "\(ldd.stdout)")
        #expect(libraries.contains("libpam.so"), "\(ldd.stdout)")
        let undefined = try Tool.run("nm", ["-D", "--undefined-only", module])
        #expect(!undefined.stdout.contains("Foundation"), "Foundation symbols: \(undefined.stdout)")
    }
}
