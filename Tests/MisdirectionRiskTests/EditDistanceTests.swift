import MisdirectionRisk
import Testing

struct EditDistanceTests {
    @Test("measures optimal-string-alignment distance up to a limit", arguments: [
        ("army.mil", "army.mil", 0), ("army.mil", "arny.mil", 1), ("army.mil", "amry.mil", 1),
        ("homeoffice.gov.uk", "homefficte.gov.uk", 2), ("homeoffice", "homeoffixxe", 2),
    ])
    func distance(a: String, b: String, expected: Int) {
        #expect(EditDistance.distance(Array(a.utf8), Array(b.utf8), limit: 2) == expected)
    }

    @Test("gives nil beyond the limit")
    func beyond() {
        #expect(EditDistance.distance(Array("army".utf8), Array("navy".utf8), limit: 2) == nil)
    }

    @Test("names the single edit between two strings", arguments: [
        ("army", "arny", Edit.substitution(at: 2, intended: UInt8(ascii: "m"), observed: UInt8(ascii: "n"))),
        ("army", "amry", .transposition(at: 1)),
        ("army", "armmy", .insertion(at: 3, observed: UInt8(ascii: "m"))),
        ("army", "amy", .omission(at: 1, intended: UInt8(ascii: "r"))),
        ("army", "army", .identical),
    ])
    func singleEdit(intended: String, observed: String, edit: Edit) {
        let found = Array(intended.utf8).withUnsafeBufferPointer { a in
            Array(observed.utf8).withUnsafeBufferPointer { b in EditDistance.singleEdit(from: a, to: b) }
        }
        #expect(found == edit)
    }

    @Test("finds no single edit between strings two edits apart")
    func noSingleEdit() {
        let found = Array("army".utf8).withUnsafeBufferPointer { a in
            Array("nvay".utf8).withUnsafeBufferPointer { b in EditDistance.singleEdit(from: a, to: b) }
        }
        #expect(found == nil)
    }
}
