import Testing
@testable import MamoriCore

@Suite("mountinfo")
struct MountInfoTests {
    static let sample = """
        22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro
        98 22 8:17 / /media/user/STICK\\040ONE rw,nosuid,nodev,relatime shared:50 - vfat /dev/sdb1 rw,fmask=0022
        99 22 8:18 / /mnt/ro ro,relatime - ext4 /dev/sdb2 ro
        100 22 8:19 / /mnt/sbro rw,relatime - ext4 /dev/sdb3 ro,errors=continue
        garbage line
        101 22 8:x / /mnt/bad rw - ext4 /dev/sdb4 rw

        """

    @Test func parsesEntriesAndSkipsMalformedLines() {
        let entries = MountInfo.parse(Self.sample)
        #expect(entries.count == 4)
        #expect(entries[1].major == 8 && entries[1].minor == 17)
        #expect(entries[1].mountPoint == "/media/user/STICK ONE")
        #expect(entries[1].fsType == "vfat")
        #expect(entries[1].source == "/dev/sdb1")
    }

    @Test func writableNeedsBothMountAndSuperblockRW() {
        let entries = MountInfo.parse(Self.sample)
        #expect(entries.map(\.isWritable) == [true, true, false, false])
    }

    @Test func hostileTextNeverTraps() {
        for text in ["- - - - - - - -", "1 2 3:4 / / rw - \\", "1 2 3:4 \\12 \\777 rw - x y z", String(repeating: "\\", count: 50)] {
            _ = MountInfo.parse(text)
        }
        #expect(MountInfo.unescape("a\\040b\\") == "a b\\")
        #expect(MountInfo.unescape("\\999") == "\\999")
    }
}
