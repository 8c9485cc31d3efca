#!/usr/bin/python3
"""Runs a command in a umockdev testbed with BLKROSET emulated.

usage: umockdev_blkroset.py FIXTURE.umockdev -- COMMAND [ARGS...]

Loads the fixture, attaches an ioctl handler to every block-device node in it (umockdev 0.17's
`UMockdev.IoctlBase`), runs COMMAND under the preload library, then prints `blkro NODE=0|1` for
each node on stdout after COMMAND's own output, and exits with COMMAND's status. Used by the media
guard's umockdev stage (Tests/MamoriCLITests/MediaUmockdevTests.swift).
"""
import os
import struct
import sys

import gi

gi.require_version("UMockdev", "1.0")
from gi.repository import GLib, UMockdev  # noqa: E402

BLKROSET = 0x125D  # _IO(0x12, 93)


def block_nodes(fixture):
    nodes = []
    for block in open(fixture, encoding="utf-8").read().split("\n\n"):
        lines = block.splitlines()
        if "E: SUBSYSTEM=block" in lines:
            nodes += [line[len("E: DEVNAME="):] for line in lines if line.startswith("E: DEVNAME=")]
    return nodes


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit(__doc__)
    fixture, command = sys.argv[1], sys.argv[3:]
    read_only = {}

    def handle(_handler, client):
        if client.get_request() != BLKROSET:
            return False
        # The argument is a pointer to an int. PyGObject hands IoctlData.data over as a
        # NUL-terminated string, so pad it back to four bytes (the flag is 0 or 1).
        value = client.get_arg().resolve(0, 4)
        raw = (bytes(value.data) + bytes(4))[:4]
        read_only[client.get_devnode()] = 1 if struct.unpack("<i", raw)[0] else 0
        client.complete(0, 0)
        return True

    testbed = UMockdev.Testbed.new()
    testbed.add_from_file(fixture)
    handler = UMockdev.IoctlBase()
    handler.connect("handle-ioctl", handle)
    nodes = block_nodes(fixture)
    for node in nodes:
        testbed.attach_ioctl(node, handler)
        read_only[node] = 0

    env = dict(os.environ, UMOCKDEV_DIR=testbed.get_root_dir(), LD_PRELOAD="libumockdev-preload.so.0")
    loop = GLib.MainLoop()
    status = {}
    pid, _, _, _ = GLib.spawn_async(command, envp=[f"{k}={v}" for k, v in env.items()],
                                    flags=GLib.SpawnFlags.DO_NOT_REAP_CHILD | GLib.SpawnFlags.SEARCH_PATH)

    def exited(_pid, wait_status):
        status["code"] = os.waitstatus_to_exitcode(wait_status)
        loop.quit()

    GLib.child_watch_add(GLib.PRIORITY_DEFAULT, pid, exited)
    loop.run()
    sys.stdout.flush()
    for node in nodes:
        print(f"blkro {node}={read_only[node]}", flush=True)
    sys.exit(status["code"] if status["code"] >= 0 else 1)


main()
