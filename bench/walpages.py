#!/usr/bin/env python3
"""Which tables and indexes a SQLite write load writes: the frames of a WAL file by B-tree.

Copy the WAL while the load runs (it is rewritten from the start after each checkpoint, so a copy
holds the commits since the last one), and the database next to it; this reads the frames of the
WAL's current generation (up to its last commit), maps each page to its table or index through
the `dbstat` table of the database, and prints frames per commit and per B-tree.

    cp <work>/bench.db-wal /tmp/w.wal; sqlite3 <work>/bench.db ".backup /tmp/w.db"
    python3 bench/walpages.py /tmp/w.wal /tmp/w.db

A page one commit changes is one frame in it, whatever the number of rows changed on it: a group
of N bookings writes each page once, so the frames per booking are the distinct pages per group
divided by N. Needs the `sqlite3` command-line shell (built with `dbstat`, as Debian's is).
"""
import collections
import struct
import subprocess
import sys


def pages_of(db):
    out = subprocess.run(["sqlite3", db, "SELECT pageno, name, pagetype FROM dbstat"],
                         check=True, capture_output=True, text=True).stdout
    pages = {}
    for line in out.splitlines():
        number, name, kind = line.split("|")
        pages[int(number)] = f"{name} ({kind})"
    return pages


def frames_of(wal):
    data = open(wal, "rb").read()
    _magic, _version, page_size, _sequence, salt1, salt2 = struct.unpack(">IIIIII", data[:24])
    frames, offset = [], 32
    while offset + 24 + page_size <= len(data):
        page, commit, s1, s2 = struct.unpack(">IIII", data[offset:offset + 16])
        if (s1, s2) != (salt1, salt2):
            break  # the rest is from an earlier generation
        frames.append((page, commit))
        offset += 24 + page_size
    last = max((i for i, (_, commit) in enumerate(frames) if commit), default=-1)
    return frames[:last + 1]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    wal, db = sys.argv[1:]
    frames, pages = frames_of(wal), pages_of(db)
    commits = [i for i, (_, commit) in enumerate(frames) if commit]
    if not commits:
        sys.exit("no commit in this WAL")
    sizes = [b - a for a, b in zip([-1] + commits, commits)]
    print(f"{len(frames)} frames in {len(commits)} commits; frames per commit: {sizes}")
    by_tree = collections.Counter(pages.get(page, "? (a page the copy of the database lacks)") for page, _ in frames)
    for tree, n in by_tree.most_common():
        print(f"{n:7d} {n / len(commits):7.2f} per commit  {tree}")


if __name__ == "__main__":
    main()
