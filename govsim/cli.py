"""Command line: ``govsim run | sweep | compare | plot | discover | sensitivity | calibrate |
optimize | app | validate | regimes``; ``--lang zh`` for Chinese labels, reports and figures.

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

# The run summary: group -> (metric, number format). Labels come from the outcome registry
# (govsim.outcomes), in English or Chinese (--lang); group titles from outcomes.GROUPS.
SUMMARY_GROUPS = {
    "participation": [
        ("participation_rate", "pct"), ("mean_participation_rate", "pct"),
        ("meeting_attendance", "pct"), ("volunteer_hours", "int"), ("ladder_level", "f2"),
    ],
    "resolution": [
        ("cases_arisen", "int"), ("cases_detected", "int"), ("cases_resolved", "int"),
        ("resolution_rate", "pct"), ("screened_resolution_rate", "pct"),
        ("self_resolution_share", "pct"), ("mean_days_to_resolution", "f1"),
        ("median_days_to_resolution", "f1"), ("escalations", "int"),
        ("collective_incidents", "int"),
    ],
    "cost": [
        ("fiscal_spending", "money"), ("ngo_contract_spending", "money"),
        ("committee_staff_hours", "int"), ("resident_hours", "int"),
        ("cost_per_resolved_case", "money"), ("social_cost_per_resolved_case", "money"),
    ],
    "attitudes": [
        ("mean_trust_gov", "f3"), ("mean_trust_comm", "f3"), ("mean_belonging", "f3"),
        ("mean_satisfaction", "f3"),
    ],
}

# Summary figures left out of the terminal summary (they are in summary.json).
SUMMARY_HIDDEN = frozenset({
    "cases_lapsed", "cases_abandoned", "disputes_arisen", "disputes_detected",
    "disputes_resolved", "dispute_screened_resolution_rate", "dispute_self_resolution_share",
    "unresolved_open", "ngo_grant_spending", "donations", "resident_time_value", "ngos",
    "ngo_staff",
})


def _fmt(value, kind: str) -> str:
    if value is None or (isinstance(value, float) and value != value):  # NaN: an undefined ratio
        return "n/a"
    if kind == "pct":
        return f"{100 * value:6.1f} %"
    if kind == "int":
        return f"{value:,.0f}"
    if kind == "money":
        return f"{value:,.0f}"
    return f"{value:.{int(kind[1])}f}"


def _width(text: str) -> int:
    """Display width in a terminal (CJK characters take two columns)."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def format_summary(summary: dict, lang: str | None = None) -> str:
    """The run summary for a terminal, labels from :mod:`govsim.outcomes` in ``lang``.

    Outcomes the model adds later (numeric keys not in :data:`SUMMARY_GROUPS`) are listed
    under their registry group, or "Other", by their registry label or their own name.
    """
    from govsim.metrics import SUMMARY_METRICS
    from govsim.outcomes import GROUPS, get_language, group_of, label, outcome, use_language

    with use_language(lang):
        zh = get_language() == "zh"
        n_comm = summary["communities"]
        head = [
            f"{summary['scenario']}  "
            + (f"治理模式={label(summary['regime'])}" if zh
               else f"regime={summary['regime']} ({label(summary['regime'])})")
            + (f" pilots={summary['pilots']}" if summary.get("pilots") else "")
            + (f"  经费规则={summary['funding_rule']}  随机种子={summary['seed']}  天数={summary['days']}" if zh
               else f"  funding={summary['funding_rule']}  seed={summary['seed']}  days={summary['days']}"),
            (f"{summary['residents']:,} 名居民，{summary['households']:,} 户，{n_comm} 个社区" if zh
             else f"{summary['residents']:,} residents, {summary['households']:,} households, "
             f"{n_comm} communit{'y' if n_comm == 1 else 'ies'}"),
        ]
        groups = {k: list(v) for k, v in SUMMARY_GROUPS.items()}
        shown = {m for rows in groups.values() for m, _ in rows}
        # outcomes added to the model later, and the figures of the installed institutions
        extra = [k for k in summary if k not in SUMMARY_METRICS and group_of(k) == "institutions"]
        for m in (*SUMMARY_METRICS, *extra):
            if m in summary and m not in shown and m not in SUMMARY_HIDDEN \
                    and isinstance(summary[m], int | float):
                o = outcome(m)
                kind = {"share": "pct", "money": "money", "count": "int", "hours": "int",
                        "days": "f1"}.get(o.kind if o else "", "f3")
                groups.setdefault(group_of(m), []).append((m, kind))
        rows = [(g, [(label(m), _fmt(summary.get(m), kind)) for m, kind in items if m in summary])
                for g, items in groups.items()]
        width = max(_width(text) for _g, items in rows for text, _v in items)
        lines = list(head)
        for g, items in rows:
            if not items:
                continue
            lines.append("")
            en, zh_title = GROUPS.get(g, (g, g))
            lines.append(zh_title if zh else en)
            for text, value in items:
                lines.append(f"  {_pad(text, width)}  {value:>14}")
    return "\n".join(lines)


RUN_OUTPUTS = ("series", "communities", "cases")


