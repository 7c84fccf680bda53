import Foundation
import StretchSystem
import Testing

/// One builder of `sockaddr_un` serves the control socket (a path) and sd_notify (a path or an abstract name).
@Suite(.timeLimit(.minutes(1))) struct UnixSocketAddressTests {
    /// A datagram socket bound to `address`, and what arrives on it.
    struct Receiver {
        let fd: Int32

        init(_ address: UnixSocketAddress) throws {
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            let bound = address.withSocketAddress { bind(fd, $0, $1) }
            guard bound == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        func receive() -> String? {
            var buffer = [UInt8](repeating: 0, count: 256)
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            return count < 0 ? nil : String(decoding: buffer[0..<count], as: UTF8.self)
        }
    }

    static func send(_ text: String, to address: UnixSocketAddress) -> Int {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        return text.withCString { bytes in address.withSocketAddress { sendto(fd, bytes, strlen(bytes), 0, $0, $1) } }
    }

    @Test func anAbstractNameWrittenWithAnAtSignReachesTheSocketBoundToThatName() throws {
        let name = "stretchd-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let receiver = try Receiver(try #require(UnixSocketAddress(abstract: name)))
        defer { close(receiver.fd) }
        let notation = try #require(UnixSocketAddress(systemdNotation: "@" + name))
        #expect(Self.send("READY=1", to: notation) == 7)
        #expect(receiver.receive() == "READY=1")
        // The same name with one byte more is another socket: the length counts exactly the name's bytes.
        #expect(Self.send("x", to: try #require(UnixSocketAddress(abstract: name + "x"))) == -1)
    }

    @Test func aPathReachesTheSocketBoundAtThatPath() throws {
        let path = FileManager.default.temporaryDirectory.path + "/stretchd-sock-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(path) }
        let receiver = try Receiver(try #require(UnixSocketAddress(path: path)))
        defer { close(receiver.fd) }
        #expect(Self.send("STATUS=idle", to: try #require(UnixSocketAddress(systemdNotation: path))) == 11)
        #expect(receiver.receive() == "STATUS=idle")
        #expect(withUnixSocketAddress(path) { _, length in length } == socklen_t(MemoryLayout<sockaddr_un>.size))
    }

    @Test func anAddressThatDoesNotFitOrIsNotOneIsRefused() {
        #expect(UnixSocketAddress(path: "/" + String(repeating: "a", count: 106)) != nil)
        #expect(UnixSocketAddress(path: "/" + String(repeating: "a", count: 107)) == nil)
        #expect(UnixSocketAddress(abstract: String(repeating: "a", count: 107)) != nil)
        #expect(UnixSocketAddress(abstract: String(repeating: "a", count: 108)) == nil)
        #expect(UnixSocketAddress(path: "/a\u{0}b") == nil)
        #expect(UnixSocketAddress(systemdNotation: "relative/notify.sock") == nil)
        #expect(withUnixSocketAddress("/" + String(repeating: "a", count: 200)) { _, _ in true } == nil)
    }
}
