"""Figures for docs/tutorial.md, drawn from real runs.

    python docs/tutorial_figures/make.py [--work DIR]

Runs what the tutorial runs and writes, next to this file:

* ``participation_over_time.png`` participation rate per day over one year, one run of each
  shipped regime scenario (``govsim run scenarios/<regime>.toml``: seed 42);
* ``participation_by_regime.png`` mean participation rate per regime with 95% CIs, from the
  sweep ``govsim sweep experiments/compare_regimes.toml`` (60 runs);
* ``tradeoff.png`` the participation-resolution-cost trade-off of the same sweep;
* ``grid_pilot.png`` open cases and days to resolution per day, ``scenarios/hybrid.toml``
  with and without ``--set pilots.grid_management=true`` (seed 42).

It also prints the numbers the tutorial quotes. The sweep's per-run files go to ``--work``
(default ``out/tutorial``, git-ignored scratch); a second call re-uses them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from matplotlib.figure import Figure

from govsim import GovernanceModel, load_scenario
from govsim.analysis import format_table, group_stats, metric_by_regime, tradeoff
from govsim.experiment import load_experiment, run_experiment

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ORDER = ["self_governing", "hybrid", "government_led"]
COLOURS = {"self_governing": "#2ca02c", "hybrid": "#1f77b4", "government_led": "#d62728"}
DPI = 100
SUMMARY_KEYS = ("mean_participation_rate", "resolution_rate", "self_resolution_share",
                "mean_days_to_resolution", "escalations", "fiscal_spending",
                "cost_per_resolved_case", "social_cost_per_resolved_case")


def run(name: str, overrides: dict | None = None) -> GovernanceModel:
    """One run of a shipped scenario, as ``govsim run scenarios/<name>.toml [--set ...]``."""
    model = GovernanceModel(scenario=load_scenario(ROOT / "scenarios" / f"{name}.toml", overrides))
    return model.run()


def show_summary(title: str, model: GovernanceModel) -> None:
    s = model.summary()
    print(f"{title}: " + ", ".join(f"{k}={s[k]:.4g}" for k in SUMMARY_KEYS))


def participation_over_time(models: dict[str, GovernanceModel], path: Path) -> None:
    fig = Figure(figsize=(6.4, 3.2), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    for regime in ORDER:
        series = models[regime].series()
        ax.plot(series["day"], 100 * series["participation_rate"], color=COLOURS[regime],
                label=regime, linewidth=1.5)
    ax.set_xlabel("day", fontsize=9)
    ax.set_ylabel("participation rate (active in last 30 days, %)", fontsize=8)
    ax.set_title("One year of the field-report community under each regime (seed 42)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=8, frameon=False)
    fig.savefig(path, dpi=DPI)


def grid_pilot(plain: GovernanceModel, grid: GovernanceModel, path: Path) -> None:
    fig = Figure(figsize=(7.2, 3.0), dpi=DPI, layout="constrained")
    left, right = fig.subplots(1, 2)
    for model, name, colour in ((plain, "hybrid", "#1f77b4"),
                                (grid, "hybrid + grid management", "#ff7f0e")):
        series = model.series()
        left.plot(series["day"], series["open_cases"], color=colour, label=name, linewidth=1.2)
        right.plot(series["day"], series["mean_days_to_resolution"], color=colour, label=name,
                   linewidth=1.5)
    left.set_title("Open cases (waiting or in hand)", fontsize=10)
    right.set_title("Days to resolution (mean so far)", fontsize=10)
    for ax in (left, right):
        ax.set_xlabel("day", fontsize=9)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
    left.legend(fontsize=8, frameon=False)
    fig.savefig(path, dpi=DPI)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=ROOT / "out" / "tutorial",
                        help="scratch directory for the sweep's runs (default: out/tutorial)")
    args = parser.parse_args()

    # govsim run scenarios/<regime>.toml, for each regime.
    models = {regime: run(regime) for regime in ORDER}
    for regime in ORDER:
        show_summary(f"govsim run scenarios/{regime}.toml", models[regime])
    participation_over_time(models, HERE / "participation_over_time.png")

    # govsim run scenarios/hybrid.toml --set pilots.grid_management=true
    grid = run("hybrid", {"pilots.grid_management": True})
    show_summary("... --set pilots.grid_management=true", grid)
    grid_pilot(models["hybrid"], grid, HERE / "grid_pilot.png")

    # govsim sweep experiments/compare_regimes.toml
    exp = load_experiment(ROOT / "experiments" / "compare_regimes.toml")
    runs = run_experiment(exp, args.work / "compare_regimes", backend="process", progress=False)
    stats = group_stats(runs, list(exp.spec.metrics), by="regime")
    print(f"\ngovsim sweep experiments/compare_regimes.toml: {len(runs)} runs")
    print(format_table(stats))
    metric_by_regime(stats, "mean_participation_rate", order=ORDER,
                     path=HERE / "participation_by_regime.png")
    tradeoff(stats, order=ORDER, path=HERE / "tradeoff.png")

    for png in sorted(HERE.glob("*.png")):
        print(f"wrote {png.relative_to(ROOT)} ({png.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
