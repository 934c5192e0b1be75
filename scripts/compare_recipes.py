"""Is each metric of one run inside the other run's bootstrap CI? (e.g. OSASIS ``recipe: fast`` vs ``official``)

Reads two ``results/tidy.csv`` files (the baseline first), keeps the rows of ``--method`` and prints, per
(reference, split, metric), the baseline value and CI, the candidate value and whether it lies inside. Exit 0 when
every candidate value is inside, 1 otherwise, 2 on a usage error.

    python scripts/compare_recipes.py official/tidy.csv fast/tidy.csv --method osasis
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

KEY = ("reference", "split", "metric")


def rows(path: Path, method: str) -> dict[tuple[str, ...], dict[str, str]]:
    with open(path, newline="") as handle:
        return {tuple(r[k] for k in KEY): r for r in csv.DictReader(handle) if r["method"] == method}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("baseline", type=Path)
    parser.add_argument("candidate", type=Path)
    parser.add_argument("--method", default="osasis")
    args = parser.parse_args(argv)
    for path in (args.baseline, args.candidate):
        if not path.is_file():
            print(f"error: no such tidy.csv: {path}", file=sys.stderr)
            return 2
    base, cand = rows(args.baseline, args.method), rows(args.candidate, args.method)
    common = sorted(base.keys() & cand.keys())
    if not common:
        print(f"error: no common rows for method {args.method!r}", file=sys.stderr)
        return 2
    outside = 0
    for key in common:
        b, c = base[key], cand[key]
        lo, hi, value = float(b["ci_low"] or "nan"), float(b["ci_high"] or "nan"), float(c["value"])
        inside = lo <= value <= hi
        outside += not inside
        print(f"{'/'.join(key):70s} {float(b['value']):10.4g} [{lo:.4g}, {hi:.4g}]  {value:10.4g}  "
              f"{'inside' if inside else 'OUTSIDE'}")  # fmt: skip
    print(f"{len(common) - outside}/{len(common)} inside the baseline's 95% CI")
    return 0 if outside == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
