#!/usr/bin/env bash
# Disassembly check of the C ABI's hot path: extracts molt_incref from the cdylib
# (objdump -d --no-show-raw-insn target/release/libmolt_state.so) together with the
# functions it calls directly that are part of molt-state (crates molt_state and
# molt_arenas, and the drop glue of their types; one level), and counts in them
#
#   - lock-prefixed instructions (lock xadd, lock cmpxchg, lock sub, ...),
#   - xchg with a memory operand (locked implicitly: a mutex release is one),
#   - calls (or tail jumps) to pthread_mutex_* or futex code (std's futex mutex, syscall),
#
# then writes the counts and the disassembly excerpt, the counted instructions marked, to
# OUT. The counts are static: every instruction of the function bodies, error paths included.
# Calls through the GOT (`call *X(%rip)`) are resolved through the dynamic relocations.
#
#   bash benches/c/held_path_asm.sh [OUT] [FUNCTION...]
#
# OUT defaults to ${CARGO_TARGET_DIR:-target}/bench-out/held_path_asm.txt; FUNCTION defaults
# to molt_incref. OUT starts with tab-separated lines (`count<TAB>what<TAB>n`, then one
# `function<TAB>name<TAB>lock=..<TAB>xchg_mem=..<TAB>mutex_futex_calls=..` per function,
# `mutex_futex_call<TAB>caller<TAB>callee<TAB>address` per such call), read by
# scripts/bench_report.py. Builds the cdylib first (cargo build --release --lib).
set -euo pipefail
out_file=""
if [ $# -gt 0 ]; then
    out_file="$(realpath -m "$1")"
    shift
fi
cd "$(dirname "$0")/../.."
target="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
if [ -z "$out_file" ]; then
    out_file="$target/bench-out/held_path_asm.txt"
fi
roots=("$@")
if [ ${#roots[@]} -eq 0 ]; then
    roots=(molt_incref)
fi

cargo build --release --lib >&2
so="$target/release/libmolt_state.so"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
objdump -d --no-show-raw-insn "$so" >"$tmp/disasm.txt"
objdump -R "$so" >"$tmp/dynrel.txt"
# Demangled names, for the molt_state test and the report.
nm --defined-only -C "$so" >"$tmp/nm_c.txt"
mkdir -p "$(dirname "$out_file")"

python3 - "$tmp" "$so" "$out_file" "${roots[@]}" <<'PY'
import re
import sys
from pathlib import Path

tmp, so, out_file, roots = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), sys.argv[4:]

# Functions by start address: (name as objdump prints it, [(address, instruction text)]).
# Keyed by address: local symbols (drop glue, closures) can share a name.
funcs, cur = {}, None
head = re.compile(r"^([0-9a-f]+) <(.+)>:$")
insn = re.compile(r"^\s+([0-9a-f]+):\t(.*)$")
for line in (tmp / "disasm.txt").read_text().splitlines():
    m = head.match(line)
    if m:
        cur = []
        funcs[int(m.group(1), 16)] = (m.group(2), cur)
        continue
    m = insn.match(line)
    if m and cur is not None:
        cur.append((int(m.group(1), 16), m.group(2).rstrip()))
    elif not line.strip():
        cur = None

# Demangled names by address (Rust legacy and v0 manglings).
demangled = {}
for line in (tmp / "nm_c.txt").read_text().splitlines():
    parts = line.split(None, 2)
    if len(parts) == 3 and parts[1] in "tTwW":
        demangled.setdefault(int(parts[0], 16), parts[2])

# GOT slot -> what it points to: a local address (RELATIVE) or an imported symbol's name.
got = {}
for line in (tmp / "dynrel.txt").read_text().splitlines():
    parts = line.split()
    if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]+", parts[0]):
        continue
    slot, val = int(parts[0], 16), parts[2]
    m = re.fullmatch(r"\*ABS\*\+0x([0-9a-f]+)", val)
    got[slot] = int(m.group(1), 16) if m else val

# A callee is a start address (a function of the library), a name (an import, or a target
# objdump names but that starts no function) or None (an indirect call through a register).


def pretty(c):
    if isinstance(c, int):
        return demangled.get(c, funcs[c][0] if c in funcs else f"0x{c:x}")
    return "(indirect)" if c is None else c


def is_molt(c):
    """molt_state/molt_arenas code, and the drop glue of their types (a guard's drop is where
    a lock is released)."""
    return isinstance(c, int) and c in funcs and re.match(
        r"^(<?|core::ptr::drop_in_place<)molt_(state|arenas)::", pretty(c)
    ) is not None


def is_mutex_futex(c):
    return c is not None and re.search(r"pthread_mutex|futex|^syscall", pretty(c)) is not None


def targets(fn):
    """Direct calls and tail jumps of the function at `fn`: [(address, callee)]."""
    body = funcs[fn][1]
    end = body[-1][0] if body else fn
    out = []
    for addr, text in body:
        op = text.split(None, 1)[0] if text else ""
        if not op.startswith(("call", "jmp")):
            continue
        m = re.search(r"# ([0-9a-f]+) <", text)
        if "*" in text and m:  # through a GOT slot
            out.append((addr, got.get(int(m.group(1), 16), f"GOT slot 0x{m.group(1)}")))
        elif "*" in text:
            if op.startswith("call"):
                out.append((addr, None))
        else:
            m = re.search(r"\s([0-9a-f]+) <([^>]+)>", text)
            if not m:
                continue
            dest = int(m.group(1), 16)
            if op.startswith("jmp") and fn <= dest <= end:
                continue  # a branch inside the function
            out.append((addr, dest if dest in funcs else m.group(2)))
    return out


report, excerpt = [], []
total = {"lock": 0, "xchg": 0, "mf": 0, "fns": 0, "indirect": 0}
for root_name in roots:
    root = next((a for a, (n, _) in funcs.items() if n == root_name), None)
    if root is None:
        sys.exit(f"held_path_asm: no function {root_name} in {so}")
    callees = targets(root)
    level1, outside = [], []
    for _, c in callees:
        if c is None or c in level1 or c in outside or c == root:
            continue
        (level1 if is_molt(c) else outside).append(c)
    total["indirect"] += sum(1 for _, c in callees if c is None)
    for fn in [root] + level1:
        name, body = funcs[fn]
        calls = targets(fn)
        lock = [a for a, t in body if t.startswith("lock ")]
        xchg = [a for a, t in body if t.startswith("xchg") and "(" in t]
        mf = [(a, c) for a, c in calls if is_mutex_futex(c)]
        total["lock"] += len(lock)
        total["xchg"] += len(xchg)
        total["mf"] += len(mf)
        total["fns"] += 1
        report.append(
            f"function\t{pretty(fn)}\tlock={len(lock)}\txchg_mem={len(xchg)}"
            f"\tmutex_futex_calls={len(mf)}\tinstructions={len(body)}"
            f"\tlevel={'0' if fn == root else '1'}\taddress=0x{fn:x}"
        )
        for a, c in mf:
            report.append(f"mutex_futex_call\t{pretty(fn)}\t{pretty(c)}\t0x{a:x}")
        marks = {a: "lock" for a in lock} | {a: "xchg with memory (implicit lock)" for a in xchg}
        marks |= {a: "mutex/futex call" for a, _ in mf}
        call_at = dict(calls)
        excerpt.append(f"\n{fn:016x} <{name}>:   ; {pretty(fn)}")
        for addr, text in body:
            note = f"   ; -> {pretty(call_at[addr])}" if addr in call_at else ""
            if addr in marks:
                note += f"   <== {marks[addr]}"
            excerpt.append(f"  {addr:6x}:\t{text}{note}")
    for c in outside:
        flag = "\tmutex_futex" if is_mutex_futex(c) else ""
        report.append(f"callee_outside_molt_state\t{pretty(c)}{flag}")

lines = [
    "# held_path_asm (benches/c/held_path_asm.sh): static counts over the whole bodies of "
    + ", ".join(roots)
    + " and their direct molt_state/molt_arenas callees (one level)",
    f"# library: {so}",
    f"count\tlock_prefixed\t{total['lock']}",
    f"count\txchg_memory\t{total['xchg']}",
    f"count\tmutex_futex_calls\t{total['mf']}",
    f"count\tfunctions\t{total['fns']}",
    f"count\tindirect_calls_unresolved\t{total['indirect']}",
] + report + ["", "# disassembly excerpt (objdump -d --no-show-raw-insn)"] + excerpt
out_file.write_text("\n".join(lines) + "\n")
print(
    f"{' '.join(roots)}: {total['lock']} lock-prefixed, {total['xchg']} xchg with memory, "
    f"{total['mf']} mutex/futex calls in {total['fns']} functions; wrote {out_file}"
)
PY
