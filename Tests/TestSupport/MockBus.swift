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
        let bus = try PrivateBus(listen: listen)
        do {
            try self.init(bus: bus, on: loop)
        } catch {
            bus.stop()
            throw error
        }
    }

    private init(bus: PrivateBus, on loop: EpollLoop) throws {
        self.bus = bus
        driver = try BusConnection.connect(address: bus.address, loop: loop)
    }

    public var address: String { bus.address }

    /// The bus daemon ends, its mocks with it, and it starts again at the same address (`PrivateBus.restart()`),
    /// as a bus that comes back; returns the bus with a new connection of the test's own (this one's is closed).
    /// The mocks are to be started again.
    public func restarted(on loop: EpollLoop) throws -> MockBus {
        driver.close()
        bus.killDaemon()
        bus.stopMocks()
        try bus.restart()
        return try MockBus(bus: bus, on: loop)
    }

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

    /// The name of the forger (`startForger()`): a client like any other, owning nothing the services trust.
    public static let forger = "org.example.Forger"

    /// Starts a second client on the bus that sends signals as it is told (`forge`): a forger, which no
    /// service should believe, as opposed to the mocks' own `EmitSignal`.
    public func startForger() async throws {
        try await startMock(name: Self.forger, path: "/", interface: Self.forger)
        // Forge(destination, path, interface, member, signature, arguments): the signal is sent before the reply,
        // so it reaches the destination before the test goes on.
        try await call(
            Self.forger, "/", "AddMethod",
            [
                .string(Self.forger), "Forge", "sssssav", "",
                """
                import dbus.lowlevel
                message = dbus.lowlevel.SignalMessage(args[1], args[2], args[3])
                if args[0]:
                    message.set_destination(args[0])
                message.append(*args[5], signature=args[4])
                self.connection.send_message(message)
                """,
            ])
    }

    /// The forger sends signal `member` of `interface` from `path` with `arguments`, to `destination` alone (a
    /// unique name: a unicast signal, which the bus delivers whatever the receiver's match rules), or to every
    /// subscriber (nil).
    public func forge(
        to destination: String?, _ path: String, interface: String, _ member: String, _ signature: String,
        _ arguments: [BusValue]
    ) async throws {
        try await call(
            Self.forger, "/", "Forge",
            [
                .string(destination ?? ""), .string(path), .string(interface), .string(member), .string(signature),
                .array(.variant, arguments.map { .variant($0) }),
            ],
            interface: Self.forger)
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
        BusConnections(
            loop: loop, logger: logger,
            open: { bus, loop throws(BusError) in try BusConnection.connect(address: address(bus), loop: loop) },
            address: { address($0) })
    }

    /// Connections that open `address` for either bus.
    public static func opening(_ address: String, loop: EpollLoop, logger: Logger) -> BusConnections {
        opening(loop: loop, logger: logger) { _ in address }
    }
}
