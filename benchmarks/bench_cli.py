"""Command-line options the benchmark scripts share: the scenario file, its days and
``--set KEY=VALUE`` overrides (as in ``govsim run --set``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from govsim import load_scenario
from govsim.scenario import GovernanceScenario, ScenarioError

ROOT = Path(__file__).resolve().parents[1]
DISTRICT = ROOT / "scenarios" / "district.toml"  # the benchmarks' default scenario


def scenario_options(ap: argparse.ArgumentParser, default: Path = DISTRICT) -> None:
    """Add ``--scenario`` (default: the district), ``--steps`` and ``--set`` to ``ap``."""
    ap.add_argument("--scenario", type=Path, default=default)
    ap.add_argument("--steps", type=int, default=None, help="days to run (default: the scenario's)")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="override a scenario value, as in govsim run (repeatable)")


def load_scenario_from(args: argparse.Namespace) -> GovernanceScenario:
    """The scenario the options name, with its overrides; a bad file or key exits with a
    one-line error."""
    try:
        return load_scenario(args.scenario, args.overrides or None)
    except ScenarioError as exc:
        raise SystemExit(f"error: {exc}") from None