def run_output_paths(out: Path, fmt: str = "csv") -> list[Path]:
    """The files ``govsim run`` writes into ``out``."""
    return [out / f"{name}.{fmt}" for name in RUN_OUTPUTS] + [out / "communities_series.parquet",
                                                               out / "summary.json"]


def write_outputs(model, out: Path, fmt: str = "csv") -> list[Path]:
    """Write per-step series, summary, per-community table, the daily per-community series
    and the case table (atomically)."""
    import io

    from govsim.experiment.paths import atomic_write_bytes, atomic_write_text
    from govsim.experiment.store import json_safe

    out.mkdir(parents=True, exist_ok=True)
    written = []
    frames = {"series": model.series(), "communities": model.community_table(),
              "cases": model.cases.to_frame()}
    for name in RUN_OUTPUTS:
        p = out / f"{name}.{fmt}"
        if fmt == "parquet":
            buf = io.BytesIO()
            frames[name].to_parquet(buf, index=False)
            atomic_write_bytes(p, buf.getvalue())
        else:
            atomic_write_text(p, frames[name].to_csv(index=False))
        written.append(p)
    # The daily per-community series is always Parquet (communities x days rows).
    p = out / "communities_series.parquet"
    buf = io.BytesIO()
    model.community_series().to_parquet(buf, index=False)
    atomic_write_bytes(p, buf.getvalue())
    written.append(p)
    p = out / "summary.json"
    doc = {"summary": model.summary(), "scenario": model.scenario.to_dict()}
    atomic_write_text(p, json.dumps(json_safe(doc), indent=2, allow_nan=False))
    written.append(p)
    return written


def check_out_dir(out: Path) -> None:
    """Fail before any work if the output directory cannot be made or written."""
    from govsim.experiment.paths import check_writable

    check_writable(out)


def default_out(name: str) -> Path:
    """``out/<name>``, the name made a single harmless folder name (never a path)."""
    from govsim.experiment.paths import safe_name

    return Path("out") / safe_name(name)


def cmd_run(args: argparse.Namespace) -> int:
    from govsim.experiment.estimate import estimate, guard
    from govsim.experiment.paths import refuse_overwrite
    from govsim.model import GovernanceModel

    path = Path(args.scenario) if args.scenario else default_scenario_path()
    sc = load_scenario(path, overrides=args.set or None, seed=args.seed, steps=args.steps)
    out = Path(args.out) if args.out else default_out(sc.name)
    guard(estimate(1, sc.to_dict()), args.yes, str(path), "a smaller population", quiet=args.quiet)
    check_out_dir(out)
    refuse_overwrite(run_output_paths(out, args.format), args.force)
    t0 = time.perf_counter()
    model = GovernanceModel(scenario=sc)
    if not args.quiet:
        from govsim.outcomes import use_language

        with use_language(getattr(args, "lang", None)):
            print(model.describe(), file=sys.stderr)
    model.run(progress=not args.quiet)
    elapsed = time.perf_counter() - t0
    summary = model.summary()
    print(format_summary(summary, getattr(args, "lang", None)))
    files = write_outputs(model, out, args.format)
    names = ", ".join(f.name for f in files)
    print(f"\n已写入 {names} 到 {out}/（{elapsed:.1f} 秒）" if _zh()
          else f"\nwrote {names} to {out}/  ({elapsed:.1f} s)")
    return 0


def _validate_one(p: str) -> str:
    """Validate a scenario, experiment or calibration file (told apart by their keys)."""
    from govsim.scenario import read_toml

    data = read_toml(p)
    if "levers" in data:
        from govsim.analysis.robust import load_optimization

        opt = load_optimization(p)
        return f"optimization {opt.spec.name}, {len(opt.spec.levers)} levers, {len(opt.spec.objectives)} objectives"
    if "targets" in data:
        from govsim.analysis.calibration import load_calibration

        cal = load_calibration(p)
        return f"calibration {cal.spec.name}, {len(cal.names)} parameters, {len(cal.spec.targets)} targets"
    if "scenario" in data and isinstance(data.get("scenario"), str):
        from govsim.experiment import load_experiment
        from govsim.experiment.design import count_runs

        exp = load_experiment(p)
        return f"experiment {exp.name}, {count_runs(exp):,} runs"
    sc = load_scenario(p)
    return f"{sc.name}, regime={sc.regime}, {sc.steps} days"


def cmd_validate(args: argparse.Namespace) -> int:
    """Check every file given; report each bad one on its own line; exit 2 if any is bad."""
    bad = 0
    for p in args.scenarios:
        try:
            print(f"{p}: ok ({_validate_one(p)})")
        except ScenarioError as err:
            bad += 1
            print(f"govsim: error: {err}", file=sys.stderr)
    if bad and len(args.scenarios) > 1:
        print(f"{bad} of {len(args.scenarios)} files invalid", file=sys.stdout)
    return 2 if bad else 0


def _zh() -> bool:
    """Whether this command speaks Chinese (--lang zh)."""
    from govsim.outcomes import get_language

    return get_language() == "zh"


