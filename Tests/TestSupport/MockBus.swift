import DBus
import EpollExecutor
import Logging

/// A `PrivateBus` and a connection of the test's own to it (`driver`), processed on the test's loop: to start
/// python-dbusmock peers and wait for their names (subscribed first: no sleeping, no polling), and to drive them
/// through their `org.freedesktop.DBus.Mock` interface. `stop()` closes the connection and ends the bus.
public struct MockBus: Sendable {
    public static let mockInterface = "org.freedesktop.DBus.Mock"

    public let bus: PrivateBus
    public let driver: BusConnection

    /// Starts a bus (see `PrivateBus.init(listen:)`) and connects to it on `loop`.
    public init(on loop: EpollLoop, listen: String? = nil) throws {
        bus = try PrivateBus(listen: listen)
        do {
            driver = try BusConnection.connect(address: bus.address, loop: loop)
        } catch {
            bus.stop()
            throw error
        }
    }

    public var address: String { bus.address }

    /// Starts `python3 -m dbusmock` with `arguments` and returns once `name` has an owner; returns the owner `name`
    /// had before it started (nil, unless another peer had it: then it does not wait).
    @discardableResult
    public func startMock(_ arguments: [String], owning name: String) async throws -> String? {
        let (owner, changes) = try await driver.watchNameOwner(name)
        try bus.startMock(arguments)
        if owner == nil {
            for try await change in changes where change.newOwner != nil { break }
        }
        return owner
    }

    /// A plain mock: `name` on the bus with an object at `path` whose interface is `interface`.
    public func startMock(name: String, path: String, interface: String) async throws {
        try await startMock([name, path, interface], owning: name)
    }

    /// Terminates the mocks (`PrivateBus.stopMocks()`) and returns once `name` has no owner.
    public func stopMocks(owning name: String) async throws {
        let (owner, changes) = try await driver.watchNameOwner(name)
        bus.stopMocks()
        if owner != nil {
            for try await change in changes where change.newOwner == nil { break }
        }
    }

    /// Calls `member` of `interface` (by default dbusmock's control interface: `AddMethod`, `AddProperty`,
    /// `UpdateProperties`, `EmitSignal`, `GetCalls`...) on the object at `path` of `destination`.
    @discardableResult
    public func call(
        _ destination: String, _ path: String, _ member: String, _ arguments: [BusValue] = [],
        interface: String = MockBus.mockInterface, timeout: Duration? = nil
    ) async throws -> BusMessage {
        try await driver.call(
            MethodCall(destination: destination, path: path, interface: interface, member: member, arguments: arguments),
            timeout: timeout)
    }

    /// The mock's object at `path` emits signal `name` of `interface` (dbusmock's `EmitSignal`).
    public func emit(
        _ destination: String, _ path: String, interface: String, _ name: String, _ signature: String,
        _ arguments: [BusValue]
    ) async throws {
        try await call(
            destination, path, "EmitSignal",
            [.string(interface), .string(name), .string(signature), .array(.variant, arguments.map { .variant($0) })])
    }

    /// Sets properties of a mocked object, in order, each emitting PropertiesChanged with its value as the real
    /// service would. (Through `Properties.Set`: dbusmock's `UpdateProperties` cannot carry a structure.)
    public func setProperties(
        _ destination: String, _ path: String, _ interface: String, _ values: KeyValuePairs<String, BusValue>
    ) async throws {
        for (name, value) in values {
            try await call(
                destination, path, "Set", [.string(interface), .string(name), .variant(value)],
                interface: "org.freedesktop.DBus.Properties")
        }
    }

    public func stop() {
        driver.close()
        bus.stop()
    }
}

extension BusConnections {
    /// Connections that open `address(bus)`: private buses standing in for the session and the system bus.
    public static func opening(
        loop: EpollLoop, logger: Logger, _ address: @escaping @Sendable (Bus) -> String
    ) -> BusConnections {
        BusConnections(loop: loop, logger: logger) { bus, loop throws(BusError) in
            try BusConnection.connect(address: address(bus), loop: loop)
        }
    }

    /// Connections that open `address` for either bus.
    public static func opening(_ address: String, loop: EpollLoop, logger: Logger) -> BusConnections {
        opening(loop: loop, logger: logger) { _ in address }
    }
}
