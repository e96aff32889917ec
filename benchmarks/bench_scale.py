"""Speed and memory benchmark of the citizen model (run by hand; CI runs ``--quick``).

Prints two tables. The first: N agents, seconds per monthly step, ns per agent-step (whole step,
and the citizens' part alone), state bytes per agent, peak RSS of the process, the speed-up over
the one-``mesa.Agent``-per-citizen reference (where it was run) and the ratio to this machine's
floor. The second: the fast model and the Mesa reference side by side on the same months from the
same state, with the check that their national trajectories agree.

    python benchmarks/bench_scale.py                  # sweep 1e5 .. 1e8 (about 10 minutes)
    python benchmarks/bench_scale.py --repeat 3       # each size three times: median and range
    python benchmarks/bench_scale.py --quick          # small, checks correctness only (CI)

Each measurement runs in its own process so peak RSS is that size's own. Timed window of the
sweep: the months 2024-01 .. 2024-12 of a run started in 2017-01 at that size (the heaviest
years: most citizens reach the choice step). The side-by-side runs start both models in 2024-01
from the same synthesized population, step one untimed month, then time ``--months`` months.

Floor (per agent-step, both cores): the larger of (a) drawing one counter-based uniform per agent
and comparing it with a probability, as 53-bit integers (the need draw every adult takes, made as
the kernel makes it; a loop the compiler vectorizes) and (b) streaming the citizen state (bytes
per agent) once from memory at the measured read bandwidth; the fastest draw and the highest
bandwidth of five probes. The machine's speed can drift from minute to minute, so the ratio is also
measured month by month at the largest size (each timed month followed at once by one floor probe;
``--no-paired`` skips it).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
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


def citizen_timer(model) -> list[float]:
    """Accumulate the time ``model`` spends on its citizens (kernel, tallies, adopter shares) into
    the returned one-element list."""
    spent = [0.0]
    for name in ("step_citizens", "update_adopter_share"):
        inner = getattr(model, name)

        def timed(*args, _inner=inner):
            t0 = time.perf_counter()
            out = _inner(*args)
            spent[0] += time.perf_counter() - t0
            return out

        setattr(model, name, timed)
    return spent


def model_before_window(n_agents: int, months: int):
    """The fast model at ~n_agents agents, run from 2017-01 up to the last ``months`` months of
    2024 (the sweep's timed window), and the seconds it took to build."""
    t0 = time.perf_counter()
    model = build_model(n_agents, "timeline.end=2024-12")
    build = time.perf_counter() - t0
    while model.t < model.timeline.n_months - months:
        model.step()
    return model, build


def measure_fast(n_agents: int, months: int) -> dict:
    """Build and run the fast model at ~n_agents agents from 2017-01; time the last ``months``."""
    model, build = model_before_window(n_agents, months)
    n_total = model.timeline.n_months
    spent = citizen_timer(model)
    t1 = time.perf_counter()
    while model.t < n_total:
        model.step()
    per_step = (time.perf_counter() - t1) / months
    n = model.pop.n
    return {
        "n": n,
        "build_s": build,
        "s_per_step": per_step,
        "ns_per_agent_step": per_step / n * 1e9,
        "citizen_ns_per_agent_step": spent[0] / months / n * 1e9,
        "bytes_per_agent": model.pop.nbytes_per_agent,
        "peak_rss_mb": peak_rss_mb(),
    }


def window(months: int) -> tuple[str, str]:
    """Timeline overrides for one untimed month from 2024-01, then ``months`` timed months."""
    last = 2024 * 12 + months  # month index of 2024-01 is 2024 * 12 + 0
    return "timeline.start=2024-01", f"timeline.end={last // 12}-{last % 12 + 1:02d}"


def measure_pair(n_agents: int, months: int) -> dict:
    """The fast model and the Mesa reference on the same months from the same population.

    Returns per-agent-step times (whole step and citizens only) for both and the agreement of their
    national fully-online shares month by month (:func:`compare_shares`).
    """
    sys.path.insert(0, str(HERE))
    from mesa_reference import ReferenceModel

    fast = build_model(n_agents, *window(months))
    fast.step()
    spent = citizen_timer(fast)
    t0 = time.perf_counter()
    for _ in range(months):
        fast.step()
    fast_s = time.perf_counter() - t0
    ref = ReferenceModel(build_model(n_agents, *window(months)), seed=1)
    ref.step()
    ref.citizen_seconds = 0.0
    t0 = time.perf_counter()
    for _ in range(months):
        ref.step()
    ref_s = time.perf_counter() - t0
    d = fast.recorder.dossiers[1:]
    r_full, r_n = np.array(ref.history[1:]).T
    per = months * fast.pop.n / 1e9
    return {
        "n": fast.pop.n,
        "fast_ns": fast_s / per,
        "fast_citizen_ns": spent[0] / per,
        "mesa_ns": ref_s / per,
        "mesa_citizen_ns": ref.citizen_seconds / per,
        **compare_shares(d[..., 0].sum(axis=(1, 2)), d.sum(axis=(1, 2, 3)), r_full, r_n),
    }


def compare_shares(f_full: np.ndarray, f_n: np.ndarray, r_full: np.ndarray, r_n: np.ndarray) -> dict:
    """Month-by-month z-scores of the difference of two fully-online shares (counts ``(T,)``).

    Each month's share is a binomial proportion over that month's dossiers, so the difference of two
    independent runs has ``SE = sqrt(p (1 - p) (1 / n1 + 1 / n2))`` with the pooled ``p``. With
    feedback through adoption the paths also drift apart a little, so the check asks for
    ``|z| < 4`` in at least 95 % of months (one month in 15,800 exceeds 4 SE by chance) and a final
    difference below 0.03.
    """
    p1, p2 = f_full / np.maximum(f_n, 1), r_full / np.maximum(r_n, 1)
    pooled = (f_full + r_full) / np.maximum(f_n + r_n, 1)
    se = np.sqrt(np.maximum(pooled * (1 - pooled) * (1 / np.maximum(f_n, 1) + 1 / np.maximum(r_n, 1)), 1e-12))
    z = (p1 - p2) / se
    share_ok = float(np.mean(np.abs(z) < 4))
    final_fast, final_mesa = float(p1[-12:].mean()), float(p2[-12:].mean())
    return {
        "share_within_4sd": share_ok,
        "max_abs_z": float(np.max(np.abs(z))),
        "final_fast": final_fast,
        "final_mesa": final_mesa,
        "agree": share_ok >= 0.95 and abs(final_fast - final_mesa) < 0.03,
    }


def agreement(n_agents: int) -> dict:
    """Fast model vs Mesa reference over the whole default timeline (2017-01 .. 2030-12)."""
    sys.path.insert(0, str(HERE))
    from mesa_reference import ReferenceModel

    fast = build_model(n_agents)
    fast.run()
    d = fast.recorder.dossiers
    ref = ReferenceModel(build_model(n_agents), seed=11)
    for _ in range(fast.timeline.n_months):
        ref.step()
    r_full, r_n = np.array(ref.history).T
    return {"n": fast.pop.n, **compare_shares(d[..., 0].sum(axis=(1, 2)), d.sum(axis=(1, 2, 3)), r_full, r_n)}


def floor_probes(n: int = 100_000_000, n_words: int = 2**27):
    """The floor's two measurements as a function ``probe() -> (need draw ns per agent, read GB/s)``
    (both threads): the needs of ``n`` agents (10^8) drawn as the kernel draws them (64 agents per
    word, in batches of words: :func:`sim.rng.bernoulli_levels`, :func:`sim.rng.bernoulli_finish`),
    and reading ``n_words`` uint64 (1 GiB, far larger than the caches)."""
    import sim.behaviour.kernel  # noqa: F401  (sets the OpenMP wait policy before the first parallel loop)
    from numba import njit, prange

    from sim.behaviour.adoption import BATCH_WORDS
    from sim.behaviour.kernel import N_CHUNKS
    from sim.rng import bernoulli_finish, bernoulli_levels, threshold53

    @njit(parallel=True, cache=False)
    def draw(n, key, p):
        thr = threshold53(p)
        every = ~np.uint64(0)
        hits = 0
        n_words = n // 64
        per_chunk = (n_words + N_CHUNKS - 1) // N_CHUNKS
        for c in prange(N_CHUNKS):  # chunks of words in batches, as the kernel, one scratch row each
            below, open_ = np.empty(BATCH_WORDS, np.uint64), np.empty(BATCH_WORDS, np.uint64)
            end = min(n_words, (c + 1) * per_chunk)
            for w0 in range(c * per_chunk, end, BATCH_WORDS):
                n_batch = min(BATCH_WORDS, end - w0)
                bernoulli_levels(key, w0, n_batch, thr, below, open_)
                for q in range(n_batch):
                    word = bernoulli_finish(key, w0 + q, thr, below[q], open_[q], every)
                    hits += np.int64(word >> np.uint64(58))  # kept: a sum of its bits
        return hits

    @njit(parallel=True, cache=False)
    def stream(a):
        acc = 0
        for i in prange(a.size):
            acc += a[i]
        return acc

    draw(1024, np.uint64(7), 0.1175)
    data = np.ones(n_words, np.uint64)
    stream(data[:1000])

    def probe() -> tuple[float, float]:
        t = time.perf_counter()
        draw(n, np.uint64(7), 0.1175)
        rng_ns = (time.perf_counter() - t) / n * 1e9
        t = time.perf_counter()
        stream(data)
        return rng_ns, data.nbytes / (time.perf_counter() - t) / 1e9

    return probe


def floor(bytes_per_agent: float) -> dict:
    """This machine's floor per agent-step (both threads): the fastest need draw and the highest
    read bandwidth of five probes (:func:`floor_probes`), the latter as the time to stream
    ``bytes_per_agent`` bytes per agent."""
    probe = floor_probes()
    rng_ns, gbs = zip(*(probe() for _ in range(5)), strict=True)
    rng, bw = min(rng_ns), max(gbs)
    return {"rng_ns_per_agent": rng, "bandwidth_gb_s": bw, "stream_ns_per_agent": bytes_per_agent / bw}


def floor_ns_per_agent(fl: dict) -> float:
    """The floor per agent-step: the larger of the need draw and streaming the state."""
    return max(fl["rng_ns_per_agent"], fl["stream_ns_per_agent"])


def measure_paired(n_agents: int, months: int) -> dict:
    """Ratio to the floor with both measured together: as :func:`measure_fast`, but each timed month
    is followed at once by one floor probe, so a month and its floor see the machine in the same
    state (on a shared machine its speed drifts from minute to minute). Returns the per-month
    ratios of the whole step's ns per agent-step to :func:`floor_ns_per_agent`."""
    probe = floor_probes()
    model, _ = model_before_window(n_agents, months)
    n, size = model.pop.n, model.pop.nbytes_per_agent
    ratios, step_ns, floor_ns = [], [], []
    for _ in range(months):
        t = time.perf_counter()
        model.step()
        step_ns.append((time.perf_counter() - t) / n * 1e9)
        rng_ns, gbs = probe()
        floor_ns.append(floor_ns_per_agent({"rng_ns_per_agent": rng_ns, "stream_ns_per_agent": size / gbs}))
        ratios.append(step_ns[-1] / floor_ns[-1])
    return {"n": n, "ratios": ratios, "step_ns": step_ns, "floor_ns": floor_ns}


def in_subprocess(kind: str, n: float, months: int) -> dict:
    """Run one measurement in a fresh Python process; returns its JSON result."""
    out = subprocess.run(
        [sys.executable, __file__, "--one", kind, str(n), str(months)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def quick() -> None:
    """CI: the fast kernel agrees with the Mesa reference over 2017-2030 and on a 2024 window from the
    same state; the state stays within 16 bytes per agent; the floor probes run (on small sizes).
    Timings are printed, never checked."""
    agree = in_subprocess("agree", 20_000, 0)
    fast = in_subprocess("fast", 20_000, 3)
    pair = in_subprocess("pair", 20_000, 3)
    rng_ns, gbs = floor_probes(n=64 * 20_000, n_words=2**16)()  # runs; its figures are not checked
    print(json.dumps({"agreement": agree, "fast": fast, "pair": pair, "floor_probe": [rng_ns, gbs]}, indent=1))
    ok = agree["agree"] and pair["agree"] and fast["bytes_per_agent"] <= 16 and rng_ns > 0 and gbs > 0
    print("quick benchmark checks:", "passed" if ok else "FAILED")
    sys.exit(0 if ok else 1)


def spread(values: list[float], fmt: str) -> str:
    """Median, and the range when there is more than one value."""
    med = format(statistics.median(values), fmt)
    return med if len(values) == 1 else f"{med} ({format(min(values), fmt)}-{format(max(values), fmt)})"


def print_tables(rows: list[tuple[list[dict], dict | None]], fl: dict) -> None:
    """The sweep table and the side-by-side table (Markdown)."""
    floor_ns = floor_ns_per_agent(fl)
    print(
        f"floor: need draw {fl['rng_ns_per_agent']:.2f} ns/agent; memory {fl['bandwidth_gb_s']:.1f} GB/s "
        f"= {fl['stream_ns_per_agent']:.2f} ns to stream the state; floor {floor_ns:.2f} ns/agent-step (2 threads)"
    )
    print(
        "\n| N agents | s/step | ns/agent-step | citizens ns/agent-step | bytes/agent | peak RSS (MB) "
        "| speed-up vs Mesa (whole step / citizens) | x floor |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for runs, pair in rows:
        speed = "-"
        if pair:
            speed = (
                f"{pair['mesa_ns'] / pair['fast_ns']:.0f}x / {pair['mesa_citizen_ns'] / pair['fast_citizen_ns']:.0f}x"
            )
        ns = [r["ns_per_agent_step"] for r in runs]
        print(
            f"| {runs[0]['n']:,} | {spread([r['s_per_step'] for r in runs], '.3f')} | {spread(ns, '.2f')} "
            f"| {spread([r['citizen_ns_per_agent_step'] for r in runs], '.2f')} | {runs[0]['bytes_per_agent']:.1f} "
            f"| {max(r['peak_rss_mb'] for r in runs):.0f} | {speed} "
            f"| {spread([x / floor_ns for x in ns], '.1f')} |"
        )
    pairs = [pair for _, pair in rows if pair]
    if pairs:
        print(
            "\n| N agents | fast ns/agent-step (whole / citizens) | Mesa ns/agent-step (whole / citizens) "
            "| months with abs(z) < 4 | max abs(z) | fully online, fast / Mesa | agree |"
        )
        print("|---:|---:|---:|---:|---:|---:|:-:|")
        for p in pairs:
            print(
                f"| {p['n']:,} | {p['fast_ns']:.1f} / {p['fast_citizen_ns']:.1f} | {p['mesa_ns']:.0f} / "
                f"{p['mesa_citizen_ns']:.0f} | {p['share_within_4sd']:.0%} | {p['max_abs_z']:.1f} "
                f"| {p['final_fast']:.3f} / {p['final_mesa']:.3f} | {'yes' if p['agree'] else 'NO'} |"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, correctness checks only")
    ap.add_argument("--sizes", default="1e5,1e6,1e7,1e8", help="comma-separated agent counts")
    ap.add_argument("--mesa-sizes", default="1e5,1e6", help="sizes at which the Mesa reference also runs")
    ap.add_argument("--months", type=int, default=12, help="timed months per measurement")
    ap.add_argument("--repeat", type=int, default=1, help="fast measurements per size (median and range)")
    ap.add_argument(
        "--no-paired",
        dest="paired",
        action="store_false",
        help="skip the month-by-month ratio to the floor at the largest size",
    )
    ap.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        kind, size, months = args.one[0], float(args.one[1]), int(args.one[2])
        if kind == "floor":
            print(json.dumps(floor(size)))  # size = state bytes per agent
        else:
            fn = {
                "fast": measure_fast,
                "pair": measure_pair,
                "paired_floor": measure_paired,
                "agree": lambda n, m: agreement(n),
            }[kind]
            print(json.dumps(fn(int(size), months)))
        return
    if args.quick:
        quick()
    mesa_sizes = {int(float(x)) for x in args.mesa_sizes.split(",") if x}
    rows = []
    sizes = [int(float(x)) for x in args.sizes.split(",")]
    for size in sizes:
        runs = [in_subprocess("fast", size, args.months) for _ in range(max(1, args.repeat))]
        pair = in_subprocess("pair", size, args.months) if size in mesa_sizes else None
        rows.append((runs, pair))
        print(json.dumps({"runs": runs, "pair": pair}), file=sys.stderr, flush=True)  # raw figures
    print_tables(rows, in_subprocess("floor", rows[0][0][0]["bytes_per_agent"], 0))
    if args.paired:
        paired = in_subprocess("paired_floor", max(sizes), args.months)
        print(json.dumps(paired), file=sys.stderr, flush=True)
        print(
            f"\nratio to the floor measured month by month at {paired['n']:,} agents ({args.months} months, "
            f"each followed by a floor probe): {spread(paired['ratios'], '.1f')}; whole step "
            f"{spread(paired['step_ns'], '.2f')} ns/agent-step, floor {spread(paired['floor_ns'], '.2f')} ns"
        )


if __name__ == "__main__":
    main()
