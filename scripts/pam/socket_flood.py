#!/usr/bin/env python3
"""A hostile local user against the PAM socket (tests and scripts/pam-flood-bench.sh).

Run as a non-root uid (setpriv --reuid). Every loop is bounded in count and time, and the only
target is the Unix socket path given (this machine only).

  socket_flood.py SOCKET silent N SECONDS    hold N connections open, sending nothing; reopen
                                             any the agent closes, until SECONDS pass
  socket_flood.py SOCKET trickle N SECONDS   the same, sending one byte of a frame every 1.5 s
  socket_flood.py SOCKET requests COUNT USER send COUNT complete requests asking about USER,
                                             one after another, each on its own connection

Prints one line of key=value results on stdout when done (SIGTERM ends a hold early).
"""
import os
import signal
import socket
import struct
import sys
import time


def frame(user, service="flood", tty="pts/9", rhost="", code="000000"):
    body = b"MA" + bytes([1, 1])
    for field in (user, service, tty, rhost, code):
        data = field.encode()
        body += struct.pack(">H", len(data)) + data
    return struct.pack(">I", len(body)) + body


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.connect(path)
    except (BlockingIOError, InterruptedError):
        pass
    except OSError:
        s.close()
        return None
    return s


STOP = []


def stop(signum, frame_):
    STOP.append(signum)


def hold(path, count, seconds, trickle):
    end = time.monotonic() + seconds
    signal.signal(signal.SIGTERM, stop)
    # A parent started from a thread that blocks SIGTERM (a test runner's) hands the mask on.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    opened = closed_by_agent = 0
    sockets = {}
    payload = frame("root")
    next_byte = {}
    while time.monotonic() < end and not STOP:
        while len(sockets) < count and time.monotonic() < end:
            s = connect(path)
            if s is None:
                time.sleep(0.01)
                break
            opened += 1
            sockets[s.fileno()] = s
            next_byte[s.fileno()] = (0, time.monotonic() + 1.5)
        now = time.monotonic()
        for fd, s in list(sockets.items()):
            try:
                data = s.recv(64)
                if data == b"":
                    raise ConnectionResetError
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                closed_by_agent += 1
                s.close()
                del sockets[fd]
                continue
            if trickle:
                sent, due = next_byte[fd]
                if now >= due and sent < len(payload):
                    try:
                        s.send(payload[sent:sent + 1])
                        next_byte[fd] = (sent + 1, now + 1.5)
                    except OSError:
                        pass
        time.sleep(0.005)
    for s in sockets.values():
        s.close()
    print(f"mode={'trickle' if trickle else 'silent'} target={count} opened={opened} closed_by_agent={closed_by_agent}")


def requests(path, count, user):
    answered = refused = 0
    payload = frame(user)
    for _ in range(count):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect(path)
            s.sendall(payload)
            data = s.recv(4096)
            if data:
                answered += 1
            else:
                refused += 1
        except OSError:
            refused += 1
        finally:
            s.close()
    print(f"mode=requests sent={count} answered={answered} unanswered={refused}")


def main():
    if len(sys.argv) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    path, mode = sys.argv[1], sys.argv[2]
    if os.getuid() == 0:
        print("socket_flood.py: run me as a non-root uid", file=sys.stderr)
        return 2
    if mode in ("silent", "trickle"):
        count, seconds = int(sys.argv[3]), float(sys.argv[4])
        if not (0 < count <= 4096 and 0 < seconds <= 600):
            return 2
        hold(path, count, seconds, mode == "trickle")
    elif mode == "requests":
        count = int(sys.argv[3])
        if not 0 < count <= 100000:
            return 2
        requests(path, count, sys.argv[4])
    else:
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
