"""Command line: ``govsim run | sweep | compare | sensitivity | calibrate | app | validate | regimes``.

Errors in input (bad scenario, unknown regime, missing file...) print one line
``govsim: error: ...`` and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from govsim.scenario import ScenarioError, default_scenario_path, load_scenario

SUMMARY_GROUPS = {
    "Participation": [
        ("participation_rate", "participation rate (active in last 30 days)", "pct"),
        ("mean_participation_rate", "participation rate, mean over the run", "pct"),
        ("meeting_attendance", "meeting attendance (last meeting)", "pct"),
        ("volunteer_hours", "volunteer hours", "int"),
        ("ladder_level", "participation ladder (1 informed .. 5 self-governing)", "f2"),
    ],
    "Conflict resolution": [
        ("cases_arisen", "cases arisen (needs + disputes)", "int"),
        ("cases_detected", "cases detected (screened)", "int"),
        ("cases_resolved", "cases resolved", "int"),
        ("resolution_rate", "resolution rate (resolved / arisen)", "pct"),
        ("screened_resolution_rate", "resolved / screened", "pct"),
        ("self_resolution_share", "self-resolution share (inside community)", "pct"),
        ("mean_days_to_resolution", "days to resolution, mean", "f1"),
        ("median_days_to_resolution", "days to resolution, median", "f1"),
        ("escalations", "escalations", "int"),
        ("collective_incidents", "collective incidents", "int"),
    ],
    "Cost": [
        ("fiscal_spending", "government spending (yuan)", "money"),
        ("ngo_contract_spending", "NGO contract spending (yuan)", "money"),
        ("committee_staff_hours", "committee staff hours", "int"),
        ("resident_hours", "residents' time (hours)", "int"),
        ("cost_per_resolved_case", "fiscal cost per resolved case (yuan)", "money"),
        ("social_cost_per_resolved_case", "social cost per resolved case (yuan)", "money"),
    ],
    "Attitudes": [
        ("mean_trust_gov", "trust in government", "f3"),
        ("mean_trust_comm", "trust in community", "f3"),
        ("mean_belonging", "sense of belonging", "f3"),
        ("mean_satisfaction", "satisfaction", "f3"),
    ],
}


def _fmt(value, kind: str) -> str:
    if kind == "pct":
        return f"{100 * value:6.1f} %"
    if kind == "int":
        return f"{value:,.0f}"
    if kind == "money":
        return f"{value:,.0f}"
    return f"{value:.{int(kind[1])}f}"


def format_summary(summary: dict) -> str:
    lines = [
        f"{summary['scenario']}  regime={summary['regime']}"
        + (f" pilots={summary['pilots']}" if summary.get("pilots") else "")
        + f"  funding={summary['funding_rule']}  seed={summary['seed']}  days={summary['days']}",
        f"{summary['residents']:,} residents, {summary['households']:,} households, "
        f"{summary['communities']} communit{'y' if summary['communities'] == 1 else 'ies'}",
    ]
    width = max(len(label) for group in SUMMARY_GROUPS.values() for _, label, _ in group)
    for title, rows in SUMMARY_GROUPS.items():
        lines.append("")
        lines.append(title)
        for key, label, kind in rows:
            lines.append(f"  {label:<{width}}  {_fmt(summary[key], kind):>14}")
    return "\n".join(lines)


def write_outputs(model, out: Path, fmt: str = "csv") -> list[Path]:
    """Write per-step series, summary, per-community table and the case table."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    series = model.series()
    summary = model.summary()
    comm = model.community_table()
    cases = model.cases.to_frame()
    if fmt == "parquet":
        for name, df in (("series", series), ("communities", comm), ("cases", cases)):
            p = out / f"{name}.parquet"
            df.to_parquet(p, index=False)
            written.append(p)
    else:
        for name, df in (("series", series), ("communities", comm), ("cases", cases)):
            p = out / f"{name}.csv"
            df.to_csv(p, index=False)
            written.append(p)
    p = out / "summary.json"
    p.write_text(json.dumps({"summary": summary, "scenario": model.scenario.to_dict()}, indent=2))
    written.append(p)
    return written


