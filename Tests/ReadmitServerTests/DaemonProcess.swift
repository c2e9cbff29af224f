import CZeroMQ
import Foundation
import ReadmitKeys
import ReadmitServer
import ReadmitWire
import XCTest

/// A real `readmitd` process on a free loopback port (or an ipc path), for tests.
///
/// Finds the binary in env `READMITD_BIN` (else the package's build folders), starts it with
/// the given flags, waits until HEALTH answers, and stops it (SIGTERM, then SIGKILL) in
/// ``stop()``. Its stderr goes to ``logPath`` for assertions on the log.
final class DaemonProcess {
    /// The endpoint the daemon serves.
    let endpoint: String
    /// Where the daemon's stderr goes.
    let logPath: String
    let process = Process()

    /// The repository root (three levels above this file).
    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The readmitd binary to test.
    static func binary() throws -> String {
        if let env = ProcessInfo.processInfo.environment["READMITD_BIN"], !env.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: env) else { throw HarnessError("READMITD_BIN=\(env) is not executable") }
            return env
        }
        for folder in [".build-daemon/debug", ".build/debug", ".build/release"] {
            let path = packageRoot.appendingPathComponent(folder).appendingPathComponent("readmitd").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw HarnessError("no readmitd binary: set READMITD_BIN or build it (swift build --product readmitd)")
    }

    /// The fixture model file (env `READMIT_TEST_MODEL`, else `.build/fixtures/model.readmit`); skips when absent.
    static func fixtureModel() throws -> String {
        if let env = ProcessInfo.processInfo.environment["READMIT_TEST_MODEL"], !env.isEmpty {
            guard FileManager.default.fileExists(atPath: env) else { throw HarnessError("READMIT_TEST_MODEL=\(env) does not exist") }
            return env
        }
        let path = packageRoot.appendingPathComponent(".build/fixtures/model.readmit").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("no fixture model: set READMIT_TEST_MODEL (scripts/tests/00-build.sh trains one)")
        }
        return path
    }

    /// A free TCP port on 127.0.0.1 (the kernel's choice; closed again before use).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket() failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound else { throw HarnessError("bind/getsockname failed") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Starts `readmitd` with `arguments` (an `--endpoint` is added unless given) and waits
    /// until it answers HEALTH (or, with `waitForHealth: false`, returns right after spawning).
    init(arguments: [String], endpoint: String? = nil, waitForHealth: Bool = true,
         curveClient: CurveClientKeys? = nil, launcher: [String] = []) throws {
        let chosen = try endpoint ?? "tcp://127.0.0.1:\(DaemonProcess.freePort())"
        self.endpoint = chosen
        logPath = NSTemporaryDirectory() + "readmitd-test-\(UUID().uuidString).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let daemonArguments = arguments.contains("--endpoint") ? arguments : arguments + ["--endpoint", chosen]
        if let first = launcher.first {
            // A command that runs the daemon (its path and arguments follow the launcher's own).
            process.executableURL = URL(fileURLWithPath: first)
            process.arguments = Array(launcher.dropFirst()) + [try DaemonProcess.binary()] + daemonArguments
        } else {
            process.executableURL = URL(fileURLWithPath: try DaemonProcess.binary())
            process.arguments = daemonArguments
        }
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        if waitForHealth { try waitUntilHealthy(curve: curveClient) }
    }

    /// Polls HEALTH until it answers (30 s at most), failing early if the process exits.
    func waitUntilHealthy(curve: CurveClientKeys? = nil) throws {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            guard process.isRunning else { throw HarnessError("readmitd exited with \(process.terminationStatus): \(log)") }
            let client = try WireClient(endpoint: endpoint, timeoutMs: 300, curve: curve)
            if (try? client.call(RequestEncoder.simple(.health, requestID: 1))) != nil { return }
        }
        throw HarnessError("readmitd did not answer HEALTH within 30 s: \(log)")
    }

    /// The daemon's log so far.
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Sends `signal` to the daemon.
    func send(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits up to `seconds` for the process to exit; its exit status, or nil if still running.
    func waitForExit(seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// Stops the daemon: SIGTERM, then SIGKILL after 10 s.
    func stop() {
        guard process.isRunning else { return }
        send(SIGTERM)
        if waitForExit(seconds: 10) == nil { send(SIGKILL); _ = waitForExit(seconds: 5) }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: logPath)
    }
}

