import Foundation
import ReadmitKeys
import ReadmitServer
import ReadmitWire
import XCTest

/// CURVE with the ZAP handler: an authorized key is served; an unknown key and a plain
/// (non-CURVE) client get nothing, and the refusals are logged and counted.
final class CurveTests: XCTestCase {
    func testOnlyAuthorizedKeysAreServed() throws {
        let dir = NSTemporaryDirectory() + "readmitd-curve-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/authorized", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try CurveKeyPair.generate()
        let allowed = try CurveKeyPair.generate()
        let stranger = try CurveKeyPair.generate()
        let (_, serverSecret) = try server.write(basePath: dir + "/server")
        try allowed.write(basePath: dir + "/allowed")
        try FileManager.default.copyItem(atPath: dir + "/allowed.pub", toPath: dir + "/authorized/allowed.pub")
        let mode = try FileManager.default.attributesOfItem(atPath: serverSecret)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600, "secret key files are private")
        XCTAssertEqual(try CurveKeyPair.readKey(path: dir + "/allowed.pub"), allowed.publicKey)

        let good = CurveClientKeys(client: allowed, serverPublicKey: server.publicKey)
        let daemon = try DaemonProcess(arguments: ["--workers", "1", "--curve-secret-key", serverSecret,
                                                   "--authorized-keys", dir + "/authorized"], curveClient: good)
        defer { daemon.stop() }

        let authorized = try WireClient(endpoint: daemon.endpoint, curve: good)
        XCTAssertEqual(try authorized.call(RequestEncoder.simple(.health, requestID: 1)).header.status, 0)

        let unknown = try WireClient(endpoint: daemon.endpoint, timeoutMs: 1500,
                                     curve: CurveClientKeys(client: stranger, serverPublicKey: server.publicKey))
        XCTAssertThrowsError(try unknown.call(RequestEncoder.simple(.health, requestID: 2))) { XCTAssertTrue($0 is ReplyTimeout) }

        let plain = try WireClient(endpoint: daemon.endpoint, timeoutMs: 1500)
        XCTAssertThrowsError(try plain.call(RequestEncoder.simple(.health, requestID: 3))) { XCTAssertTrue($0 is ReplyTimeout) }

