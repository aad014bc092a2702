import Foundation
import PayFleetFuzzTargets
import Testing

/// Every input kept under Fixtures/fuzz/<target>/ — the seed corpus scripts/fuzz starts from, and every crash a fuzzer
/// ever found (named `crash-…`) — run again through its target: a parser that regresses traps here. The targets check
/// round-trip properties, not only that nothing crashes.
@Suite struct FuzzRegressionTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func inputs(_ target: FuzzTarget) throws -> [URL] {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/fuzz/\(target.rawValue)")
        return try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }
    }

    @Test(arguments: FuzzTarget.allCases)
    func everyKeptInputStillPasses(target: FuzzTarget) throws {
        // The verifiers target reads config/sandbox's TEST-ONLY keys relative to the repository root.
        _ = FileManager.default.changeCurrentDirectoryPath(Self.root.path)
        let inputs = try Self.inputs(target)
        #expect(!inputs.isEmpty, "no seed inputs for \(target.rawValue)")
        for input in inputs {
            target.run(Array(try Data(contentsOf: input)))
        }
    }
}
