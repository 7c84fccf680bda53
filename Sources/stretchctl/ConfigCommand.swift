import ArgumentParser
import StretchConfig
import StretchSystem

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Show where the config file is, or print a documented default one.",
        discussion: """
            To start your own: stretchctl config --default > ~/.config/stretchd/config.toml
            """
    )

    @Flag(name: .customLong("default"), help: "Print a config file with every key at its default, explained.")
    var printDefault = false

    func run() throws {
        if printDefault {
            print(DaemonConfig.defaultFile, terminator: "")
            return
        }
        let path = XDGPaths.current.configFile
        switch Files.readBytes(path, limit: Files.maximumSize) {
        case .success: print("\(path) (in use)")
        case .failure: print("\(path) (absent: built-in defaults are used; see `stretchctl config --default`)")
        }
    }
}
