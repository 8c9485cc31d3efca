"""Replace one `## ` section of docs/benchmarks.md (or append it), leaving the others as they are.

Usage: bench_splice.py DOC SECTION_FILE HEADING_PREFIX
"""
import sys

doc_path, section_path, heading = sys.argv[1], sys.argv[2], sys.argv[3]
lines = open(doc_path, encoding="utf-8").read().splitlines(keepends=True)
section = open(section_path, encoding="utf-8").read().lstrip("\n")
start = next((i for i, line in enumerate(lines) if line.startswith(heading)), None)
if start is None:
    text = "".join(lines).rstrip("\n") + "\n\n" + section
else:
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    rest = "".join(lines[end:])
    text = "".join(lines[:start]) + section + ("\n" + rest if rest else "")
open(doc_path, "w", encoding="utf-8").write(text)