def cmd_regimes(args: argparse.Namespace) -> int:
    from govsim.outcomes import REGIME_NOTES, get_language, label
    from govsim.regimes import CLASSES, REGIMES, compile_institutions

    for name in sorted(REGIMES):
        inst = compile_institutions(name, None, {})
        if get_language() != "zh":
            print(inst.describe())
            print(f"  {REGIMES[name].description}\n")
            continue
        print(f"{label(name)} [{name}]")
        print(f"  制度：{'、'.join(label(n) for n in inst.names)}")
        for cls in CLASSES:
            sep = "，然后 " if cls == "approval" else " > "
            print(f"  {label(cls)} -> {sep.join(label(lv) for lv in inst.data.chains[cls])}")
        print(f"  {REGIME_NOTES[name][1] if name in REGIME_NOTES else REGIMES[name].description}\n")
    return 0


def cmd_app(args: argparse.Namespace) -> int:
    """Serve the teaching app (govsim.viz.app) with Solara until Ctrl-C."""
    import signal
    import subprocess
    from importlib.util import find_spec

    if not 1 <= args.port <= 65535:
        raise ScenarioError(f"--port {args.port}: allowed: an integer in [1, 65535]")
    if find_spec("solara") is None or find_spec("mesa.visualization") is None:
        raise ScenarioError('the app needs Mesa\'s visualization extras: pip install -e ".[viz]"')
    from govsim.viz.assets import prepare_assets

    def log(msg: str) -> None:
        print(f"govsim app: {msg}", file=sys.stderr)

    env = prepare_assets(log=log)  # the installed solara-assets; never downloads
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


def _int_at_least(low: int, high: int | None = None):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low or (high is not None and value > high):
            rng = f"in [{low}, {high}]" if high is not None else f">= {low}"
            raise argparse.ArgumentTypeError(f"{value} is invalid; allowed: an integer {rng}")
        return value

    parse.__name__ = "integer"
    return parse


def _backend_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=("serial", "process", "dask", "ray"), default="process",
                   help="where runs execute (default: process pool on all cores)")
    p.add_argument("--workers", type=_int_at_least(1, 4096), help="number of worker processes (default: all cores)")
    p.add_argument("--address", help="scheduler address for dask/ray (default: start a local cluster); "
                   "a Dask scheduler runs pickled code: use only one you trust")
    p.add_argument("--tls-ca", metavar="FILE", help="Dask TLS: CA certificate (PEM) to check the scheduler")
    p.add_argument("--tls-cert", metavar="FILE", help="Dask TLS: this client's certificate (PEM)")
    p.add_argument("--tls-key", metavar="FILE", help="Dask TLS: this client's private key (PEM)")
    p.add_argument("--yes", action="store_true", help="run even past the size limits (runs, memory)")


def backend_options(args: argparse.Namespace) -> dict:
    """Check the backend flags before any work; return run_experiment's backend keywords."""
    from importlib.util import find_spec

    if args.backend == "ray" and find_spec("ray") is None:
        raise ScenarioError('--backend ray: ray is not installed; allowed: pip install -e ".[ray]", '
                            "or --backend serial|process|dask")
    if args.backend == "dask" and find_spec("distributed") is None:
        raise ScenarioError('--backend dask: dask.distributed is not installed; allowed: pip install -e ".[dask]", '
                            "or --backend serial|process")
    if args.address and args.backend not in ("dask", "ray"):
        raise ScenarioError(f"--address: only for --backend dask or ray, not {args.backend}")
    tls = {"ca": args.tls_ca, "cert": args.tls_cert, "key": args.tls_key}
    security = None
    if any(tls.values()):
        if args.backend != "dask" or not args.address:
            raise ScenarioError("--tls-ca/--tls-cert/--tls-key: only with --backend dask and --address tls://...")
        for flag, f in tls.items():
            if f is None:
                raise ScenarioError(f"--tls-{flag}: missing; allowed: all of --tls-ca, --tls-cert, --tls-key")
            if not Path(f).is_file():
                raise ScenarioError(f"--tls-{flag} {f}: file not found")
        if not args.address.startswith("tls://"):
            raise ScenarioError(f"--address {args.address}: TLS needs a tls:// address")
        from distributed.security import Security

        security = Security(tls_ca_file=tls["ca"], tls_client_cert=tls["cert"], tls_client_key=tls["key"],
                            require_encryption=True)
    return {"backend": args.backend, "workers": args.workers, "address": args.address, "security": security}


def cmd_sweep(args: argparse.Namespace) -> int:
    from govsim.experiment import load_experiment, run_experiment
    from govsim.experiment.design import count_points, count_runs
    from govsim.experiment.estimate import estimate, guard, largest_scenario

    opts = backend_options(args)
    exp = load_experiment(args.experiment, replicates=args.replicates, steps=args.steps, overrides=args.set)
    out = Path(args.out) if args.out else default_out(exp.name)
    n = count_runs(exp)
    est = estimate(n, largest_scenario(exp.base, exp.spec.parameters), backend=args.backend, workers=args.workers)
    guard(est, args.yes, args.experiment, "fewer samples, points or replicates", quiet=args.quiet)
    check_out_dir(out)
    if not args.quiet:
        k, pts, reps = len(exp.regimes), count_points(exp), exp.spec.replicates
        print(f"{exp.name}：{n} 次运行（{k} 种治理模式 x {pts} 个参数点 x {reps} 次重复）-> {out}/"
              if _zh() else f"{exp.name}: {n} runs ({k} regimes x {pts} points x {reps} replicates) -> {out}/",
              file=sys.stderr)
    df = run_experiment(exp, out, progress=not args.quiet, restart=args.restart, max_runs=args.max_runs, **opts)
    done = len(df)
    print(f"{n} 次运行中已有 {done} 次保存在 {out}/（results.parquet、results.csv）" if _zh()
          else f"{done} of {n} runs on disk in {out}/ (results.parquet, results.csv)")
    if done == n and not args.no_report:
        return _report(out, args.quiet)
    return 0


