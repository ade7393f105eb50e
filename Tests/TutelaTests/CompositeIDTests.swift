import Testing

@testable import Tutela

/// The names Tutela builds from several parts — a group's recipient name, a shred key's name, a
/// share's and a member box's id — are made and parsed in one place each, and round-trip.
@Suite("Composite ids")
struct CompositeIDTests {
    @Test("recipients: a person or a group key at a version, and nothing else")
    func recipients() {
        #expect(Recipient("price") == .person("price"))
        #expect(
            Recipient("group:safeguarding-officer#2") == .group(.safeguardingOfficer, version: 2))
        #expect(
            Recipient.group(.headOfCentre, version: 12).description == "group:head-of-centre#12")
        for bad in [
            "", "group:", "group:tutor", "group:tutor#", "group:tutor#0", "group:tutor#01",
            "group:nobody#1", "group:tutor#1#2", "-price", "pri ce",
        ] {
            #expect(Recipient(bad) == nil, "\(bad)")
        }
    }

    @Test("shred key names: the record for generation 1, RECORD#N after")
    func shredKeys() {
        let first = ShredKeyID(record: "R-AAAA-BBBB-CCCC", generation: 1)
        #expect(first.description == "R-AAAA-BBBB-CCCC")
        #expect(ShredKeyID(first.description) == first)
        let third = ShredKeyID(record: "R-AAAA-BBBB-CCCC", generation: 3)
        #expect(third.description == "R-AAAA-BBBB-CCCC#3")
        #expect(ShredKeyID(third.description) == third)
        for bad in ["", "R-1#1", "R-1#0", "R-1#x", "R-1#03", "#2", "R 1"] {
            #expect(ShredKeyID(bad) == nil, "\(bad)")
        }
    }

    @Test("share and member box ids round-trip and refuse what names no record or group")
    func sharesAndBoxes() {
        let share = ShareID(record: "R-1", holder: .group(.tutor, version: 1))
        #expect(share.description == "R-1/group:tutor#1")
        #expect(ShareID(share.description) == share)
        #expect(ShareID("R-1") == nil && ShareID("R-1/group:nobody#1") == nil)
        let box = MemberBoxID(group: .group(.tutor, version: 2), member: "jones")
        #expect(box.description == "group:tutor#2/jones")
        #expect(MemberBoxID(box.description) == box)
        #expect(MemberBoxID("price/jones") == nil && MemberBoxID("group:tutor#2/") == nil)
    }
}
