import Foundation
import Testing

/// The control tool shares the settings loader with the daemon, not the daemon itself.
@Suite struct LinkTests {
    /// Mangled Swift symbols start with the module's name, its length first: `$s13StretchDaemon...`.
    static func mentions(_ binary: String, _ module: String) throws -> Bool {
        let bytes = try Data(contentsOf: Binaries.directory.appendingPathComponent(binary))
        return bytes.range(of: Data("\(module.utf8.count)\(module)".utf8)) != nil
    }

    @Test func stretchctlDoesNotLinkTheDaemon() throws {
        #expect(try Self.mentions("stretchd", "StretchDaemon"), "stretchd is the control: it has StretchDaemon")
        #expect(try !Self.mentions("stretchctl", "StretchDaemon"), "stretchctl links StretchDaemon")
        #expect(try Self.mentions("stretchctl", "StretchSettings"))
    }

    /// The control socket is served on the daemon's own event loop: SwiftNIO's code pages and its event-loop
    /// thread cost about 1 MiB of idle memory.
    @Test func neitherBinaryLinksSwiftNIO() throws {
        for module in ["NIOCore", "NIOPosix"] {
            #expect(try !Self.mentions("stretchd", module), "stretchd links \(module)")
            #expect(try !Self.mentions("stretchctl", module), "stretchctl links \(module)")
        }
    }

    /// The daemon parses its three options itself: ArgumentParser's code pages cost idle memory (stretchctl keeps it).
    @Test func stretchdLinksNoArgumentParser() throws {
        #expect(try !Self.mentions("stretchd", "ArgumentParser"))
        #expect(try Self.mentions("stretchctl", "ArgumentParser"))
    }
}
