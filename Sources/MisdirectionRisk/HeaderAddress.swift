/// One mailbox of an RFC 5322 address header (To, Cc, Bcc, From, Reply-To): its display name
/// (with any comment text) and its address.
public struct HeaderAddress: Sendable, Hashable {
    /// The display name and comments, unquoted; empty when there are none.
    public let displayName: String
    /// The address; nil when the mailbox could not be parsed.
    public let address: EmailAddress?

    public init(displayName: String, address: EmailAddress?) {
        self.displayName = displayName
        self.address = address
    }

    /// Splits an address-list header value into mailboxes: `"J. Smith (army.mil)" <j@army.ml>,
    /// k@army.mil (Kay)`. Groups (`team: a@x, b@y;`) are flattened. The address itself is parsed
    /// by ``EmailAddress/parsePath(_:)``.
    public static func parseList(_ value: String) -> [HeaderAddress] {
        var mailboxes: [HeaderAddress] = []
        var display = "", addressText = "", angle = ""
        var inQuotes = false, escaped = false, commentDepth = 0, inAngle = false
        func finish() {
            let spec = inAngle || !angle.isEmpty ? angle : addressText
            let trimmedSpec = spec.trimmingSpaces
            if !trimmedSpec.isEmpty {
                let path = EmailAddress.parsePath(trimmedSpec.utf8)
                let address: EmailAddress? = if case .address(let parsed) = path { parsed } else { nil }
                let name = (angle.isEmpty ? display : display + " " + addressText)
                mailboxes.append(HeaderAddress(displayName: name.collapsingSpaces, address: address))
            }
            display = ""; addressText = ""; angle = ""; inAngle = false
        }
        for character in value {
            if escaped {
                if commentDepth > 0 || inQuotes { display.append(character) }
                escaped = false
                continue
            }
            switch character {
            case "\\" where inQuotes || commentDepth > 0:
                escaped = true
            case "\"" where commentDepth == 0 && !inAngle:
                inQuotes.toggle()
            case "(" where !inQuotes && !inAngle:
                commentDepth += 1
                if commentDepth > 1 { display.append(character) } else { display.append(" ") }
            case ")" where !inQuotes && commentDepth > 0:
                commentDepth -= 1
                if commentDepth > 0 { display.append(character) } else { display.append(" ") }
            case "<" where !inQuotes && commentDepth == 0:
                inAngle = true
                display += addressText
                addressText = ""
            case ">" where inAngle:
                inAngle = false
                angle = angle.isEmpty ? " " : angle
            case "," where !inQuotes && commentDepth == 0 && !inAngle:
                finish()
            case ":" where !inQuotes && commentDepth == 0 && !inAngle && angle.isEmpty:
                // A group's name: what came before is not a mailbox.
                display = ""; addressText = ""
            case ";" where !inQuotes && commentDepth == 0 && !inAngle:
                finish()
            case "\r", "\n", "\t":
                if inQuotes || commentDepth > 0 { display.append(" ") } else if !inAngle { addressText.append(" ") }
            default:
                if inQuotes || commentDepth > 0 {
                    display.append(character)
                } else if inAngle {
                    angle.append(character)
                } else {
                    addressText.append(character)
                }
            }
        }
        finish()
        return mailboxes
    }
}

extension String {
    /// Runs of spaces as one, without leading or trailing spaces.
    var collapsingSpaces: String {
        split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }
}
