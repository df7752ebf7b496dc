import Foundation
import RelydProtocol

/// `relyctl`'s command line, parsed: a pure function of the arguments so that it can be tested.
///
/// ```
/// relyctl [--socket PATH] [--timeout SECONDS] <command> [--param-name value ...]
/// relyctl [--socket PATH] [--timeout SECONDS] [-]          raw JSON request lines on stdin
/// relyctl help [<command>]
/// ```
///
/// - `--param-name value` and `--param-name=value` set the parameter `param_name` (dashes become underscores).
///   The value is always the next argument, even when it starts with a dash.
/// - Kinds come from ``CommandCatalog``: a string is taken as is; an array of strings (`scope`, `acr_values`,
///   `grant_types`, `response_types`) is repeated (`--scope openid --scope email`) or comma-separated
///   (`--scope openid,email`), or both; an integer (`max_age`) must be a decimal integer; an object
///   (`custom_parameters`) is written as a JSON object of strings: `--custom-parameters '{"login_hint":"a"}'`.
/// - A parameter the command does not have, a scalar given twice, or a missing value is a usage error.
///   Required parameters are left to the daemon, which names the missing one (`missing_parameter`).
/// - `--socket` and `--timeout` may appear anywhere; the command name may be written with dashes;
///   `-h`/`--help` anywhere asks for help (on the command, when one is named).
public struct CommandLineRequest: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        /// Print the command list, or one command's parameters.
        case help(command: String?)
        /// Read request lines from standard input and print each response line.
        case raw
        /// Send one command.
        case command(name: String, parameters: [String: JSONValue])
    }

    /// `--socket`; nil means ``RelydClient/defaultSocketPath``.
    public var socketPath: String?
    /// `--timeout` in seconds; nil means the client's default.
    public var timeoutSeconds: Double?
    public var action: Action

    public init(socketPath: String? = nil, timeoutSeconds: Double? = nil, action: Action) {
        self.socketPath = socketPath
        self.timeoutSeconds = timeoutSeconds
        self.action = action
    }

    /// A mistake on the command line; `relyctl` prints it with the usage and exits 2.
    public struct UsageError: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// Parses the arguments after the program name.
    public static func parse(_ arguments: [String]) throws(UsageError) -> CommandLineRequest {
        var socketPath: String?
        var timeoutSeconds: Double?
        var commandName: String?
        var words: [String] = []  // arguments after the command name, with --socket/--timeout taken out
        var wantsHelp = false
        var index = 0

        func value(for option: String, inline: String?) throws(UsageError) -> String {
            if let inline { return inline }
            index += 1
            guard index < arguments.count else { throw UsageError("\(option) needs a value") }
            return arguments[index]
        }

        while index < arguments.count {
            let argument = arguments[index]
            let (option, inline) = split(argument)
            switch option {
            case "--socket":
                guard socketPath == nil else { throw UsageError("--socket is given twice") }
                socketPath = try value(for: option, inline: inline)
            case "--timeout":
                let text = try value(for: option, inline: inline)
                guard let seconds = Double(text), seconds > 0, seconds.isFinite else {
                    throw UsageError("--timeout needs a positive number of seconds, not '\(text)'")
                }
                timeoutSeconds = seconds
            case "-h", "--help":
                wantsHelp = true
            default:
                if commandName == nil {
                    guard argument == "-" || !argument.hasPrefix("-") else {
                        throw UsageError("unknown option '\(argument)' before the command")
                    }
                    commandName = argument
                } else {
                    words.append(argument)
                    // A parameter's value is the next argument whatever it looks like, even "--socket".
                    if argument.hasPrefix("--"), inline == nil, index + 1 < arguments.count {
                        index += 1
                        words.append(arguments[index])
                    }
                }
            }
            index += 1
        }

        if wantsHelp {
            let topic = commandName.map(wireName).flatMap { CommandCatalog.command(named: $0)?.name }
            return CommandLineRequest(socketPath: socketPath, timeoutSeconds: timeoutSeconds,
                                      action: .help(command: topic))
        }
        let action: Action
        switch commandName {
        case nil, "-"?:
            guard words.isEmpty else { throw UsageError("raw mode reads requests from stdin and takes no parameters") }
            action = .raw
        case "help"?:
            guard words.count <= 1 else { throw UsageError("help takes at most one command name") }
            let topic = words.first.map(wireName)
            if let topic, CommandCatalog.command(named: topic) == nil {
                throw UsageError("unknown command '\(topic)'")
            }
            action = .help(command: topic)
        case let name?:
            action = .command(name: wireName(name), parameters: try parameters(for: wireName(name), words))
        }
        return CommandLineRequest(socketPath: socketPath, timeoutSeconds: timeoutSeconds, action: action)
    }

    /// The `params` object for `command` from `--name value` words.
    public static func parameters(for command: String, _ words: [String]) throws(UsageError) -> [String: JSONValue] {
        guard let descriptor = CommandCatalog.command(named: command) else {
            throw UsageError("unknown command '\(command)'; 'relyctl help' lists them "
                             + "(raw JSON requests on stdin reach any command)")
        }
        var parameters: [String: JSONValue] = [:]
        var index = 0
        while index < words.count {
            let (option, inline) = split(words[index])
            guard option.hasPrefix("--"), option.count > 2 else {
                throw UsageError("expected --parameter-name, found '\(words[index])'")
            }
            let name = wireName(String(option.dropFirst(2)))
            guard let parameter = descriptor.parameter(named: name) else {
                let known = descriptor.parameters.map { "--" + $0.name.replacingOccurrences(of: "_", with: "-") }
                throw UsageError("'\(command)' has no parameter '\(name)'"
                                 + (known.isEmpty ? "" : "; it takes \(known.joined(separator: ", "))"))
            }
            let text: String
            if let inline {
                text = inline
            } else {
                index += 1
                guard index < words.count else { throw UsageError("--\(option.dropFirst(2)) needs a value") }
                text = words[index]
            }
            index += 1

            switch parameter.kind {
            case .strings:
                let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                    .filter { !$0.isEmpty }.map(JSONValue.string)
                parameters[name] = .array((parameters[name]?.arrayValue ?? []) + items)
                continue
            case _ where parameters[name] != nil:
                throw UsageError("'\(name)' is given twice")
            case .string:
                parameters[name] = .string(text)
            case .integer:
                guard let number = Int64(text) else { throw UsageError("'\(name)' must be an integer, not '\(text)'") }
                parameters[name] = .integer(number)
            case .object:
                guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)),
                      let object = value.objectValue, object.values.allSatisfy({ $0.stringValue != nil })
                else {
                    throw UsageError("'\(name)' must be a JSON object of strings, like '{\"login_hint\":\"alice\"}'")
                }
                parameters[name] = .object(object)
            case .jsonObject:
                guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)),
                      let object = value.objectValue
                else {
                    throw UsageError("'\(name)' must be a JSON object, like '{\"userinfo\":{\"email\":null}}'")
                }
                parameters[name] = .object(object)
            }
        }
        return parameters
    }

    /// The text of `relyctl help` (no topic) or `relyctl help <command>`.
    public static func helpText(command: String?) -> String {
        if let command, let descriptor = CommandCatalog.command(named: command) {
            var lines = ["relyctl \(descriptor.name.replacingOccurrences(of: "_", with: "-")): \(descriptor.summary)", ""]
            if descriptor.parameters.isEmpty { lines.append("No parameters.") }
            for parameter in descriptor.parameters {
                let flag = "--" + parameter.name.replacingOccurrences(of: "_", with: "-")
                let note = parameter.isRequired ? "required" : "optional"
                lines.append("  \(flag.padding(toLength: 32, withPad: " ", startingAt: 0)) \(parameter.kind.rawValue), \(note)")
            }
            return lines.joined(separator: "\n")
        }
        var lines = [
            "usage: relyctl [--socket PATH] [--timeout SECONDS] <command> [--param-name value ...]",
            "       relyctl [--socket PATH] [--timeout SECONDS] [-]     (JSON request lines on stdin)",
            "       relyctl help [<command>]",
            "",
            "The socket is --socket, else $RELYD_SOCKET, else ./.relyd/relyd.sock.",
            "Arrays: repeat the option or separate with commas. custom_parameters: a JSON object of strings.",
            "Exit status: 0 ok, 1 the daemon answered with an error, 2 usage error, 3 connection failure.",
            "",
            "Commands:",
        ]
        // The column fits the longest name: `padding(toLength:)` would cut a longer one off.
        let width = CommandCatalog.commands.map(\.name.count).max() ?? 0
        for descriptor in CommandCatalog.commands {
            lines.append("  \(descriptor.name.padding(toLength: width, withPad: " ", startingAt: 0)) \(descriptor.summary)")
        }
        return lines.joined(separator: "\n")
    }

    /// JSON for people: sorted keys, indented, slashes unescaped.
    public static func prettyJSON(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "\(value)" }
        return String(decoding: data, as: UTF8.self)
    }

    private static func split(_ argument: String) -> (option: String, inline: String?) {
        guard argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") else { return (argument, nil) }
        return (String(argument[..<equals]), String(argument[argument.index(after: equals)...]))
    }

    private static func wireName(_ name: String) -> String {
        name.replacingOccurrences(of: "-", with: "_")
    }
}
