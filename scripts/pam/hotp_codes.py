#!/usr/bin/env python3
"""Prints COUNT HOTP codes (RFC 4226, HMAC-SHA1, 6 digits) for counters START.. of a hex secret:
the second-factor benchmark's token, computed independently of the code under test."""
import hashlib
import hmac
import struct
import sys


def hotp(secret: bytes, counter: int, digits: int = 6) -> str:
    mac = hmac.new(secret, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def main() -> None:
    secret, start, count = bytes.fromhex(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    # RFC 4226 Appendix D, counter 0 and 9: the generator checks itself before it is trusted.
    rfc = b"12345678901234567890"
    assert hotp(rfc, 0) == "755224" and hotp(rfc, 9) == "520489", "HOTP generator is wrong"
    sys.stdout.write("".join(hotp(secret, c) + "\n" for c in range(start, start + count)))


if __name__ == "__main__":
    main()