def _load_results(out: Path):
    """(run table, manifest) of a results directory: the run files of a sweep, else a shipped
    results.parquet / results.csv. One-line errors say how to regenerate."""
    import pandas as pd

    from govsim.experiment import ResultStore

    manifest: dict = {}
    df = pd.DataFrame()
    if (out / "runs").is_dir():  # a sweep's folder: the store checks its manifest and files
        store = ResultStore(out)
        manifest = store.manifest()
        df = store.load()
    else:
        if (out / "manifest.json").is_file():
            try:
                manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError):
                raise ScenarioError(f"{out / 'manifest.json'}: not valid JSON") from None
        for name in ("results.parquet", "results.csv"):  # a shipped, canonical results table
            if (out / name).is_file():
                df = pd.read_parquet(out / name) if name.endswith("parquet") else pd.read_csv(out / name)
                break
    if df.empty:
        how = (f"govsim sweep {manifest['file']} --out {out}" if manifest.get("file")
               else f"govsim sweep EXPERIMENT.toml --out {out}")
        raise ScenarioError(f"{out}: no finished runs and no results table; regenerate with: {how}")
    if "regime" not in df.columns:
        raise ScenarioError(f"{out}: the results table has no 'regime' column; is it a sweep's?")
    return df, manifest


def _metric_columns(df, manifest: dict, metrics: list[str] | None) -> list[str]:
    from govsim.outcomes import OUTCOMES

    if metrics:
        unknown = [m for m in metrics if m not in df.columns]
        if unknown:
            raise ScenarioError(f"--metrics: unknown metric {unknown[0]!r} in the results table; "
                                f"allowed: {', '.join(c for c in df.columns if c in OUTCOMES)}")
        return list(metrics)
    wanted = manifest.get("spec", {}).get("metrics") or [c for c in df.columns if c in OUTCOMES]
    return [m for m in wanted if m in df.columns]