def check_out_dir(out: Path) -> None:
    """Fail before any work if the output directory cannot be made or written."""
    if out.exists() and not out.is_dir():
        raise ScenarioError(f"--out {out}: exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ScenarioError(f"--out {out}: cannot create directory ({err.strerror})") from None


def cmd_run(args: argparse.Namespace) -> int:
    from govsim.model import GovernanceModel

    path = Path(args.scenario) if args.scenario else default_scenario_path()
    sc = load_scenario(path, overrides=args.set or None, seed=args.seed, steps=args.steps)
    out = Path(args.out) if args.out else Path("out") / sc.name
    check_out_dir(out)
    t0 = time.perf_counter()
    model = GovernanceModel(scenario=sc)
    if not args.quiet:
        print(model.describe(), file=sys.stderr)
    model.run(progress=not args.quiet)
    elapsed = time.perf_counter() - t0
    summary = model.summary()
    print(format_summary(summary))
    files = write_outputs(model, out, args.format)
    print(f"\nwrote {', '.join(f.name for f in files)} to {out}/  ({elapsed:.1f} s)")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    for p in args.scenarios:
        sc = load_scenario(p)
        print(f"{p}: ok ({sc.name}, regime={sc.regime}, {sc.steps} days)")
    return 0


def cmd_regimes(args: argparse.Namespace) -> int:
    from govsim.regimes import REGIMES, compile_institutions

    for name in sorted(REGIMES):
        inst = compile_institutions(name, None, {})
        print(inst.describe())
        print(f"  {REGIMES[name].description}\n")
    return 0


def cmd_app(args: argparse.Namespace) -> int:
    """Serve the teaching app (govsim.viz.app) with Solara until Ctrl-C."""
    import signal
    import subprocess
    from importlib.util import find_spec

    if find_spec("solara") is None or find_spec("mesa.visualization") is None:
        raise ScenarioError('the app needs Mesa\'s visualization extras: pip install -e ".[viz]"')
    from govsim.viz.assets import prepare_assets

    def log(msg: str) -> None:
        print(f"govsim app: {msg}", file=sys.stderr)

    env = prepare_assets(fetch=not args.no_fetch_assets, log=log)
    cmd = [sys.executable, "-m", "solara", "run", "govsim.viz.app:page", "--host", args.host,
           "--port", str(args.port), "--production", "--open" if args.open else "--no-open"]
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"govsim app: serving on http://{host}:{args.port}/  (Ctrl-C stops it)", flush=True)
    proc = subprocess.Popen(cmd, env=env)

    def stop(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _backend_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=("serial", "process", "dask", "ray"), default="process",
                   help="where runs execute (default: process pool on all cores)")
    p.add_argument("--workers", type=int, help="number of worker processes (default: all cores)")
    p.add_argument("--address", help="scheduler address for dask/ray (default: start a local cluster)")


def cmd_sweep(args: argparse.Namespace) -> int:
    from govsim.experiment import load_experiment, run_experiment
    from govsim.experiment.design import expand

    exp = load_experiment(args.experiment)
    out = Path(args.out) if args.out else Path("out") / exp.name
    check_out_dir(out)
    n = len(expand(exp))
    print(f"{exp.name}: {n} runs ({len(exp.regimes)} regimes x {n // max(len(exp.regimes), 1) // exp.spec.replicates} "
          f"points x {exp.spec.replicates} replicates) -> {out}/", file=sys.stderr)
    df = run_experiment(exp, out, backend=args.backend, workers=args.workers, address=args.address,
                        progress=not args.quiet, restart=args.restart, max_runs=args.max_runs)
    done = len(df)
    print(f"{done} of {n} runs on disk in {out}/ (results.parquet, results.csv)")
    if done == n and not args.no_report:
        return _report(out, args.quiet)
    return 0


