import Foundation
import Synchronization

/// One built PayFleet executable running as a separate process, with its output captured
/// to a log file the test can print when it fails.
/// `@unchecked Sendable`: `process` is configured once in `init` and afterwards only read
/// (pid, isRunning, exit status) or signalled, which Foundation's Process allows from any thread.
public final class FleetProcess: @unchecked Sendable {
    public let name: String
    public let logFile: URL
    private let process: Process

    /// The folder holding the built executables: beside the test bundle, or `PAYFLEET_BIN_DIR`.
    public static var binDirectory: URL {
        if let dir = TestServices.environment["PAYFLEET_BIN_DIR"] { return URL(fileURLWithPath: dir) }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // On Linux the tests run from <bin>/PayFleetPackageTests.xctest.
        if url.lastPathComponent.hasSuffix(".xctest") { url.deleteLastPathComponent() }
        return url
    }

    public init(_ name: String, arguments: [String] = [], environment: [String: String], logDirectory: URL) throws {
        self.name = name
        let executable = Self.binDirectory.appendingPathComponent(name)
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw TestServicesError("\(executable.path) is not built; run `swift build` first (scripts/test does)")
        }
        let stamp = UUID().uuidString.prefix(8)
        logFile = logDirectory.appendingPathComponent("\(name)-\(stamp).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logFile)
        process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.currentDirectoryURL = TestServices.repositoryRoot
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// SIGKILL: the crash case, nothing gets to clean up.
    public func kill() {
        if process.isRunning { _ = Foundation.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// SIGTERM (unless `signal` is false: then just wait) and wait for exit, SIGKILL after
    /// `timeout`; returns the exit status.
    @discardableResult
    public func terminate(timeout: Duration = .seconds(30), signal: Bool = true) async -> Int32 {
        if signal, process.isRunning { _ = Foundation.kill(process.processIdentifier, SIGTERM) }
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning { kill() }
        return process.terminationStatus
    }

    public var output: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    deinit {
        if process.isRunning {
            _ = Foundation.kill(process.processIdentifier, SIGKILL)
        }
    }
}
