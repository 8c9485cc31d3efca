#!/usr/bin/python3
"""QMP client for the real-terminal stage: `qmp.py SOCKET COMMAND [JSON-ARGUMENTS]`.

Negotiates capabilities, sends one command, prints the `return` value as JSON and exits 0, or
prints the error and exits 1. Asynchronous events in between are skipped.
"""
import json
import socket
import sys


def main() -> int:
    path, command = sys.argv[1], sys.argv[2]
    arguments = json.loads(sys.argv[3]) if len(sys.argv) > 3 else None
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.settimeout(30)
    connection.connect(path)
    stream = connection.makefile("rw", encoding="utf-8", newline="\n")

    def read_reply():
        while True:
            line = stream.readline()
            if not line:
                raise SystemExit("qmp: connection closed")
            message = json.loads(line)
            if "event" in message:
                continue
            return message

    stream.readline()  # the greeting
    stream.write(json.dumps({"execute": "qmp_capabilities"}) + "\n")
    stream.flush()
    read_reply()
    request = {"execute": command}
    if arguments is not None:
        request["arguments"] = arguments
    stream.write(json.dumps(request) + "\n")
    stream.flush()
    reply = read_reply()
    if "error" in reply:
        print(json.dumps(reply["error"]), file=sys.stderr)
        return 1
    print(json.dumps(reply.get("return")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