        // The authorized client is still served, and the refusal was counted and logged.
        let stats = try authorized.call(RequestEncoder.simple(.stats, requestID: 4))
        guard case .text(let json) = stats.body else { return XCTFail("\(stats.body)") }
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        XCTAssertGreaterThanOrEqual(object["auth_failures"] as? Int ?? 0, 1)
        XCTAssertTrue(daemon.log.contains("client refused"), daemon.log)
        XCTAssertTrue(daemon.log.contains(stranger.publicKey), "the refused key is named in the log")
    }

    /// A secret key file copied into --authorized-keys by mistake is skipped with a reason that
    /// says what to copy instead; it authorises no one (its text is not the client's public key).
    func testASecretKeyFileIsNotAnAuthorizedKey() throws {
        let dir = NSTemporaryDirectory() + "readmitd-keys-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let alice = try CurveKeyPair.generate(), bob = try CurveKeyPair.generate()
        try alice.write(basePath: dir + "/alice")
        try bob.write(basePath: dir + "/bob")
        try FileManager.default.removeItem(atPath: dir + "/bob.pub")
        XCTAssertFalse(CurveKeyPair.holdsSecretKey(path: dir + "/alice.pub"))
        XCTAssertTrue(CurveKeyPair.holdsSecretKey(path: dir + "/alice.key"))

        let keys = try AuthorizedKeys.load(directory: dir)
        XCTAssertEqual(Set(keys.keys.values), ["alice.pub"])
        XCTAssertEqual(keys.skipped.map(\.name), ["alice.key", "bob.key"])
        XCTAssertTrue(keys.skipped.allSatisfy { $0.reason.hasPrefix("a secret key file") }, "\(keys.skipped)")

        // A key file anyone may change is no authorization; a directory anyone may write to
        // would let anyone add one, and stops the load (the start, or SIGHUP keeps the old set).
        chmod(dir + "/alice.pub", 0o646)
        let open = try AuthorizedKeys.load(directory: dir)
        XCTAssertTrue(open.keys.isEmpty)
        XCTAssertEqual(open.skipped.first { $0.name == "alice.pub" }?.description, "alice.pub: can be changed by other users (mode 0646), who could put their own key in it: chmod o-w it")
        chmod(dir + "/alice.pub", 0o644)
        chmod(dir, 0o777)
        XCTAssertThrowsError(try AuthorizedKeys.load(directory: dir)) {
            XCTAssertEqual(($0 as? KeyFileError)?.message, "--authorized-keys directory \(dir) can be written by other users (mode 0777), so anyone on this host could authorize a key: chmod o-w \(dir)")
        }
        chmod(dir, 0o755)
        XCTAssertEqual(try AuthorizedKeys.load(directory: dir).keys.count, 1)
    }

    /// A secret key file other users can read (a key written by hand under umask 022) or
    /// change stops the start, saying how to fix it; readmitd served with it before. A file
    /// its group may read (a Kubernetes secret with fsGroup) is accepted.
    func testASecretKeyOtherUsersCanReadIsRefused() throws {
        let dir = NSTemporaryDirectory() + "readmitd-keymode-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/authorized", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try CurveKeyPair.generate(), client = try CurveKeyPair.generate()
        let (_, secret) = try server.write(basePath: dir + "/server")
        try client.write(basePath: dir + "/client")
        try FileManager.default.copyItem(atPath: dir + "/client.pub", toPath: dir + "/authorized/client.pub")
        let arguments = ["--workers", "1", "--curve-secret-key", secret, "--authorized-keys", dir + "/authorized"]
        for (mode, says) in [(0o644, "can be read by other users (mode 0644)"), (0o602, "can be changed by other users (mode 0602)"),
                             (0o660, "can be changed by its group (mode 0660)")] {
            chmod(secret, mode_t(mode))
            let refused = try DaemonProcess(arguments: arguments, waitForHealth: false)
            XCTAssertEqual(refused.waitForExit(seconds: 15), 1, says)
            XCTAssertTrue(refused.log.contains("secret key file \(secret) \(says): make it private (chmod 600 \(secret)"), refused.log)
        }
        XCTAssertThrowsError(try CurveKeyPair.readSecretKey(path: secret))
        chmod(secret, 0o640)
        XCTAssertEqual(try CurveKeyPair.readSecretKey(path: secret), server.secretKey)
        let keys = CurveClientKeys(client: client, serverPublicKey: server.publicKey)
        let served = try DaemonProcess(arguments: arguments, curveClient: keys)
        defer { served.stop() }
        XCTAssertEqual(try WireClient(endpoint: served.endpoint, curve: keys).call(RequestEncoder.simple(.health, requestID: 1)).header.status, 0)
    }

    func testCurveFlagsMustComeTogether() throws {
        let daemon = try DaemonProcess(arguments: ["--curve-secret-key", "/nonexistent"], waitForHealth: false)
        XCTAssertEqual(daemon.waitForExit(seconds: 15), 1)
        XCTAssertTrue(daemon.log.contains("--authorized-keys"), daemon.log)
    }

    func testEndpointPolicy() {
        XCTAssertTrue(EndpointPolicy.isLoopback("tcp://127.0.0.1:5555"))
        XCTAssertTrue(EndpointPolicy.isLoopback("tcp://[::1]:5555"))
        XCTAssertTrue(EndpointPolicy.isLoopback("tcp://localhost:5555"))
        XCTAssertFalse(EndpointPolicy.isLoopback("tcp://*:5555"))
        XCTAssertFalse(EndpointPolicy.isLoopback("tcp://0.0.0.0:5555"))
        XCTAssertFalse(EndpointPolicy.isLoopback("tcp://10.0.0.1:5555"))
        XCTAssertFalse(EndpointPolicy.isLoopback("tcp://127.evil.com:5555"))
        XCTAssertThrowsError(try EndpointPolicy.check("tcp://*:5555", curve: false, insecure: false))
        XCTAssertNoThrow(try EndpointPolicy.check("tcp://*:5555", curve: true, insecure: false))
        XCTAssertNoThrow(try EndpointPolicy.check("tcp://*:5555", curve: false, insecure: true))
        XCTAssertThrowsError(try EndpointPolicy.check("inproc://x", curve: false, insecure: true))
        // libzmq cannot bind a name: localhost becomes the loopback literals, never a lookup.
        XCTAssertEqual(EndpointPolicy.bindForms("tcp://localhost:5555"), [
            .init(endpoint: "tcp://127.0.0.1:5555", ipv6: false, optional: false),
            .init(endpoint: "tcp://[::1]:5555", ipv6: true, optional: true),
        ])
        XCTAssertEqual(EndpointPolicy.bindForms("tcp://localhost:*").map(\.endpoint), ["tcp://127.0.0.1:*"])
        XCTAssertEqual(EndpointPolicy.bindForms("tcp://[::1]:5555"), [.init(endpoint: "tcp://[::1]:5555", ipv6: true, optional: false)])
        XCTAssertEqual(EndpointPolicy.bindForms("tcp://127.0.0.1:5555"), [.init(endpoint: "tcp://127.0.0.1:5555", ipv6: false, optional: false)])
        XCTAssertEqual(EndpointPolicy.bindForms("ipc:///tmp/x.sock").map(\.endpoint), ["ipc:///tmp/x.sock"])
        XCTAssertFalse(EndpointPolicy.isLoopback("tcp://localhost.evil.com:5555"))
        // A port libzmq would wrap (it keeps the low 16 bits: 99999 is 34463) or cannot read.
        for endpoint in ["tcp://127.0.0.1:99999", "tcp://127.0.0.1:65536", "tcp://127.0.0.1:", "tcp://127.0.0.1",
                         "tcp://127.0.0.1:+80", "tcp://127.0.0.1:5555x", "tcp://[::1]", "tcp://*:99999"] {
            XCTAssertThrowsError(try EndpointPolicy.check(endpoint, curve: false, insecure: true), endpoint) {
                XCTAssertTrue("\($0)".hasPrefix("endpoint \(endpoint): "), "\($0)")
            }
        }
        for endpoint in ["tcp://127.0.0.1:0", "tcp://127.0.0.1:65535", "tcp://127.0.0.1:*", "tcp://[::1]:*", "tcp://localhost:5555"] {
            XCTAssertNoThrow(try EndpointPolicy.check(endpoint, curve: false, insecure: false), endpoint)
        }
    }

    /// A port out of range stops the start with the endpoint named (it bound a wrapped port and
    /// logged the given one); a `*` port is logged as the port the system chose.
    func testTheDaemonBindsTheGivenPortOrRefuses() throws {
        let wrapped = try DaemonProcess(arguments: ["--endpoint", "tcp://127.0.0.1:99999"], waitForHealth: false)
        XCTAssertEqual(wrapped.waitForExit(seconds: 15), 1)
        XCTAssertTrue(wrapped.log.contains("endpoint tcp://127.0.0.1:99999: port '99999' is not a number from 0 to 65535"), wrapped.log)

        let any = try DaemonProcess(arguments: ["--endpoint", "tcp://127.0.0.1:*"], endpoint: "tcp://127.0.0.1:*", waitForHealth: false)
        defer { any.stop() }
        var bound: String?
        for _ in 0..<100 where bound == nil {
            if let range = any.log.range(of: #"bound=tcp://127\.0\.0\.1:[0-9]+"#, options: .regularExpression) {
                bound = String(any.log[range].dropFirst("bound=".count))
            } else {
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        let endpoint = try XCTUnwrap(bound, any.log)
        let reply = try WireClient(endpoint: endpoint, timeoutMs: 5000).call(RequestEncoder.simple(.health, requestID: 1))
        XCTAssertEqual(reply.header.status, 0)
    }
}
