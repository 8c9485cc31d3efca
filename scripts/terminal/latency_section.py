#!/usr/bin/python3
"""The real-terminal stage's attach → BLKROSET latencies as a docs/benchmarks.md section.

`latency_section.py LATENCY_JSON ACCEL` prints the section (scripts/bench.sh splices it in).
LATENCY_JSON is what the guest's latency scenario wrote: {"latencies_ms": [...], "kernel": ...}.
"""
import datetime
import json
import statistics
import sys


def percentile(values, fraction):
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * (len(ordered) - 1))))
    return ordered[index]


data = json.load(open(sys.argv[1], encoding="utf-8"))
accel = sys.argv[2]
values = data["latencies_ms"]
if not values:
    sys.exit("no latencies")
date = datetime.date.today().isoformat()
print("## Removable media on a real kernel: hot-plug → BLKROSET (real-terminal stage)\n")
print(f"Measured by `make terminal-test` (scenario `latency`, scripts/terminal/guest-test.sh) on {date}:")
print(f"a Debian 12 guest (kernel {data.get('kernel', '?')}) under QEMU ({accel}"
      + (", software emulation: every guest instruction is emulated, so these times are upper bounds" if accel == "tcg" else "")
      + f") on this machine, the packages installed, `mamori-agent` running under its unit.")
print("A 64 MiB stick (DOS table, one ext4 partition) is hot-plugged through QMP `device_add usb-storage`")
print("on a qemu-xhci controller; the time runs from the kernel's `add` uevent for the disk (as")
print("`udevadm monitor --kernel` receives it) until `/sys/block/sdX/ro` reads 1, polled every 1 ms.")
print("The stick is unplugged after each trial. Compare the loop-device figure above (no USB stack,")
print("no emulation).\n")
print("| measure | trials | p50 (ms) | p99 (ms) | max (ms) |")
print("|---|---|---|---|---|")
print(f"| hot-plug `add` uevent → `ro` reads 1 (udev rule, helper, profile, BLKROSET) | {len(values)} | "
      f"{statistics.median(values):.1f} | {percentile(values, 0.99):.1f} | {max(values):.1f} |")
