#!/usr/bin/env python3
"""Check a tpwallet inclusion proof without tpwallet or PostgreSQL.

    psql -XAtc "SELECT tpwallet.prove_entry(42)" | tools/verify_proof.py
    tools/verify_proof.py proof.json [--entry-hash HEX] [--block-hash HEX]
    tools/verify_proof.py --self-test

The algorithm is the one documented in docs/architecture.md:
 1. leaf = SHA-256(0x00 || entry_hash)
 2. walk the audit path as in RFC 9162 section 2.1.3.2 (node = SHA-256(0x01 || l || r))
    and compare with the block's merkle_root;
 3. recompute the block hash from the block header ("TPW-BLOCK-v1" encoding)
    and compare with block_hash.
An auditor then compares block_hash with a copy published or kept elsewhere
(--block-hash), and the entry hash with one recomputed from the entry's
stored values (--entry-hash).  Exit status 0 means the proof holds.
"""
import argparse
import hashlib
import json
import struct
import sys


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_hash(entry_hash: bytes) -> bytes:
    return sha256(b"\x00" + entry_hash)


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def root_from_path(leaf: bytes, index: int, size: int, path: list) -> bytes:
    """RFC 9162 2.1.3.2; returns None when the path cannot fit the tree."""
    if index < 0 or size <= 0 or index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def i64(v: int) -> bytes:
    return struct.pack(">q", v)


def text(s: str) -> bytes:
    b = s.encode()
    return b"\x01" + struct.pack(">I", len(b)) + b


def block_hash(b: dict) -> bytes:
    enc = (b"TPW-BLOCK-v1" + i64(b["block_id"]) + text(b["book"]) + i64(b["height"])
           + struct.pack(">I", b["entry_count"]) + i64(b["first_entry"]) + i64(b["last_entry"])
           + struct.pack(">I", 32) + bytes.fromhex(b["merkle_root"])
           + struct.pack(">I", 32) + bytes.fromhex(b["prev_hash"])
           + i64(b["floor_entry"]) + i64(b["seq_mark"]) + i64(b["xid_mark"]) + i64(b["sealed_at_us"]))
    return sha256(enc)


def verify(proof: dict) -> list:
    """Returns the list of problems (empty when the proof holds)."""
    problems = []
    if proof.get("version") != 1:
        return ["not a version 1 tpwallet proof"]
    blk = proof["block"]
    if proof["tree_size"] != blk["entry_count"]:
        problems.append("tree size differs from the block's entry count")
    root = root_from_path(leaf_hash(bytes.fromhex(proof["entry_hash"])), proof["leaf_index"],
                          proof["tree_size"], [bytes.fromhex(p) for p in proof["path"]])
    if root is None or root.hex() != blk["merkle_root"]:
        problems.append("the audit path does not lead to the block's Merkle root")
    if block_hash(blk).hex() != blk["block_hash"]:
        problems.append("the block header does not hash to block_hash")
    return problems


def mth(leaves: list) -> bytes:
    """RFC 6962 Merkle tree hash over leaf hashes."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def path(leaves: list, m: int) -> list:
    if len(leaves) == 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if m < k:
        return path(leaves[:k], m) + [mth(leaves[k:])]
    return path(leaves[k:], m - k) + [mth(leaves[:k])]


def self_test() -> int:
    """Builds trees of 1..40 leaves here and checks every path, and that tampering fails."""
    checks = 0
    for n in range(1, 41):
        entries = [sha256(b"entry %d" % i) for i in range(n)]
        leaves = [leaf_hash(e) for e in entries]
        root = mth(leaves)
        for m in range(n):
            p = path(leaves, m)
            assert root_from_path(leaves[m], m, n, p) == root, (n, m)
            bad = leaf_hash(sha256(b"forged"))
            assert root_from_path(bad, m, n, p) != root
            if n > 1:
                assert root_from_path(leaves[m], (m + 1) % n, n, p) != root
            checks += 1
    # RFC 6962 structure for 3 leaves: root = node(node(l0, l1), l2)
    l = [leaf_hash(b"a" * 32), leaf_hash(b"b" * 32), leaf_hash(b"c" * 32)]
    assert mth(l) == node_hash(node_hash(l[0], l[1]), l[2])
    print(f"{checks + 1} passed, 0 failed")
    return 0


def main(argv: list) -> int:
    ap = argparse.ArgumentParser(description="Check a tpwallet inclusion proof.")
    ap.add_argument("proof", nargs="?", help="proof JSON file (default: standard input)")
    ap.add_argument("--entry-hash", help="the entry hash you recomputed from the entry's values")
    ap.add_argument("--block-hash", help="the block hash you hold from elsewhere")
    ap.add_argument("--self-test", action="store_true", help="check the algorithm itself")
    args = ap.parse_args(argv)
    if args.self_test:
        return self_test()
    proof = json.loads(open(args.proof).read() if args.proof else sys.stdin.read())
    problems = verify(proof)
    if args.entry_hash and args.entry_hash.lower() != proof["entry_hash"]:
        problems.append("the entry hash is not the one expected")
    if args.block_hash and args.block_hash.lower() != proof["block"]["block_hash"]:
        problems.append("the block hash is not the one expected")
    if problems:
        for p in problems:
            print("FAIL:", p)
        return 1
    print(f"OK: entry {proof['entry_id']} is leaf {proof['leaf_index']} of {proof['tree_size']} "
          f"in block {proof['block']['block_id']} ({proof['block']['book']}, height {proof['block']['height']})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
