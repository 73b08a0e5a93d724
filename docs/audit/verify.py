#!/usr/bin/env python3
"""Checks an export of Hirestream's event store (`hirestream events export`) and its signed
checkpoints (`GET /audit/checkpoints`) with Python's standard library alone.

    python3 verify.py events.ndjson [--checkpoints checkpoints.json --public-key BASE64]

Every event's hash is recomputed from its fields and its predecessor's hash, every stream's
chain is followed, and each checkpoint's Merkle tree head, digest chain and Ed25519 signature
are checked against the events of a whole export. Exits 1 naming what does not match.
docs/audit.md describes the encoding.
"""

import argparse
import base64
import hashlib
import json
import sys


class Raw(str):
    """A JSON number, kept as written."""


def load(text):
    return json.loads(text, parse_int=Raw, parse_float=Raw, parse_constant=Raw)


def escape(text):
    out = ['"']
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch in "\b\f\n\r\t":
            out.append({"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif ord(ch) < 0x20:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def canonical(value):
    if isinstance(value, Raw):
        return str(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, list):
        return "[" + ",".join(canonical(item) for item in value) + "]"
    members = sorted(value.items(), key=lambda member: member[0].encode("utf-8"))
    return "{" + ",".join(escape(k) + ":" + canonical(v) for k, v in members) + "}"


def encoding(event):
    previous = event["previous_hash"]
    fields = [
        escape(event["aggregate_type"]),
        escape(event["aggregate_id"]),
        str(event["sequence"]),
        escape(event["event_type"]),
        escape(event["event_version"]),
        canonical(event["payload"]),
        canonical(event["metadata"]),
        escape(event["recorded_at"]),
        "null" if previous is None else escape(previous),
    ]
    return "[" + ",".join(fields) + "]"


# RFC 6962 Merkle tree head.
def leaf(event_hash):
    return hashlib.sha256(b"\x00" + event_hash).digest()


def root(leaves):
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + root(leaves[:split]) + root(leaves[split:])).digest()


# Ed25519 verification as RFC 8032, section 6, gives it.
P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def point_add(a, b):
    e1 = (a[1] - a[0]) * (b[1] - b[0]) % P
    e2 = (a[1] + a[0]) * (b[1] + b[0]) % P
    c = 2 * a[3] * b[3] * D % P
    d = 2 * a[2] * b[2] % P
    e, f, g, h = e2 - e1, d - c, d + c, e2 + e1
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def point_mul(s, point):
    q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            q = point_add(q, point)
        point = point_add(point, point)
        s >>= 1
    return q


def point_equal(a, b):
    return (a[0] * b[2] - b[0] * a[2]) % P == 0 and (a[1] * b[2] - b[1] * a[2]) % P == 0


def recover_x(y, sign):
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


def decompress(data):
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % P)


G_Y = 4 * pow(5, P - 2, P) % P
G_X = recover_x(G_Y, 0)
G = (G_X, G_Y, 1, G_X * G_Y % P)


def ed25519_verify(public, message, signature):
    if len(public) != 32 or len(signature) != 64:
        return False
    a, r = decompress(public), decompress(signature[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= L:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % L
    return point_equal(point_mul(s, G), point_add(r, point_mul(h, a)))


def statement(checkpoint):
    fields = {name: checkpoint[name] for name in (
        "digest", "events", "global_position", "number", "root", "signed_at",
        "total_events", "tx_id")}
    return canonical(fields)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("events")
    parser.add_argument("--checkpoints")
    parser.add_argument("--public-key")
    args = parser.parse_args()
    problems = []
    streams = {}
    order = []
    with open(args.events, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            event = load(line)
            where = "line %d: event %s of %s %s (global position %s)" % (
                number, event["sequence"], event["aggregate_type"], event["aggregate_id"],
                event["global_position"])
            computed = hashlib.sha256(encoding(event).encode("utf-8")).hexdigest()
            if computed != event["hash"]:
                problems.append(where + " does not match its hash")
            stream = (event["aggregate_type"], event["aggregate_id"])
            sequence = int(event["sequence"])
            if stream in streams:
                last_sequence, last_hash = streams[stream]
                if sequence != last_sequence + 1 or event["previous_hash"] != last_hash:
                    problems.append(where + " does not follow event %d of its stream"
                                    % last_sequence)
            elif sequence == 1 and event["previous_hash"] is not None:
                problems.append(where + " is first in its stream but names a predecessor")
            streams[stream] = (sequence, event["hash"])
            order.append(((int(event["tx_id"]), int(event["global_position"])),
                          bytes.fromhex(event["hash"])))
    checked = 0
    if args.checkpoints:
        with open(args.checkpoints, encoding="utf-8") as file:
            checkpoints = load(file.read())
        if isinstance(checkpoints, dict):
            checkpoints = checkpoints["checkpoints"]
        trusted = base64.b64decode(args.public_key) if args.public_key else None
        order.sort(key=lambda entry: entry[0])
        at, previous = 0, bytes(32)
        for checkpoint in checkpoints:
            end = (int(checkpoint["tx_id"]), int(checkpoint["global_position"]))
            hashes = []
            while at < len(order) and order[at][0] <= end:
                hashes.append(order[at][1])
                at += 1
            name = "checkpoint %s" % checkpoint["number"]
            if len(hashes) != int(checkpoint["events"]):
                problems.append("%s signed %s events and %d are in its range"
                                % (name, checkpoint["events"], len(hashes)))
            elif root([leaf(h) for h in hashes]).hex() != checkpoint["root"]:
                problems.append(name + ": its events' hashes are not the ones it signed")
            digest = hashlib.sha256(previous + bytes.fromhex(checkpoint["root"])).digest()
            if digest.hex() != checkpoint["digest"]:
                problems.append(name + ": its digest does not chain to the previous one")
            key = base64.b64decode(checkpoint["public_key"])
            if trusted is not None and key != trusted:
                problems.append(name + " is signed with another key")
            elif not ed25519_verify(key, statement(checkpoint).encode("utf-8"),
                                    bytes.fromhex(checkpoint["signature"])):
                problems.append(name + ": its signature does not verify")
            previous = bytes.fromhex(checkpoint["digest"])
            checked += 1
    for problem in problems:
        print("TAMPERED: " + problem)
    print("%d events in %d streams, %d checkpoints checked: %s" % (
        len(order), len(streams), checked, "intact" if not problems else "NOT intact"))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
