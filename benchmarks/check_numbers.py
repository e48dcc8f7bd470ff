"""Every number quoted in RESULTS.md and the README that is tagged to a JSON must equal its JSON value.

The tag is an HTML comment right after the number (invisible on GitHub)::

    median **90.32 %** <!-- results/oscillator_osc_seeds.json:median_accuracy -->
    NRMSE 1.14 % <!-- results/spin_node_prediction_skyrmion.json:nrmse*100 -->
    per seed 91.9 / 89.7 <!-- results/oscillator_osc_seeds.json:results.0.accuracy_final.0 -->

The path is relative to ``benchmarks/``; the key walks dicts by name and lists
by index, separated by dots; ``*K`` scales the value (fractions quoted in %).
The number checked is the last one before the tag on its line (after any
earlier tag). It matches when the JSON value, rounded to the digits quoted,
gives it: 90.32 matches 90.3226, 1.94e-4 matches 1.9412e-4 (mantissa digits).
A missing file or key, or a number that no longer matches, fails the check.

    python benchmarks/check_numbers.py            # exit 1 and a list on any stale number
"""

from __future__ import annotations

import json
import math
import re
import sys
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "benchmarks" / "RESULTS.md", ROOT / "README.md"]
TAG = re.compile(r"<!--\s*(results/[\w./-]+\.json):([\w.\-]+)(?:\*([\d.eE+-]+))?\s*-->")
NUMBER = re.compile(r"[-−]?\d+(?:\.\d+)?(?:[eE][-−+]?\d+)?")


def lookup(data, key: str):
    for part in key.split("."):
        if isinstance(data, list):
            data = data[int(part)]
        else:
            data = data[part]
    return data


def matches(quoted: str, value: float) -> bool:
    """Does ``value`` rounded to the digits of ``quoted`` give ``quoted``?"""
    q = Decimal(quoted.replace("−", "-"))
    if not math.isfinite(value):
        return False
    exponent = q.as_tuple().exponent  # e.g. 90.32 → -2, 1.94e-4 → -6
    step = Decimal(1).scaleb(exponent)
    return abs(Decimal(repr(float(value))) - q) <= step / 2 * Decimal("1.000001")


def check(docs=DOCS, root: Path = ROOT) -> tuple[int, list[str]]:
    """(how many tagged numbers, the problems found)."""
    problems, count, cache = [], 0, {}
    for doc in docs:
        if not doc.exists():
            continue
        for lineno, line in enumerate(doc.read_text().splitlines(), 1):
            start = 0
            for m in TAG.finditer(line):
                count += 1
                where = f"{doc.relative_to(root)}:{lineno}"
                numbers = NUMBER.findall(re.sub(r"\*\*|`", "", line[start:m.start()]))
                start = m.end()
                if not numbers:
                    problems.append(f"{where}: tag {m.group(0)} follows no number")
                    continue
                path = root / "benchmarks" / m.group(1)
                try:
                    if path not in cache:
                        cache[path] = json.loads(path.read_text())
                    value = lookup(cache[path], m.group(2))
                    value = float(value) * (float(m.group(3)) if m.group(3) else 1.0)
                except FileNotFoundError:
                    problems.append(f"{where}: {m.group(1)} does not exist")
                    continue
                except (KeyError, IndexError, ValueError, TypeError) as exc:
                    problems.append(f"{where}: {m.group(1)} has no number at {m.group(2)!r} ({exc!r})")
                    continue
                if not matches(numbers[-1], value):
                    problems.append(f"{where}: quotes {numbers[-1]}, {m.group(1)}:{m.group(2)} is {value:.6g}")
    return count, problems


def main() -> int:
    count, problems = check()
    for p in problems:
        print(p)
    print(f"{count} tagged numbers, {len(problems)} stale or broken")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