def _report(out: Path, quiet: bool = False, metrics: list[str] | None = None, test: str = "welch",
            lang: str | None = None, report_dir: Path | None = None,
            formats: tuple[str, ...] = ()) -> int:
    from govsim.analysis import format_table, group_stats, write_report
    from govsim.outcomes import label, use_language

    df, manifest = _load_results(out)
    chosen = _metric_columns(df, manifest, metrics)
    if report_dir is None:
        report_dir = out / "report"
        if metrics:  # a subset: its own folder, never over the full report
            name = "report-" + "+".join(chosen)
            report_dir = out / (name if len(name) <= 80 else f"report-{len(chosen)}-metrics")
    params = [p for p in manifest.get("params", []) if p in df.columns]
    varied = [p for p in params if df[p].nunique(dropna=False) > 1]
    spec = manifest.get("spec", {})
    name = manifest.get("experiment", out.name)
    with use_language(lang) as lg:
        title = (f"{name}：{label('regime')}比较" if lg == "zh"
                 else f"{name}: comparison of regimes")
        paths = write_report(df, report_dir, chosen, params=params, test=test,
                             rel_precision=spec.get("target_precision", 0.05), title=title,
                             formats=formats)
        if not quiet:
            # per regime and varied parameter value: a varied parameter is never pooled here
            print(format_table(group_stats(df, chosen, by=["regime", *varied]), chosen))
    print(f"{'报告：' if _zh() else 'report: '}{paths.get('report', report_dir)}")
    if (out / "panel.parquet").is_file() and spec.get("treatment"):
        import pandas as pd

        from govsim.analysis.did import write_did_report

        with use_language(lang) as lg:
            zh = lg == "zh"
            did_paths = write_did_report(pd.read_parquet(out / "panel.parquet"), report_dir / "did",
                                         f"{name}：双重差分" if zh else f"{name}: difference-in-differences",
                                         spec["treatment"])
        print(f"{'干预效果报告：' if zh else 'treatment report: '}{did_paths['report']}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    out = Path(args.results)
    if not out.is_dir():
        raise ScenarioError(f"{out}: not a results directory (give the folder govsim sweep wrote)")
    report_dir = Path(args.out) if args.out else None
    return _report(out, args.quiet, args.metrics, args.test, getattr(args, "lang", None),
                   report_dir, tuple(args.format or ()))


DEFAULT_SERIES = ("participation_rate", "resolution_rate", "cost_per_resolved_case",
                  "mean_satisfaction", "open_cases", "mean_trust_gov")


def cmd_plot(args: argparse.Namespace) -> int:
    """Figures of a `govsim run` folder (daily series) or a sweep folder (by regime)."""
    import pandas as pd

    from govsim.analysis import group_stats, metric_by_regime, metric_vs_parameter, time_series
    from govsim.analysis.plots import save_figure
    from govsim.outcomes import use_language

    src = Path(args.path)
    if not src.is_dir():
        raise ScenarioError(f"{src}: not a folder (give a govsim run or govsim sweep output folder)")
    out = Path(args.out) if args.out else src / "plots"
    formats = list(dict.fromkeys(args.format or ["png", "svg"]))
    written: list[Path] = []

    def read_series(folder: Path):
        for name in ("series.parquet", "series.csv"):
            if (folder / name).is_file():
                return (pd.read_parquet(folder / name) if name.endswith("parquet")
                        else pd.read_csv(folder / name))
        return None

    with use_language(getattr(args, "lang", None)):
        series = read_series(src)
        if series is not None:
            metrics = args.metrics or [m for m in DEFAULT_SERIES if m in series.columns]
            missing = [m for m in metrics if m not in series.columns]
            if missing:
                raise ScenarioError(f"--metrics: {', '.join(missing)} not in {src}/series")
            previous = None
            if args.previous:
                previous = read_series(Path(args.previous))
                if previous is None:
                    raise ScenarioError(f"--previous {args.previous}: no series.csv there")
            title = src.name
            if (src / "summary.json").is_file():
                sm = json.loads((src / "summary.json").read_text())["summary"]
                from govsim.outcomes import label

                title = f"{sm.get('scenario', src.name)}: {label(sm.get('regime', ''))}"
            fig = time_series(series, metrics, previous=previous, title=title)
            check_out_dir(out)
            written += save_figure(fig, out / f"series.{formats[0]}", formats[1:])
        else:
            df, manifest = _load_results(src)
            metrics = _metric_columns(df, manifest, args.metrics)
            params = [p for p in manifest.get("params", []) if p in df.columns
                      and df[p].nunique(dropna=False) > 1]
            check_out_dir(out)
            pooled = group_stats(df, metrics, by=["regime"])
            for m in metrics:
                hue = params[0] if len(params) == 1 and df[params[0]].nunique() <= 6 else None
                stats = group_stats(df, metrics, by=["regime", hue]) if hue else pooled
                fig = metric_by_regime(stats, m, hue=hue)
                written += save_figure(fig, out / f"{m}_by_regime.{formats[0]}", formats[1:])
                for prm in params:
                    col = df[prm]
                    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
                        fig = metric_vs_parameter(group_stats(df, [m], by=["regime", prm]), m, prm)
                        written += save_figure(fig, out / f"{m}_vs_{prm}.{formats[0]}",
                                               formats[1:])
            tables = out / "group_stats.xlsx"
            group_stats(df, metrics, by=["regime", *params]).to_excel(tables, index=False)
            written.append(tables)
    print(f"已写入 {len(written)} 个文件到 {out}/" if _zh() else f"wrote {len(written)} files to {out}/")
    return 0


def cmd_discover(args: argparse.Namespace) -> int:
    """Scenario discovery (PRIM, CART, extra-trees scores) over a sweep's results."""
    import math

    from govsim.analysis.discovery import default_inputs, discover, write_discovery

    if not math.isfinite(args.threshold):
        raise ScenarioError(f"--threshold {args.threshold}: allowed: a finite number")
    src = Path(args.results)
    if not src.is_dir():
        raise ScenarioError(f"{src}: not a directory; allowed: a results folder written by govsim sweep")
    df, manifest = _load_results(src)
    inputs = args.inputs or default_inputs(df, manifest.get("params") or None)
    out = Path(args.out) if args.out else src / f"discovery-{args.outcome}"
    check_out_dir(out)
    if not args.quiet:
        print(f"discover：{len(df)} 次运行，输入 {'、'.join(inputs)}" if _zh()
              else f"discover: {len(df)} runs, inputs {', '.join(inputs)}", file=sys.stderr)
    d = discover(df, args.outcome, args.threshold, below=args.below, inputs=inputs,
                 test_share=args.test_share, seed=args.seed, n_boot=args.boot)
    paths = write_discovery(d, out, tuple(args.format or ()))
    print(d.summary())
    print(f"{'报告：' if _zh() else 'report: '}{paths['md']}")
    return 0


def cmd_optimize(args: argparse.Namespace) -> int:
    """Robust policy search (NSGA-II over levers, across uncertain futures); resumable."""
    from govsim.analysis.robust import load_optimization, optimize, write_optimize
    from govsim.experiment.estimate import estimate, guard

    opts = backend_options(args)
    opt = load_optimization(args.config)
    if args.generations:
        opt.spec = opt.spec.model_copy(update={"generations": args.generations})
    spec = opt.spec
    out = Path(args.out) if args.out else default_out(spec.name)
    runs = (spec.population * spec.generations + 1) * spec.futures
    guard(estimate(runs, opt.base, backend=args.backend, workers=args.workers), args.yes, args.config,
          "a smaller population, fewer generations or futures", quiet=args.quiet)
    check_out_dir(out)
    res = optimize(opt, out, progress=not args.quiet, restart=args.restart, max_runs=args.max_runs, **opts)
    paths = write_optimize(opt, res, out)
    print(paths["report"].read_text())
    return 0


def cmd_sensitivity(args: argparse.Namespace) -> int:
    from govsim.analysis.sensitivity import write_sensitivity
    from govsim.experiment import load_experiment, run_experiment
    from govsim.experiment.design import count_runs
    from govsim.experiment.estimate import estimate, guard, largest_scenario

    opts = backend_options(args)
    exp = load_experiment(args.experiment)
    if exp.spec.design not in ("sobol", "morris"):
        raise ScenarioError(f"{args.experiment}: design = {exp.spec.design!r}; allowed: 'sobol' or 'morris'")
    unknown = [m for m in args.metrics or [] if m not in exp.spec.metrics]
    if unknown:
        raise ScenarioError(f"--metrics: {unknown[0]!r} is not kept by {args.experiment}; "
                            f"allowed: {', '.join(exp.spec.metrics)}")
    out = Path(args.out) if args.out else default_out(exp.name)
    est = estimate(count_runs(exp), largest_scenario(exp.base, exp.spec.parameters), backend=args.backend,
                   workers=args.workers)
    guard(est, args.yes, args.experiment, "fewer samples or replicates", quiet=args.quiet)
    check_out_dir(out)
    df = run_experiment(exp, out, progress=not args.quiet, restart=args.restart, **opts)
    metrics = args.metrics or list(exp.spec.metrics)
    paths = write_sensitivity(exp, df, out / "sensitivity", metrics)
    print(paths["md"].read_text())
    from govsim.outcomes import get_language

    print(f"{'指数表：' if get_language() == 'zh' else 'indices: '}{paths['csv']}")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from govsim.analysis.calibration import (
        calibrate,
        calibration_outputs,
        load_calibration,
        write_calibration,
    )
    from govsim.experiment.estimate import estimate, guard
    from govsim.experiment.paths import check_writable, refuse_overwrite

    cal = load_calibration(args.calibration)
    method = args.method or cal.spec.method
    if method in ("abc", "history"):
        return _calibrate_lfi(args, cal, method)
    if args.fast:
        raise ScenarioError(f"--fast: only with --method abc or history, not {method}")
    if args.address or args.tls_ca or args.tls_cert or args.tls_key:
        raise ScenarioError("--address/--tls-*: point calibration runs on a local backend; allowed: serial, "
                            "process (or --method abc|history)")
    if args.backend == "ray":
        backend_options(args)
    if args.method:
        cal.spec = cal.spec.model_copy(update={"method": method})
    out = Path(args.out) if args.out else default_out(cal.spec.name)
    spec = cal.spec
    runs = spec.max_evaluations * spec.replicates + spec.validation_replicates
    guard(estimate(runs, cal.base, backend=args.backend, workers=args.workers), args.yes, args.calibration,
          "fewer evaluations or replicates", quiet=args.quiet)
    check_out_dir(out)
    planned = calibration_outputs(cal, out)
    scenario_out = Path(args.scenario_out) if args.scenario_out else None
    targets = [planned["trace"], planned["report"], scenario_out or planned["scenario"]]
    refuse_overwrite(targets, args.force)
    if scenario_out is not None:
        check_writable(scenario_out.parent, "--scenario-out")
        if scenario_out.is_dir():
            raise ScenarioError(f"--scenario-out {scenario_out}: is a directory; allowed: a .toml file path")
    result = calibrate(cal, backend=args.backend, workers=args.workers, progress=not args.quiet)
    paths = write_calibration(cal, result, out, scenario_out)
    print(paths["report"].read_text())
    return 0


def _calibrate_lfi(args: argparse.Namespace, cal, method: str) -> int:
    """ABC-SMC or history matching, on any backend (Dask included)."""
    from govsim.analysis.calibration_lfi import planned_runs, run_lfi, write_lfi
    from govsim.experiment.estimate import estimate, guard
    from govsim.experiment.paths import refuse_overwrite

    if args.scenario_out:
        raise ScenarioError(f"--scenario-out: only for point calibration, not --method {method}")
    opts = backend_options(args)
    out = Path(args.out) if args.out else default_out(cal.spec.name)
    gens = args.generations if method == "abc" else None
    guard(estimate(planned_runs(cal, method, args.fast, gens), cal.base, backend=args.backend, workers=args.workers),
          args.yes, args.calibration, "fewer particles, generations or points", quiet=args.quiet)
    check_out_dir(out)
    resumable = method == "abc"
    if args.generations is not None and not resumable:
        raise ScenarioError(f"--generations: only with --method abc, not {method}")
    if not (resumable and (out / "abc" / "state.json").exists()):  # a stored ABC run resumes
        refuse_overwrite([out / "calibration.md", out / "summary.json"], args.force)
    extra = {"out": out, "restart": args.restart, "generations": args.generations} if resumable else {}
    run = run_lfi(cal, method, progress=not args.quiet, fast=args.fast, **opts, **extra)
    paths = write_lfi(cal, run, out)
    print(paths["report"].read_text())
    return 0


class OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line ``govsim: error: <command>: <what>`` with exit status 2."""

    def error(self, message: str):  # type: ignore[override]
        cmd = self.prog.removeprefix("govsim").strip()
        text = " ".join(message.split())
        self.exit(2, f"govsim: error: {cmd + ': ' if cmd else ''}{text}\n")


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="govsim", description="Agent-based simulation of community governance.")
    sub = p.add_subparsers(dest="command")
    r = sub.add_parser("run", help="run one scenario and write its series and summary")
    r.add_argument("scenario", nargs="?", help="scenario TOML (default: scenarios/hybrid.toml)")
    r.add_argument("--seed", type=int, help="random seed (overrides the file)")
    r.add_argument("--steps", type=int, help="days to simulate (overrides the file)")
    r.add_argument("--force", action="store_true", help="overwrite the outputs of an earlier run in --out")
    r.add_argument("--yes", action="store_true", help="run even past the memory limit (huge populations)")
    r.add_argument("--out", help="output directory (default: out/<scenario name>)")
    r.add_argument("--set", action="append", metavar="SECTION.FIELD=VALUE",
                   help="override a scenario field, e.g. --set pilots.grid_management=true (repeatable)")
    r.add_argument("--format", choices=("csv", "parquet"), default="csv", help="table format (default csv)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_run)
    v = sub.add_parser("validate", help="check scenario, experiment or calibration files; report every bad one")
    v.add_argument("scenarios", nargs="+")
    v.set_defaults(func=cmd_validate)
    w = sub.add_parser("sweep", help="run an experiment (regimes x parameters x replicates); resumable")
    w.add_argument("experiment", help="experiment TOML (see experiments/)")
    w.add_argument("--out", help="results directory (default: out/<experiment name>)")
    _backend_args(w)
    w.add_argument("--replicates", type=_int_at_least(1, 100_000),
                   help="replicates per point (overrides the file; more replicates add to existing results)")
    w.add_argument("--steps", type=_int_at_least(1, 36_500), help="days per run (overrides the file)")
    w.add_argument("--set", action="append", metavar="SECTION.FIELD=VALUE",
                   help="fixed change to the base scenario, like the file's [overrides] (repeatable)")
    w.add_argument("--restart", action="store_true", help="discard results of a different experiment in --out")
    w.add_argument("--max-runs", type=_int_at_least(1), help="stop after this many new runs (trial runs)")
    w.add_argument("--no-report", action="store_true", help="do not write the comparison report at the end")
    w.add_argument("--quiet", action="store_true", help="no progress bar or table")
    w.set_defaults(func=cmd_sweep)
    c = sub.add_parser("compare", help="statistics and report of a results directory")
    c.add_argument("results", help="results directory written by govsim sweep")
    c.add_argument("--metrics", nargs="+", help="metrics to compare (default: the experiment's)")
    c.add_argument("--test", choices=("welch", "mannwhitney"), default="welch",
                   help="test of each pair (paired variants when runs share seeds)")
    c.add_argument("--out", help="report folder (default: RESULTS/report, or "
                   "RESULTS/report-<metrics> with --metrics)")
    c.add_argument("--format", nargs="+", choices=("svg", "pdf"),
                   help="figure formats besides PNG")
    c.add_argument("--quiet", action="store_true")
    c.set_defaults(func=cmd_compare)
    pl = sub.add_parser("plot", help="figures of a run folder (daily series) or a sweep folder "
                        "(metrics by regime), PNG and SVG")
    pl.add_argument("path", metavar="RUN_OR_SWEEP", help="folder written by govsim run or govsim sweep")
    pl.add_argument("--metrics", nargs="+", help="what to draw (default: headline outcomes / "
                    "the experiment's metrics)")
    pl.add_argument("--previous", metavar="RUN", help="another run folder drawn dashed, for "
                    "before/after comparison (run folders only)")
    pl.add_argument("--out", help="figure folder (default: RUN_OR_SWEEP/plots)")
    pl.add_argument("--format", nargs="+", choices=("png", "svg", "pdf"),
                    help="figure formats (default: png svg)")
    pl.set_defaults(func=cmd_plot)
    di = sub.add_parser("discover", help="scenario discovery: PRIM boxes, CART and feature scores "
                        "of where an outcome is bad")
    di.add_argument("results", help="results directory written by govsim sweep")
    di.add_argument("--outcome", required=True, help="the outcome column, e.g. resolution_rate")
    di.add_argument("--threshold", type=float, required=True, help="bad means above this (or below, --below)")
    di.add_argument("--below", action="store_true", help="bad means below the threshold")
    di.add_argument("--inputs", nargs="+", help="columns that explain it (default: varied parameters "
                    "and the regime)")
    di.add_argument("--test-share", type=float, default=0.3, help="share of parameter points held out "
                    "(default 0.3)")
    di.add_argument("--boot", type=_int_at_least(10, 100_000), default=200,
                    help="bootstrap draws for the CIs (default 200)")
    di.add_argument("--seed", type=_int_at_least(0), default=0, help="seed of the split and the trees")
    di.add_argument("--out", help="report folder (default: RESULTS/discovery-OUTCOME)")
    di.add_argument("--format", nargs="+", choices=("svg", "pdf"), help="figure formats besides PNG")
    di.add_argument("--quiet", action="store_true")
    di.set_defaults(func=cmd_discover)
    se = sub.add_parser("sensitivity", help="Sobol or Morris indices (SALib) of an experiment's outputs")
    se.add_argument("experiment", help="experiment TOML with design = 'sobol' or 'morris'")
    se.add_argument("--out", help="results directory (default: out/<experiment name>)")
    se.add_argument("--metrics", nargs="+", help="outputs to analyse (default: the experiment's metrics)")
    _backend_args(se)
    se.add_argument("--restart", action="store_true")
    se.add_argument("--quiet", action="store_true")
    se.set_defaults(func=cmd_sensitivity)
    ca = sub.add_parser("calibrate", help="fit scenario parameters to target figures (scipy.optimize; "
                        "ABC-SMC or history matching with --method abc|history)")
    ca.add_argument("calibration", help="calibration TOML (see experiments/calibrate_zhaoshang.toml)")
    ca.add_argument("--out", help="report directory (default: out/<name>)")
    ca.add_argument("--scenario-out", help="where to write the calibrated scenario (default: the file's "
                    "output name inside --out)")
    ca.add_argument("--force", action="store_true", help="overwrite files of an earlier calibration")
    ca.add_argument("--method", choices=("nelder-mead", "powell", "differential_evolution", "abc", "history"),
                    help="nelder-mead (quick point estimate; default unless the file says otherwise), powell, "
                    "differential_evolution, abc (ABC-SMC posterior) or history (history matching)")
    ca.add_argument("--fast", action="store_true", help="abc/history: a small, coarse run (CI, notebooks)")
    ca.add_argument("--generations", type=_int_at_least(1, 100),
                    help="abc: generations (overrides the file); more than a finished run in --out extends it")
    ca.add_argument("--restart", action="store_true",
                    help="abc: discard the stored run in --out instead of resuming it")
    _backend_args(ca)
    ca.add_argument("--quiet", action="store_true")
    ca.set_defaults(func=cmd_calibrate)
    op = sub.add_parser("optimize", help="robust policy search: NSGA-II over levers across uncertain "
                        "futures (regret or satisficing); resumable")
    op.add_argument("config", help="optimisation TOML (see experiments/optimize_policy.toml)")
    op.add_argument("--out", help="results directory (default: out/<name>); the search resumes from its runs")
    op.add_argument("--generations", type=_int_at_least(1, 10_000), help="generations (overrides the file)")
    op.add_argument("--max-runs", type=_int_at_least(1), help="stop after this many new runs (trial runs)")
    op.add_argument("--restart", action="store_true", help="discard the runs already in --out")
    _backend_args(op)
    op.add_argument("--quiet", action="store_true")
    op.set_defaults(func=cmd_optimize)
    g = sub.add_parser("regimes", help="list the regimes and their escalation chains")
    g.set_defaults(func=cmd_regimes)
    ap = sub.add_parser("app", help="interactive teaching app in the browser (Mesa SolaraViz)")
    ap.add_argument("--port", type=_int_at_least(1, 65535), default=8765, help="port to serve on (default 8765)")
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    ap.add_argument("--open", action="store_true", help="open the page in a web browser")
    ap.set_defaults(func=cmd_app)
    p.add_argument("--lang", choices=("en", "zh"), default=None,
                   help="language of labels, reports and figures: en (default) or zh (中文)")
    for name, subparser in sub.choices.items():
        subparser.add_argument("--lang", choices=("en", "zh"), default=argparse.SUPPRESS,
                               help="language of labels, reports and figures: en or zh (中文)")
        if name in EXAMPLES:
            subparser.formatter_class = argparse.RawDescriptionHelpFormatter
            subparser.epilog = "example:\n" + "\n".join(f"  {e}" for e in EXAMPLES[name])
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = ("examples:\n" + "\n".join(f"  {EXAMPLES[k][0]}" for k in
                                           ("run", "sweep", "compare", "plot", "app"))
                + "\n\n'govsim COMMAND --help' shows each command's options.")
    return p


EXAMPLES = {
    "run": ["govsim run scenarios/hybrid.toml --steps 365 --out out/hybrid",
            "govsim run --lang zh    # 中文摘要"],
    "validate": ["govsim validate scenarios/*.toml"],
    "sweep": ["govsim sweep experiments/compare_regimes.toml --out out/compare_regimes"],
    "compare": ["govsim compare results/compare_regimes",
                "govsim compare out/compare_regimes --metrics resolution_rate --lang zh"],
    "sensitivity": ["govsim sensitivity experiments/grid_sensitivity.toml --out out/grid"],
    "calibrate": ["govsim calibrate experiments/calibrate_zhaoshang.toml --out out/calibration",
                  "govsim calibrate experiments/calibrate_zhaoshang_abc.toml --method abc --out out/abc"],
    "regimes": ["govsim regimes"],
    "optimize": ["govsim optimize experiments/optimize_policy.toml --out out/optimize_policy"],
    "discover": ["govsim discover results/compare_regimes --outcome resolution_rate --threshold 0.8 --below"],
    "app": ["govsim app --open"],
    "plot": ["govsim plot out/hybrid                 # daily series of a run",
             "govsim plot results/compare_regimes --format png svg pdf --lang zh"],
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    if not argv:  # bare govsim: say what it can do, run nothing
        parser.print_help()
        return 0
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from govsim.outcomes import use_language

    try:
        with use_language(getattr(args, "lang", None)):  # for this command only
            return args.func(args)
    except ScenarioError as err:
        print(f"govsim: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # disk full, permissions: the file and the reason, on one line
        where = f"{err.filename}: " if getattr(err, "filename", None) else ""
        print(f"govsim: error: {where}{err.strerror or err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("govsim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
