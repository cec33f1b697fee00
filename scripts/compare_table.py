"""The table of scripts/bench_compare.sh: per benchmark, the median and the min over the
rounds' figures for the old and the new tree, and new/old of each.

    python3 scripts/compare_table.py RAW_TSV OLD_REV NEW_REV ROUNDS > compare.md

RAW_TSV has one line per figure: label (old/new), round, benchmark name, ns. The median of
the rounds says what a typical round saw; the min says what each tree does when the
shared machine leaves it alone (another tenant's load only ever adds time), so a row whose
median moves and whose min does not moved with the machine, not with the code.
"""

import statistics
import sys
from collections import defaultdict


def main() -> None:
    raw, old_rev, new_rev, rounds = sys.argv[1:]
    vals: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    order: list[str] = []
    for line in open(raw):
        label, _, name, ns = line.rstrip("\n").split("\t")
        if name not in order:
            order.append(name)
        vals[name][label].append(float(ns))
    print(
        f"Old: `{old_rev}`; new: `{new_rev}`; {rounds} alternating rounds each (old, new, old, "
        "new, ...). Per benchmark, the median and the min of the rounds' figures (each a "
        "median of its own samples), in ns. `c/*` rows are the C host harness "
        "(benches/c/gil_bench.c) through each tree's `libmolt_state.so`.\n"
    )
    print("| benchmark | old median | new median | new/old (medians) | old min | new min | new/old (mins) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in order:
        o, n = vals[name].get("old"), vals[name].get("new")
        if not o or not n:
            continue
        mo, mn = statistics.median(o), statistics.median(n)
        lo, ln = min(o), min(n)
        print(
            f"| {name} | {mo:.2f} | {mn:.2f} | {mn / mo:.2f} | {lo:.2f} | {ln:.2f} | {ln / lo:.2f} |"
        )


if __name__ == "__main__":
    main()
