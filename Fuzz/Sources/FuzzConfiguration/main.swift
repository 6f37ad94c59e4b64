// The configuration loader (MisdirectMilterKit). Every input is a configuration or an error
// naming the file and a line.
import FuzzSupport
import Milter
import MisdirectMilterKit
import MisdirectionRisk

fuzz { bytes in
    let text = String(decoding: bytes, as: UTF8.self)
    let configuration: Configuration
    do throws(ConfigurationError) {
        configuration = try ConfigurationLoader.parse(text, file: "fuzz.yml")
    } catch {
        require(error.file == "fuzz.yml", "error names \(error.file)", input: bytes)
        require(error.line != nil, "error without a line: \(error)", input: bytes)
        require(!error.description.contains("\n"), "error on several lines: \(error)", input: bytes)
        return
    }
    let socket = try? MilterSocket(parsing: configuration.socket.description)
    require(socket == configuration.socket, "socket \(configuration.socket) does not parse back", input: bytes)
    for domain in configuration.protectedDomains + configuration.trustedDomains {
        require(EmailAddress.normalizeDomain(Array(domain.utf8)) == .success(domain), "domain \(domain) not normalised", input: bytes)
    }
}
