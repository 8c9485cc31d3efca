#!/usr/bin/env python3
"""Regenerates the recorded nft JSON in Tests/MamoriCoreTests/Fixtures/NftFixtures.swift.

Each `static let NAMESource` ruleset is loaded with `nft -f` in a throwaway network namespace
(`unshare -n`, so the host's firewall is untouched) and `static let NAME` is replaced with what
`nft -j list ruleset` prints. Needs root and the nftables package (scripts/install-deps.sh).
"""
import json, pathlib, re, subprocess, tempfile

path = pathlib.Path(__file__).resolve().parent.parent / "Tests/MamoriCoreTests/Fixtures/NftFixtures.swift"
text = path.read_text()
for name, body in re.findall(r'static let (\w+)Source = #"""\n(.*?)\n\s*"""#', text, re.S):
    source = "\n".join(line[8:] for line in body.split("\n")) + "\n"
    with tempfile.NamedTemporaryFile("w", suffix=".nft") as f:
        f.write(source)
        f.flush()
        result = subprocess.run(["unshare", "-n", "sh", "-c", 'nft -f "$0" && nft -j list ruleset', f.name],
                                capture_output=True, text=True, check=True)
    listed = result.stdout.strip()
    json.loads(listed)
    text = re.sub(rf'(static let {name} = #"""\n        ).*?(\n        """#)', lambda m: m.group(1) + listed + m.group(2), text, flags=re.S)
path.write_text(text)
print("nft-fixtures: regenerated", path)
