#!/usr/bin/env python3
"""same_site.py A B — two built sites hold the same files with the same
bytes, but for the times a build writes: repo.json's created, expires and
each version's released, the page's dates, and so repo.json's signature.
Exit 0 and "same N files", else 1 and what differs first."""
import json
import os
import re
import sys


def files(root):
    out = set()
    for d, _, fs in os.walk(root):
        out |= {os.path.relpath(os.path.join(d, f), root) for f in fs}
    return out


def timeless_repo(p):
    r = json.load(open(p))
    for k in ("created", "expires"):
        r.pop(k)
    for v in r["versions"]:
        v.pop("released")
    return r


def timeless_page(p):
    return re.sub(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9:]{8}Z| [0-9]{2}:[0-9]{2} UTC)?", "DATE",
                  open(p).read())


def main(a, b):
    fa, fb = files(a), files(b)
    if fa != fb:
        return "only in %s: %s; only in %s: %s" % (a, sorted(fa - fb)[:3], b, sorted(fb - fa)[:3])
    for f in sorted(fa):
        pa, pb = os.path.join(a, f), os.path.join(b, f)
        if f == "repo.json":
            if timeless_repo(pa) != timeless_repo(pb):
                return "repo.json differs beyond its times"
        elif f == "index.html":
            if timeless_page(pa) != timeless_page(pb):
                return "index.html differs beyond its dates"
        elif f != "repo.json.minisig" and open(pa, "rb").read() != open(pb, "rb").read():
            return f + " differs"
    print("same", len(fa), "files")
    return None


if __name__ == "__main__":
    why = main(sys.argv[1], sys.argv[2])
    if why:
        print(why)
        sys.exit(1)