def _report(out: Path, quiet: bool = False, metrics: list[str] | None = None, test: str = "welch") -> int:
    from govsim.analysis import format_table, group_stats, write_report
    from govsim.experiment import ResultStore

    store = ResultStore(out)
    manifest = store.manifest()
    df = store.load()
    if df.empty:
        raise ScenarioError(f"{out}: no finished runs yet")
    metrics = metrics or [m for m in manifest["spec"]["metrics"] if m in df.columns]
    params = [p for p in manifest.get("params", []) if p in df.columns]
    paths = write_report(df, out / "report", metrics, params=params, test=test,
                         rel_precision=manifest["spec"].get("target_precision", 0.05),
                         title=f"{manifest['experiment']}: comparison of regimes")
    if not quiet:
        print(format_table(group_stats(df, metrics, by=["regime"]), metrics))
    print(f"report: {paths.get('report', out / 'report')}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    out = Path(args.results)
    if not out.is_dir():
        raise ScenarioError(f"{out}: not a results directory")
    return _report(out, args.quiet, args.metrics, args.test)


def cmd_sensitivity(args: argparse.Namespace) -> int:
    from govsim.analysis.sensitivity import write_sensitivity
    from govsim.experiment import load_experiment, run_experiment

    exp = load_experiment(args.experiment)
    if exp.spec.design not in ("sobol", "morris"):
        raise ScenarioError(f"{args.experiment}: design = {exp.spec.design!r}; sensitivity needs 'sobol' or 'morris'")
    out = Path(args.out) if args.out else Path("out") / exp.name
    check_out_dir(out)
    df = run_experiment(exp, out, backend=args.backend, workers=args.workers, address=args.address,
                        progress=not args.quiet, restart=args.restart)
    metrics = args.metrics or list(exp.spec.metrics)
    paths = write_sensitivity(exp, df, out / "sensitivity", metrics)
    print(paths["md"].read_text())
    print(f"indices: {paths['csv']}")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from govsim.analysis.calibration import calibrate, load_calibration, write_calibration

    cal = load_calibration(args.calibration)
    out = Path(args.out) if args.out else Path("out") / cal.spec.name
    check_out_dir(out)
    scenario_out = args.scenario_out
    if scenario_out is None and cal.spec.output:
        scenario_out = (cal.path.resolve().parent / cal.spec.output) if cal.path else Path(cal.spec.output)
    result = calibrate(cal, backend=args.backend, workers=args.workers, progress=not args.quiet)
    paths = write_calibration(cal, result, out, scenario_out)
    print(paths["report"].read_text())
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="govsim", description="Agent-based simulation of community governance.")
    sub = p.add_subparsers(dest="command")
    r = sub.add_parser("run", help="run one scenario and write its series and summary")
    r.add_argument("scenario", nargs="?", help="scenario TOML (default: scenarios/hybrid.toml)")
    r.add_argument("--seed", type=int, help="random seed (overrides the file)")
    r.add_argument("--steps", type=int, help="days to simulate (overrides the file)")
    r.add_argument("--out", help="output directory (default: out/<scenario name>)")
    r.add_argument("--set", action="append", metavar="SECTION.FIELD=VALUE",
                   help="override a scenario field, e.g. --set pilots.grid_management=true (repeatable)")
    r.add_argument("--format", choices=("csv", "parquet"), default="csv", help="table format (default csv)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_run)
    v = sub.add_parser("validate", help="check scenario files and report the first error in each")
    v.add_argument("scenarios", nargs="+")
    v.set_defaults(func=cmd_validate)
    w = sub.add_parser("sweep", help="run an experiment (regimes x parameters x replicates); resumable")
    w.add_argument("experiment", help="experiment TOML (see experiments/)")
    w.add_argument("--out", help="results directory (default: out/<experiment name>)")
    _backend_args(w)
    w.add_argument("--restart", action="store_true", help="discard results of a different experiment in --out")
    w.add_argument("--max-runs", type=int, help="stop after this many new runs (trial runs)")
    w.add_argument("--no-report", action="store_true", help="do not write the comparison report at the end")
    w.add_argument("--quiet", action="store_true", help="no progress bar or table")
    w.set_defaults(func=cmd_sweep)
    c = sub.add_parser("compare", help="statistics and report of a results directory")
    c.add_argument("results", help="results directory written by govsim sweep")
    c.add_argument("--metrics", nargs="+", help="metrics to compare (default: the experiment's)")
    c.add_argument("--test", choices=("welch", "mannwhitney"), default="welch")
    c.add_argument("--quiet", action="store_true")
    c.set_defaults(func=cmd_compare)
    se = sub.add_parser("sensitivity", help="Sobol or Morris indices (SALib) of an experiment's outputs")
    se.add_argument("experiment", help="experiment TOML with design = 'sobol' or 'morris'")
    se.add_argument("--out", help="results directory (default: out/<experiment name>)")
    se.add_argument("--metrics", nargs="+", help="outputs to analyse (default: the experiment's metrics)")
    _backend_args(se)
    se.add_argument("--restart", action="store_true")
    se.add_argument("--quiet", action="store_true")
    se.set_defaults(func=cmd_sensitivity)
    ca = sub.add_parser("calibrate", help="fit scenario parameters to target figures (scipy.optimize)")
    ca.add_argument("calibration", help="calibration TOML (see experiments/calibrate_zhaoshang.toml)")
    ca.add_argument("--out", help="report directory (default: out/<name>)")
    ca.add_argument("--scenario-out", help="where to write the calibrated scenario (default: the file's output)")
    _backend_args(ca)
    ca.add_argument("--quiet", action="store_true")
    ca.set_defaults(func=cmd_calibrate)
    g = sub.add_parser("regimes", help="list the regimes and their escalation chains")
    g.set_defaults(func=cmd_regimes)
    ap = sub.add_parser("app", help="interactive teaching app in the browser (Mesa SolaraViz)")
    ap.add_argument("--port", type=int, default=8765, help="port to serve on (default 8765)")
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    ap.add_argument("--open", action="store_true", help="open the page in a web browser")
    ap.add_argument("--no-fetch-assets", action="store_true",
                    help="do not fetch Solara's browser assets from the npm registry when missing")
    ap.set_defaults(func=cmd_app)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        argv = ["run"]
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except ScenarioError as err:
        print(f"govsim: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("govsim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
