"""``hil store check`` and ``hil store repair``: verify a store, save what is readable.

``check`` reads every record (every chunk's checksum) and exits 1 on any damage;
``repair`` copies every intact record into a new store, never in place, and
converts single-file stores of older versions.
"""

from __future__ import annotations

import argparse


def cmd_store_check(args: argparse.Namespace) -> int:
    from hil.store_check import check

    rep = check(args.file, say=print if args.verbose else (lambda s: None))
    for line in rep.notes:
        print(f"note: {line}")
    for line in rep.damage:
        print(f"DAMAGED: {line}")
    if rep.damage:
        print(f"{args.file}: {len(rep.damage)} problems; {rep.records} records in {rep.runs} runs verified intact; "
              f"`hil store repair {args.file} --out NEW.h5` copies what is intact")
        return 1
    print(f"{args.file}: ok, {rep.records} records in {rep.runs} runs verified")
    return 0


def cmd_store_repair(args: argparse.Namespace) -> int:
    from hil.store_check import repair

    rep = repair(args.file, args.out, say=print)
    for line in rep.notes:
        print(f"note: {line}")
    for line in rep.damage:
        print(f"skipped (damaged): {line}")
    lost = sum(rep.lost.values())
    print(f"{args.out}: {rep.records} records in {rep.runs} runs recovered"
          + (f"; {lost} damaged records could not be" if lost else ""))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("store", help="verify a run store, or recover what is readable into a new one")
    verbs = p.add_subparsers(dest="store_command", required=True, metavar="ACTION")
    c = verbs.add_parser("check", help="read every record and verify its checksums; exit 1 on damage")
    c.add_argument("file", help="the store (e.g. out/sweep.h5)")
    c.add_argument("-v", "--verbose", action="store_true", help="one line per run")
    c.set_defaults(func=cmd_store_check)
    r = verbs.add_parser("repair", help="copy every intact record into a new store (never in place)")
    r.add_argument("file", help="the damaged store, or a single-file store of an older version")
    r.add_argument("--out", required=True, help="the new store to create (must not exist)")
    r.set_defaults(func=cmd_store_repair)
