#!/usr/bin/env python3
"""Independent check of docs/journal-vectors.json against docs/journal-format.md.

Re-implements the journal's canonical encoding, record hash, MAC, key evolution and checkpoint
signature with Python's standard library (plus the `cryptography` package for Ed25519), so the
format document is shown to be implementable without Mamori's code. Exit 0 when every vector
matches; 1 with the first mismatch otherwise.
"""
import hashlib
import hmac
import json
import struct
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ORDER = ["seq", "time", "host", "kind", "epoch", "prev", "payload"]


def canonical(value):
    """Canonical JSON: sorted keys (by UTF-8 bytes), no spaces, raw UTF-8, integers only."""
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: kv[0].encode("utf-8"))
        return "{" + ",".join(canonical(k) + ":" + canonical(v) for k, v in items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    raise ValueError("floats are not allowed")


def body(record):
    return "{" + ",".join(canonical(k) + ":" + canonical(record[k]) for k in ORDER) + "}"


def evolve(key, epoch):
    return hmac.new(key, b"mamori-journal-v1/evolve\n" + struct.pack(">Q", epoch + 1), hashlib.sha256).digest()


def main(path):
    vectors = json.load(open(path, encoding="utf-8"))
    keys = [bytes.fromhex(vectors["k0"])]
    if evolve(keys[0], 0).hex() != vectors["k1"]:
        return fail("K1 is not HMAC-SHA256(K0, domain || u64be(1))")
    public_key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(vectors["host_public_key"]))
    prev = "00" * 32
    for index, vector in enumerate(vectors["records"]):
        line = vector["line"]
        record = json.loads(line)
        if list(record.keys()) != ORDER + ["mac"]:
            return fail(f"record {index}: members out of order")
        encoded_body = body(record)
        if encoded_body[:-1] + ',"mac":"' + record["mac"] + '"}' != line:
            return fail(f"record {index}: canonical re-encoding differs from the stored line")
        digest = hashlib.sha256(b"mamori-journal-v1/record\n" + encoded_body.encode("utf-8")).digest()
        if digest.hex() != vector["hash"]:
            return fail(f"record {index}: hash differs")
        if record["prev"] != prev or record["seq"] != index:
            return fail(f"record {index}: chain broken")
        while len(keys) <= record["epoch"]:
            keys.append(evolve(keys[-1], len(keys) - 1))
        mac = hmac.new(keys[record["epoch"]], b"mamori-journal-v1/mac\n" + digest, hashlib.sha256).hexdigest()
        if mac != record["mac"]:
            return fail(f"record {index}: MAC differs")
        if record["kind"] == "journal.checkpoint":
            payload = record["payload"]
            host = record["host"].encode("utf-8")
            message = (b"mamori-journal-v1/checkpoint\n" + struct.pack(">I", len(host)) + host
                       + struct.pack(">Q", payload["records"]) + bytes.fromhex(payload["head"])
                       + struct.pack(">Q", payload["epoch"]))
            public_key.verify(bytes.fromhex(payload["sig"]), message)
        prev = vector["hash"]
    print(f"journal vectors: {len(vectors['records'])} records match (encoding, hash, MAC, key evolution, signature)")
    return 0


def fail(message):
    print("journal vectors: MISMATCH: " + message)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/journal-vectors.json"))
