#!/usr/bin/env python3
"""Compares, case by case, how two receivers answered the remote-write
receiver suite: the status code and the X-Prometheus-Remote-Write-*-Written
headers of each request, from the suite's verbose output and the log of
rwproxy.py. Prints one line per case that differs and a summary; exits 0.

usage: rwcompare.py SUITE_OUTPUT PROXY_LOG OURS THEIRS
"""
import json
import re
import sys


def main():
    out, log, ours, theirs = sys.argv[1:5]
    # The leaf test whose output a "Response code from" line belongs to.
    run = re.compile(r"^\s*=== (?:RUN|CONT)\s+(\S+)")
    code = re.compile(r'Response code from "([^"]+)": (\d+)')
    cases = []
    current = None
    for line in open(out, errors="replace"):
        m = run.match(line)
        if m:
            current = m.group(1)
            continue
        m = code.search(line)
        if m:
            case = current.rsplit("/", 1)[0] if current and current.endswith("/" + m.group(1)) else current
            cases.append((case, m.group(1), int(m.group(2))))
    records = [json.loads(l) for l in open(log) if l.strip()]
    records.sort(key=lambda r: r["seq"])
    by_case = {}
    for i, (case, receiver, status) in enumerate(cases):
        rec = records[i] if i < len(records) and records[i]["receiver"] == receiver else {}
        by_case.setdefault(case, {})[receiver] = (status, rec.get("samples"), rec.get("histograms"), rec.get("exemplars"))
    same = differ = 0
    for case, got in by_case.items():
        a, b = got.get(ours), got.get(theirs)
        if a is None or b is None:
            continue
        if a == b:
            same += 1
            continue
        differ += 1
        print("DIFF %s: %s code=%s written(samples,histograms,exemplars)=%s,%s,%s; %s code=%s written=%s,%s,%s"
              % (case, ours, a[0], a[1], a[2], a[3], theirs, b[0], b[1], b[2], b[3]))
    print("rw-compare: %d cases answered alike, %d differ (%s vs %s)" % (same, differ, ours, theirs))


if __name__ == "__main__":
    main()
