#!/usr/bin/python3
"""Console login on the real-terminal guest's serial getty (ttyS1, a UNIX socket on the host).

`console_login.py SOCKET USER PASSWORD CODE`: waits for `login:`, answers the user name, the
password and pam_mamori's "Verification code: ", then asks the shell to print a marker. Prints
"accepted" when the marker comes back, else "refused" with the last lines the console showed.
Always exits 0 (the guest judges the outcome); exits 1 only when the console cannot be reached.
"""
import re
import socket
import sys
import time


def main() -> int:
    path, user, password, code = sys.argv[1:5]
    console = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    console.settimeout(1)
    try:
        console.connect(path)
    except OSError as error:
        print(f"cannot reach the console: {error}")
        return 1
    seen = b""

    def wait_for(pattern: bytes, seconds: float, poke: bytes = b"") -> bool:
        nonlocal seen
        deadline = time.monotonic() + seconds
        next_poke = 0.0
        while time.monotonic() < deadline:
            if poke and time.monotonic() >= next_poke:
                console.sendall(poke)
                next_poke = time.monotonic() + 5
            try:
                data = console.recv(4096)
            except socket.timeout:
                continue
            if not data:
                return False
            seen += data
            if re.search(pattern, seen):
                return True
        return False

    def send(text: str) -> None:
        nonlocal seen
        seen = b""
        console.sendall(text.encode() + b"\r")

    # A fresh getty prompt: poke it with an empty line until `login:` shows.
    if not wait_for(rb"login: ?$", 90, poke=b"\r"):
        print("refused: no login prompt:", seen[-200:].decode(errors="replace"))
        return 0
    send(user)
    if not wait_for(rb"[Pp]assword: ?$", 30):
        print("refused: no password prompt:", seen[-200:].decode(errors="replace"))
        return 0
    send(password)
    if not wait_for(rb"Verification code: ?$|Login incorrect", 60):
        print("refused: no verification code prompt:", seen[-200:].decode(errors="replace"))
        return 0
    if b"Login incorrect" in seen:
        print("refused: the password was not accepted")
        return 0
    send(code)
    # A shell prompt, or login's refusal (then a new `login:` after its delay).
    wait_for(rb"[$#] ?$|Login incorrect|login: ?$", 60)
    if b"Login incorrect" in seen or re.search(rb"login: ?$", seen):
        print("refused:", seen[-200:].decode(errors="replace").replace("\r", " ").replace("\n", " "))
        return 0
    send("echo MAMORI-CONSOLE-$((6 * 7))")
    accepted = wait_for(rb"MAMORI-CONSOLE-42", 30)
    send("exit")
    print("accepted" if accepted else "refused: no shell: " + seen[-200:].decode(errors="replace"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
