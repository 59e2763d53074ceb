"""Runs a crate bench and its peers back to back, in one sitting, and prints the ratios.

    python3 benches/peers/compare.py kernels|networks|llc|all [--no-bench] [--filter REGEX]

from the repository root, with a Python that has the packages of benches/peers/requirements.txt.
For each bench: `cargo bench --bench NAME` (criterion writes its medians under target/criterion),
then the peer script (NumPy, JAX), then one Markdown table per bench: the crate's median, each
peer's median and the ratio peer / crate (above 1: the crate is faster), headed by the processor,
its widest vector instruction set and the BLAS NumPy runs. `--no-bench` reuses the medians of the
last `cargo bench` (same sitting only if you just ran it). `--filter` is passed to criterion."""
import json, os, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import machine  # noqa: E402

PEERS = {"kernels": "kernels.py", "networks": "networks.py", "llc": "llc.py"}


def criterion_median(group, row):
    root = os.environ.get("CRITERION_HOME") or os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "criterion")
    safe = lambda s: "".join("_" if c in '/\\:?"<>|*' else c for c in s)
    path = os.path.join(root, safe(group), *[safe(p) for p in row.split("/")], "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["median"]["point_estimate"] / 1e9
    except (OSError, KeyError, ValueError):
        return None


def main():
    args = sys.argv[1:]
    if not args or args[0] not in list(PEERS) + ["all"]:
        sys.exit(__doc__)
    names = list(PEERS) if args[0] == "all" else [args[0]]
    run_bench = "--no-bench" not in args
    flt = args[args.index("--filter") + 1] if "--filter" in args else None
    m = machine()
    print(f"machine: {m['processor']}, {m['isa']}, {m['cores']} cores; NumPy {m['numpy']} on {m['blas']}")
    for name in names:
        if run_bench:
            cmd = ["cargo", "bench", "--bench", name] + (["--", flt] if flt else [])
            print("$", " ".join(cmd), flush=True)
            subprocess.run(cmd, check=True, stdout=sys.stderr)
        cmd = [sys.executable, os.path.join(HERE, PEERS[name])]
        print("$", " ".join(cmd[1:]), flush=True)
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rows = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
        print(f"\n### {name} ({m['processor']}, {m['isa']})\n")
        print("| group | row | crate | peer | peer time | peer / crate |")
        print("|---|---|---|---|---|---|")
        for r in rows:
            ours = criterion_median(r["bench"], r["row"])
            ours_s = f"{ours * 1e3:.2f} ms" if ours is not None else "not run"
            ratio = f"{r['seconds'] / ours:.2f}x" if ours else "—"
            print(f"| {r['bench']} | {r['row']} | {ours_s} | {r['peer']} | {r['seconds'] * 1e3:.2f} ms | {ratio} |")
        print(flush=True)


if __name__ == "__main__":
    main()
