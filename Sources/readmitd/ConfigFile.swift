import Foundation
import ReadmitFiles

/// A `readmitd --config FILE`: `name = value` lines using the long flag names without dashes
/// (`model = /var/lib/readmit/model.readmit`, `endpoint = ...` may repeat, `insecure = true`);
/// `#` starts a comment. Lines end in LF or CRLF; a UTF-8 byte-order mark is skipped. Any other
/// setting given twice is an error (the last one won unannounced). Flags on the command line
/// win over the file. A relative path in the file (model, keys, an ipc:// endpoint) is relative
/// to the file's folder, as Prometheus and Compose read theirs: it was relative to the daemon's
/// working directory, `/` under systemd, so `model = model.readmit` beside the file failed.
struct ConfigFile {
    /// Values by flag name, in file order.
    var values: [String: [String]] = [:]
    /// The folder of the file (absolute), against which relative paths in it are read.
    var directory: String = FileManager.default.currentDirectoryPath
    /// Where the last value of each name was set (`path:line`), for errors about it.
    var places: [String: String] = [:]

    static let known: Set<String> = [
        "model", "endpoint", "workers", "max-rows", "max-message-bytes", "max-queued", "max-queued-bytes", "max-replies-per-client", "drain-timeout",
        "curve-secret-key", "authorized-keys", "insecure", "allow-reload-path", "log-level", "http", "http-allow-remote", "audit-log",
    ]
    /// Settings that may be given on several lines (as their flags may repeat).
    static let repeatable: Set<String> = ["endpoint"]

    /// Parses the file at `path`, naming the line of any error.
    static func load(path: String) throws -> ConfigFile {
        let text: String
        do { text = try RegularFile.readText(path: path, maxBytes: 1 << 20) } catch {
            throw ConfigError("cannot read config file \(path): \(error.reason)")
        }
        var config = ConfigFile()
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        config.directory = (absolute as NSString).deletingLastPathComponent
        // By Character, "\r\n" is one line break (split on "\n" alone never matched it: a CRLF
        // file was one line, every later setting part of the first value); an editor's BOM is
        // not part of the first name.
        let body = text.hasPrefix("\u{FEFF}") ? text.dropFirst() : Substring(text)
        for (number, raw) in body.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let eq = trimmed.firstIndex(of: "=") else {
                throw ConfigError("\(path):\(number + 1): expected 'name = value'")
            }
            let name = trimmed[..<eq].trimmingCharacters(in: .whitespaces)
            let value = trimmed[trimmed.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            guard known.contains(name) else {
                throw ConfigError("\(path):\(number + 1): unknown setting '\(name)' (known: \(known.sorted().joined(separator: ", ")))")
            }
            if let earlier = config.places[name], !repeatable.contains(name) {
                throw ConfigError("\(path):\(number + 1): \(name) is set again (first at \(earlier)); give it once")
            }
            config.values[name, default: []].append(value)
            config.places[name] = "\(path):\(number + 1)"
        }
        return config
    }

    /// The last value of `name`, if set.
    func string(_ name: String) -> String? { values[name]?.last }

    /// The last value of the path setting `name`, relative paths read against the file's folder.
    func path(_ name: String) -> String? { string(name).map(resolved) }

    /// The endpoints set in the file, a relative `ipc://` path read against the file's folder
    /// (`ipc://*` and an abstract `ipc://@name` are left as they are).
    var endpoints: [String] {
        (values["endpoint"] ?? []).map { endpoint in
            guard endpoint.hasPrefix("ipc://") else { return endpoint }
            let rest = String(endpoint.dropFirst("ipc://".count))
            guard !rest.isEmpty, rest != "*", !rest.hasPrefix("@"), !rest.hasPrefix("/") else { return endpoint }
            return "ipc://" + resolved(rest)
        }
    }

    private func resolved(_ path: String) -> String {
        path.isEmpty || path.hasPrefix("/") ? path : directory + "/" + path
    }

    /// `path:line: name = value`, the start of an error about a setting.
    private func place(_ name: String, _ value: String) -> String {
        "\(places[name] ?? "config"): \(name) = \(value)"
    }

    /// An integer setting, or an error naming its file and line.
    func int(_ name: String) throws -> Int? {
        guard let s = string(name) else { return nil }
        guard let v = Int(s.replacingOccurrences(of: "_", with: "")) else { throw ConfigError("\(place(name, s)) is not an integer") }
        return v
    }

    /// A number of seconds (a decimal number, finite and not negative), or an error naming its
    /// file and line. A value that did not read used to fall back to the default unannounced.
    func seconds(_ name: String) throws -> Double? {
        guard let s = string(name) else { return nil }
        guard let v = Double(s), v.isFinite, v >= 0 else { throw ConfigError("\(place(name, s)) is not a number of seconds (0 or more)") }
        return v
    }

    /// A boolean setting (`true`/`false`/`yes`/`no`/`1`/`0`).
    func bool(_ name: String) throws -> Bool? {
        guard let raw = string(name) else { return nil }
        switch raw.lowercased() {
        case "true", "yes", "1", "on": return true
        case "false", "no", "0", "off": return false
        default: throw ConfigError("\(place(name, raw)) is not true or false")
        }
    }
}

/// A bad config file or flag combination.
struct ConfigError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
