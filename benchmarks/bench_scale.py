"""Speed and memory benchmark of the citizen model (run by hand; CI runs ``--quick``).

Prints one table: N agents, seconds per monthly step, ns per agent-step, state bytes per agent,
peak RSS of the process, the ratio to the one-``mesa.Agent``-per-citizen reference (where it was
run) and the ratio to this machine's floor (the larger of: streaming the citizen state once from
memory, and drawing one counter-based uniform per agent).

    python benchmarks/bench_scale.py                 # sweep 1e5 .. 1e8 (about 10 minutes)
    python benchmarks/bench_scale.py --quick         # small, checks correctness only (CI)

Each size runs in its own process so peak RSS is that size's own. Timed window: the months
2024-01 .. 2024-12 of a run started in 2017-01 at that size (the heaviest years: most citizens
reach the choice step).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
NATIONAL = 96_208_984  # 2019 Census, seeds/provinces.csv (sum of pop_census2019)


def peak_rss_mb() -> float:
    """Peak resident memory of this process image (VmHWM; unlike ru_maxrss it is not inherited
    from the parent across fork/exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_model(n_agents: int, *overrides: str):
    """An AdoptionModel with about ``n_agents`` agents (the scale that gives that many)."""
    from sim.config import load_config
    from sim.model import AdoptionModel
    from sim.observed import load_observed

    scale = max(1.0, NATIONAL / n_agents)
    return AdoptionModel(load_config([f"population.scale={scale}", *overrides]), load_observed())


def timing(n: int, build_s: float, per_step: float) -> dict:
    """The fields every measurement reports."""
    return {
        "n": n,
        "build_s": build_s,
        "s_per_step": per_step,
        "ns_per_agent_step": per_step / n * 1e9,
        "peak_rss_mb": peak_rss_mb(),
    }


def measure_fast(n_agents: int, months: int) -> dict:
    """Build and run the fast model at ~n_agents agents; time the last ``months`` months."""
    t0 = time.perf_counter()
    model = build_model(n_agents, "timeline.end=2024-12")
    build = time.perf_counter() - t0
    n_total = model.timeline.n_months
    while model.t < n_total - months:
        model.step()
    t1 = time.perf_counter()
    while model.t < n_total:
        model.step()
    out = timing(model.pop.n, build, (time.perf_counter() - t1) / months)
    return {**out, "bytes_per_agent": model.pop.nbytes_per_agent}


def measure_mesa(n_agents: int, months: int) -> dict:
    """The same rule with one mesa.Agent per citizen; times ``months`` steps after 2024-01."""
    sys.path.insert(0, str(HERE))
    from mesa_reference import ReferenceModel

    base = build_model(n_agents, "timeline.start=2024-01", "timeline.end=2024-12")
    t0 = time.perf_counter()
    ref = ReferenceModel(base, seed=1)
    build = time.perf_counter() - t0
    t1 = time.perf_counter()
    for _ in range(months):
        ref.step()
    return timing(base.pop.n, build, (time.perf_counter() - t1) / months)


def floor() -> dict:
    """This machine's floor per agent-step: memory streaming and counter-based RNG (2 threads)."""
    from numba import njit, prange

    from sim.rng import uniform

    @njit(parallel=True, cache=False)
    def draw(n, key):
        acc = 0.0
        for i in prange(n):
            acc += uniform(key, i)
        return acc

    @njit(parallel=True, cache=False)
    def stream(a):
        acc = 0
        for i in prange(a.size):
            acc += a[i]
        return acc

    n = 50_000_000
    draw(1000, np.uint64(7))
    t = time.perf_counter()
    draw(n, np.uint64(7))
    rng_ns = (time.perf_counter() - t) / n * 1e9
    data = np.ones(2**27, np.uint64)  # 1 GiB
    stream(data[:1000])
    t = time.perf_counter()
    stream(data)
    gbs = data.nbytes / (time.perf_counter() - t) / 1e9
    return {"rng_ns_per_agent": rng_ns, "bandwidth_gb_s": gbs, "stream_15b_ns_per_agent": 15 / gbs}


def agreement(n_agents: int) -> dict:
    """Fast model vs mesa reference on the whole timeline: national fully-online share by month.

    Tolerance: each month's share is a binomial proportion over that month's dossiers, so the
    difference of two independent runs has SE = sqrt(p(1-p)(1/n1 + 1/n2)); with feedback through
    adoption, paths also drift, so we require |z| < 4 in 95 % of months and a final difference
    below 0.03.
    """
    sys.path.insert(0, str(HERE))
    from mesa_reference import ReferenceModel

    fast = build_model(n_agents)
    fast.run()
    d = fast.recorder.dossiers
    f_full, f_n = d[:, :, :, 0].sum(axis=(1, 2)), d.sum(axis=(1, 2, 3))
    ref = ReferenceModel(build_model(n_agents), seed=11)
    for _ in range(fast.timeline.n_months):
        ref.step()
    r_full, r_n = np.array(ref.history).T
    p1, p2 = f_full / np.maximum(f_n, 1), r_full / np.maximum(r_n, 1)
    pooled = (f_full + r_full) / np.maximum(f_n + r_n, 1)
    se = np.sqrt(np.maximum(pooled * (1 - pooled) * (1 / np.maximum(f_n, 1) + 1 / np.maximum(r_n, 1)), 1e-12))
    z = (p1 - p2) / se
    return {
        "n": fast.pop.n,
        "share_within_4sd": float(np.mean(np.abs(z) < 4)),
        "max_abs_z": float(np.max(np.abs(z))),
        "final_fast": float(p1[-12:].mean()),
        "final_mesa": float(p2[-12:].mean()),
    }


def in_subprocess(kind: str, n: int, months: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--one", kind, str(n), str(months)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, correctness checks only")
    ap.add_argument("--sizes", default="1e5,1e6,1e7,1e8", help="comma-separated agent counts")
    ap.add_argument("--mesa-sizes", default="1e5,1e6", help="sizes at which the mesa reference also runs")
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        kind, n, months = args.one[0], int(float(args.one[1])), int(args.one[2])
        fn = {"fast": measure_fast, "mesa": measure_mesa, "agree": lambda n, m: agreement(n)}[kind]
        print(json.dumps(fn(n, months)))
        return
    if args.quick:
        agree = in_subprocess("agree", 20_000, 0)
        fast = in_subprocess("fast", 20_000, 3)
        print(json.dumps({"agreement": agree, "fast": fast}, indent=1))
        ok = agree["share_within_4sd"] >= 0.95 and abs(agree["final_fast"] - agree["final_mesa"]) < 0.03
        ok &= fast["bytes_per_agent"] <= 16
        print("quick benchmark checks:", "passed" if ok else "FAILED")
        sys.exit(0 if ok else 1)
    mesa_sizes = {int(float(x)) for x in args.mesa_sizes.split(",") if x}
    rows = []
    for size in (int(float(x)) for x in args.sizes.split(",")):
        fast = in_subprocess("fast", size, args.months)
        mesa = in_subprocess("mesa", size, max(1, args.months // 6)) if size in mesa_sizes else None
        rows.append((fast, mesa))
        print(f"done N={fast['n']:,}", file=sys.stderr, flush=True)
    fl = floor()
    print(
        f"floor: counter-based uniform {fl['rng_ns_per_agent']:.2f} ns/agent; memory {fl['bandwidth_gb_s']:.1f} GB/s "
        f"= {fl['stream_15b_ns_per_agent']:.2f} ns to stream 15 bytes (2 threads)"
    )
    floor_ns = max(fl["rng_ns_per_agent"], fl["stream_15b_ns_per_agent"])
    print(
        "\n| N agents | s/step | ns/agent-step | bytes/agent | peak RSS (MB) | mesa ns/agent-step | speed-up vs mesa | x floor |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for fast, mesa in rows:
        m_ns = f"{mesa['ns_per_agent_step']:.0f}" if mesa else "-"
        speed = f"{mesa['ns_per_agent_step'] / fast['ns_per_agent_step']:.0f}x" if mesa else "-"
        print(
            f"| {fast['n']:,} | {fast['s_per_step']:.3f} | {fast['ns_per_agent_step']:.2f} | {fast['bytes_per_agent']:.1f} "
            f"| {fast['peak_rss_mb']:.0f} | {m_ns} | {speed} | {fast['ns_per_agent_step'] / floor_ns:.1f} |"
        )


if __name__ == "__main__":
    main()