/// A client's CURVE keys: its own pair and the server's public key.
struct CurveClientKeys {
    var client: CurveKeyPair
    var serverPublicKey: String
}

/// A harness failure with a message.
struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// A timeout waiting for a reply.
struct ReplyTimeout: Error {}

/// One context for every test client in the process.
let testContext: ZMQContext = {
    guard let ctx = try? ZMQContext() else { fatalError("zmq_ctx_new failed") }
    return ctx
}()

/// A raw REQ client with a receive timeout (re-creating the socket after a timeout, since a
/// REQ socket is stuck once a reply is missing).
final class WireClient {
    let endpoint: String
    let timeoutMs: Int32
    let curve: CurveClientKeys?
    private var socket: ZMQSocket

    /// The wait for a reply when a test names none: 10 s, or `READMIT_TEST_REPLY_TIMEOUT_MS`
    /// (stage 55 raises it for the ThreadSanitizer build of readmitd, several times slower: a
    /// 20,000-row RECORDS with explanations took close to 10 s there on a busy machine).
    static let defaultTimeoutMs: Int32 = {
        guard let text = ProcessInfo.processInfo.environment["READMIT_TEST_REPLY_TIMEOUT_MS"], let ms = Int32(text), ms > 0 else { return 10_000 }
        return ms
    }()

    init(endpoint: String, timeoutMs: Int32 = WireClient.defaultTimeoutMs, curve: CurveClientKeys? = nil) throws {
        self.endpoint = endpoint
        self.timeoutMs = timeoutMs
        self.curve = curve
        socket = try WireClient.open(endpoint, timeoutMs, curve)
    }

    private static func open(_ endpoint: String, _ timeoutMs: Int32, _ curve: CurveClientKeys?) throws -> ZMQSocket {
        let s = try ZMQSocket(testContext, type: ZMQ_REQ)
        try s.set(ZMQ_LINGER, 0)
        try s.set(ZMQ_RCVTIMEO, timeoutMs)
        try s.set(ZMQ_SNDTIMEO, timeoutMs)
        if let curve {
            try s.set(ZMQ_CURVE_SERVERKEY, string: curve.serverPublicKey)
            try s.set(ZMQ_CURVE_PUBLICKEY, string: curve.client.publicKey)
            try s.set(ZMQ_CURVE_SECRETKEY, string: curve.client.secretKey)
        }
        try s.connect(endpoint)
        return s
    }

    /// Sends `frames`, returns the raw reply frames; throws ``ReplyTimeout`` on timeout.
    func raw(_ frames: [[UInt8]]) throws -> [[UInt8]] {
        let sent = Result { () throws(ZMQError) in try socket.send(frames) }
        if case .failure(let error) = sent {
            guard error.code == EAGAIN else { throw error }
            // No peer took the request within the timeout (a refused handshake can leave the
            // REQ socket without a pipe for a while): nothing came back, as for a receive timeout.
            socket.close()
            socket = try WireClient.open(endpoint, timeoutMs, curve)
            throw ReplyTimeout()
        }
        guard let reply = try socket.receive() else {
            socket.close()
            socket = try WireClient.open(endpoint, timeoutMs, curve)
            throw ReplyTimeout()
        }
        return reply.map(\.array)
    }

    /// Sends `frames` and decodes the reply.
    func call(_ frames: [[UInt8]]) throws -> Reply {
        try ReplyDecoder.decode(raw(frames))
    }
}
