import ControlProtocol
import Testing

@Suite struct ControlProtocolTests {
    func decode(_ line: String) -> Result<ControlRequest, ControlError> { ControlRequest.decode(Array(line.utf8)) }

    @Test func requestsRoundTrip() throws {
        let request = ControlRequest(command: .snooze, duration: "15m")
        let line = request.encoded()
        #expect(line.last == UInt8(ascii: "\n"))
        #expect(try decode(String(decoding: line.dropLast(), as: UTF8.self)).get() == request)
        #expect(String(decoding: line, as: UTF8.self) == #"{"command":"snooze","duration":"15m","version":1}"# + "\n")
    }

    @Test(arguments: [
        ("", "not a JSON object"),
        ("[1,2]", "not a JSON object"),
        (#"{"command":"status"}"#, "missing \"version\" (this daemon speaks version 1)"),
        (#"{"version":2,"command":"status"}"#, "protocol version 2.0 is not supported (this daemon speaks version 1)"),
        (#"{"version":1}"#, "missing \"command\" (a string)"),
        (#"{"version":1,"command":7}"#, "missing \"command\" (a string)"),
        (#"{"version":1,"command":"stop","routine":5}"#, "\"routine\" must be a string"),
        (#"{"version":1,"command":"history","days":1.5}"#, "\"days\" must be an integer"),
        (#"{"version":1,"command":"stop","extra":true}"#, "unknown key \"extra\""),
    ])
    func badRequestsAreExplained(line: String, message: String) {
        #expect(decode(line) == .failure(ControlError(message)))
    }

    @Test func repliesRoundTrip() throws {
        let reply = ControlReply(ok: false, error: "no break is due")
        #expect(try ControlReply.decode(reply.encoded().dropLast()) == reply)
    }
}
