"""s3check.py — read back what ci/publish-s3 left in an S3-compatible store,
over plain HTTP (path-style URLs, anonymous requests), for
tests/ci/test_publish_s3_real.sh. Independent of the aws and rclone tools
under test. Each command prints what is wrong (nothing when all is well) or
the value asked for.

  s3check.py keys URL                   the keys under URL (bucket/prefix),
                                        relative to it, one a line
  s3check.py same URL SITE              keys and bytes equal SITE's files
  s3check.py headers URL SITE           HEAD of every file of SITE: the
                                        headers SITE/cache-rules.json gives
  s3check.py refs SITE                  the files SITE/repo.json needs
  s3check.py classes EVENTS             the classes of the stored/deleted
                                        keys, in order, repeats merged
  s3check.py moments EVENTS BEFORE OLD NEW
                                        replay EVENTS on the keys listed in
                                        file BEFORE: after every event, the
                                        repo.json in place (OLD's until NEW's
                                        is stored; OLD may be "-") names only
                                        keys present, and so does each root

URL is http://host:port/bucket/prefix. EVENTS holds the lines of
tests/ci/s3rver/serve.js already cut to the keys under the prefix:
"PUT key", "POST key" (multipart) or "DELETE key".
"""
import fnmatch
import json
import os
import sys
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET


def site_files(site):
    out = []
    for d, _, files in os.walk(site):
        for f in files:
            rel = os.path.relpath(os.path.join(d, f), site)
            if f == ".gc-state" or ".tmp-" in f:
                continue
            out.append(rel)
    return sorted(out)


def split_url(url):
    u = urllib.parse.urlsplit(url)
    parts = u.path.strip("/").split("/", 1)
    base = "%s://%s/%s" % (u.scheme, u.netloc, parts[0])
    prefix = parts[1] + "/" if len(parts) > 1 and parts[1] else ""
    return base, prefix


def keys(url):
    """Every key under URL (ListObjectsV2, page by page), relative to it."""
    base, prefix = split_url(url)
    out, token = [], None
    while True:
        q = {"list-type": "2", "prefix": prefix, "max-keys": "100"}
        if token:
            q["continuation-token"] = token
        with urllib.request.urlopen(base + "?" + urllib.parse.urlencode(q)) as r:
            doc = ET.fromstring(r.read())
        out += [c.find("{*}Key").text[len(prefix):] for c in doc.findall("{*}Contents")]
        if doc.findtext("{*}IsTruncated") != "true":
            return sorted(out)
        token = doc.findtext("{*}NextContinuationToken")


def request(url, method="GET"):
    req = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(req) as r:
        return r.headers, r.read()


def quote(key):
    return urllib.parse.quote(key)


def cmd_same(url, site):
    have, want = keys(url), site_files(site)
    if have != want:
        extra = sorted(set(have) - set(want))
        lack = sorted(set(want) - set(have))
        print("keys differ: store lacks %s; store also has %s" % (lack[:3], extra[:3]))
        return
    for f in want:
        _, body = request(url + "/" + quote(f))
        if body != open(os.path.join(site, f), "rb").read():
            print("%s: other bytes in the store" % f)
            return


def rules(site):
    doc = json.load(open(os.path.join(site, "cache-rules.json")))
    return [(r["glob"], r["cache_control"], r["content_type"]) for r in doc["rules"]]


def expected(site_rules, rel):
    for glob, cc, ct in site_rules:
        if rel == glob or (glob.endswith("*") and rel.startswith(glob[:-1])):
            return cc, ct, glob
    # Files no rule names (the informative ones, format.md §9): the short
    # lifetime of repo.json and a type by extension (ci/publish-s3's header).
    short = expected(site_rules, "repo.json")[0]
    ct = "application/json" if rel.endswith(".json") else "text/plain; charset=utf-8"
    return short, ct, "(no rule)"


def cmd_headers(url, site):
    site_rules = rules(site)
    seen = set()
    for f in site_files(site):
        cc, ct, glob = expected(site_rules, f)
        h, _ = request(url + "/" + quote(f), "HEAD")
        got = (h.get("Cache-Control"), h.get("Content-Type"))
        if got != (cc, ct):
            print("%s (rule %s): Cache-Control %r, Content-Type %r; want %r, %r"
                  % (f, glob, got[0], got[1], cc, ct))
        seen.add(glob)
    unused = [g for g, _, _ in site_rules if g not in seen]
    if unused:
        print("the site has no file for the rules %s: the check proves less" % unused)


def refs(site):
    """The files SITE's repo.json needs: manifests and the objects they
    list, deltas and the patches they list, the root it names (§13)."""
    need = set()
    repo = json.load(open(os.path.join(site, "repo.json")))
    for v in repo["versions"]:
        m = "manifests/%s.json" % v["manifest"]["sha256"]
        need.add(m)
        for f in json.load(open(os.path.join(site, m)))["files"]:
            if f["type"] == "file":
                need.add("objects/%s/%s" % (f["sha256"][:2], f["sha256"]))
    for e in repo["edges"]:
        d = "deltas/%s.json" % e["delta"]["sha256"]
        need.add(d)
        for p in json.load(open(os.path.join(site, d)))["patches"]:
            need.add("patches/%s/%s-%s" % (p["from_sha256"][:2], p["from_sha256"], p["to_sha256"]))
    if "root" in repo:
        for v in range(1, repo["root"]["version"] + 1):
            need.add("roots/%d.root.json" % v)
            need.add("roots/%d.root.json.minisig" % v)
    return need


def events(path):
    out = []
    for line in open(path):
        kind, key = line.rstrip("\n").split(" ", 1)
        out.append((kind, key))
    return out


def klass(kind, key):
    if kind == "DELETE":
        return "delete"
    top = key.split("/", 1)[0]
    if "/" in key and top in ("objects", "patches", "deltas", "manifests", "roots"):
        return top
    if key in ("repo.json", "repo.json.minisig"):
        return key
    return "other"


def cmd_classes(path):
    seq = []
    for kind, key in events(path):
        c = klass(kind, key)
        if not seq or seq[-1] != c:
            seq.append(c)
    print(" ".join(seq))


def cmd_moments(path, before, old, new):
    state = set(l.rstrip("\n") for l in open(before) if l.strip())
    current = refs(old) if old != "-" else None
    new_refs = refs(new)
    bad = []
    for i, (kind, key) in enumerate(events(path), 1):
        if kind == "DELETE":
            state.discard(key)
        else:
            state.add(key)
            if key == "repo.json":
                current = new_refs
        missing = sorted(current - state) if current is not None else []
        roots = [k for k in state if fnmatch.fnmatch(k, "roots/*.root.json")]
        missing += sorted(r + ".minisig" for r in roots if r + ".minisig" not in state)
        if missing:
            bad.append("after event %d (%s %s): %d missing, e.g. %s" % (i, kind, key, len(missing), missing[0]))
    if bad:
        print("%d bad moments; first: %s" % (len(bad), bad[0]))


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "keys":
        print("\n".join(keys(*args)))
    elif cmd == "same":
        cmd_same(*args)
    elif cmd == "headers":
        cmd_headers(*args)
    elif cmd == "refs":
        print("\n".join(sorted(refs(*args))))
    elif cmd == "classes":
        cmd_classes(*args)
    elif cmd == "moments":
        cmd_moments(*args)
    else:
        sys.exit("s3check.py: unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
