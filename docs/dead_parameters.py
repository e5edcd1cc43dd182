"""Screen for dead parameters: does every numeric parameter change some outcome?

A Morris screen (SALib) over every numeric scenario parameter, every regime setting and
every setting of the institutions the regime installs, on the default scenario under each
regime. Every run uses the **same seed**: the model is deterministic given its seed, so a
parameter that changes nothing gives elementary effects of exactly zero, and any non-zero
effect is real (not noise). Parameters only read by a pilot or an institution a regime does
not install are screened where they are installed (``--pilots`` switches every pilot on
for a fourth screen).

    python docs/dead_parameters.py --trajectories 2 --steps 365 --out docs/dead_parameters.md

Writes a table: per parameter, the largest normalised mu* over the outcomes, per screen;
parameters with zero effect everywhere are listed as inert.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from SALib.analyze import morris as morris_analyze  # noqa: E402
from SALib.sample import morris as morris_sample  # noqa: E402

from govsim import GovernanceModel, load_scenario  # noqa: E402
from govsim.institutions import INSTITUTIONS, PILOT_INSTITUTIONS  # noqa: E402
from govsim.regimes import REGIMES, RegimeSettings  # noqa: E402
from govsim.scenario import SECTIONS, ScenarioSpec, _unwrap, constraint_bounds  # noqa: E402

OUTCOMES = ("mean_participation_rate", "resolution_rate", "self_resolution_share", "cost_per_resolved_case",
            "mean_days_to_resolution", "emergency_response_days", "local_migrant_resolution_gap",
            "mean_satisfaction", "collective_incidents", "cases_abandoned", "social_cost_per_resolved_case")
CLASS_SHARES = ("cases.general_share", "cases.coordination_share", "cases.emergency_share", "cases.approval_share")
# Why a parameter reads 0 in every screen at the default scenarios (kept with the script so a
# regenerated table keeps its explanations; a new inert parameter is listed as unexplained).
WHY = {
    'government.communities_per_street': 'groups communities under street offices: every default scenario has one community, so one street; it acts in multi-community scenarios (district.toml, zhaoshang_grid.toml).',
    'institutions.admin_hierarchy.appraisal_days': "the hierarchy reshuffles a committee that does not get its pushed-down work done; the default government-led committee always does (administration comes first), so no appraisal ever reshuffles. Acts when push-down exceeds the committee's hours (e.g. `government.task_types` higher, fewer workers).", 'institutions.admin_hierarchy.reshuffle_below': 'as `appraisal_days`: a threshold on admin completion, which is 1 for the default committee.',
    'institutions.owners_committees.stall_below': "owners' committees are re-elected yearly, so a stall acts from the second year of a run; the screens run one year.", 'institutions.regional_centre.head_cases_per_meeting': 'a cap on the requests the centre head takes up at one meeting; attendees bring fewer than 4 open requests to a meeting at the default settings, so the cap does not bind. It binds in bigger or more stressed communities.',
    'institutions.resident_dues.fix_cost': 'the board can always afford the few fixes attendees bring at the default dues; the cost binds when dues are low (`resident_dues.fee_per_month`) or needs many (the social cost counts dues collected, not how the board spends them).',
    'institutions.ngo_outsourcing.renew_above': "consulted only at the end of a contract term; at the default term (365 days, evaluations every 90) the first term ends on day 449, after a one-year screen, so it acts only where the screen also shortens `term_days` (term 90 and renew_above 0.99: four terminations and five tenders in a year).",
    'institutions.ngo_outsourcing.term_days': "ends a term, where a contractor rated below `renew_above` is replaced; the default contractor rates about 0.57, above the default 0.55, so a shorter term only adds renewals (a count, not a screened outcome). Acts together with a stricter `renew_above`.",
    'institutions.party_co_governance.cases_per_meeting': "a cap on the coordination cases the board takes up at one meeting; at most 5 wait at a board meeting at the default settings (cap 10), so it binds only near the low end of the screened range.",
    'population.household_size': "used only when a scenario does not give `people`; the default scenarios give the field report's 3,514 people.", 'population.size_variation': 'spreads households over communities; the default scenarios have one community. Acts in multi-community scenarios.',
}
SKIP = {"population.communities", "population.households", "population.people", "committees.min_members",
        "committees.max_members"}  # structure: screened by scenario files, not as a knob


def _bounds(default: float, meta: list, integer: bool) -> tuple[float, float] | None:
    lo, lo_open, hi, hi_open = constraint_bounds(meta)
    if default == 0:  # a quarter of the allowed range (keeps shares that must add up valid)
        a, b = 0.0, 0.25 * (hi if hi is not None and math.isfinite(hi) and hi <= 10 else 1.0)
    else:
        a, b = sorted((default * 0.5, default * 1.5))
    if lo is not None:
        a = max(a, lo + (1e-6 if lo_open else 0.0))
    if hi is not None and math.isfinite(hi):
        b = min(b, hi - (1e-6 if hi_open else 0.0))
    if integer:
        a, b = math.ceil(a), math.floor(b)
    return (a, b) if b > a else None


def _numeric_fields(model_cls, prefix: str, defaults) -> list[tuple[str, float, float, bool]]:
    out = []
    for name, info in model_cls.model_fields.items():
        base, meta = _unwrap(info.annotation)
        if base not in (int, float) or base is bool:
            continue
        default = getattr(defaults, name, info.default)
        if default is None or not isinstance(default, (int, float)) or isinstance(default, bool):
            continue
        b = _bounds(float(default), list(info.metadata) + meta, base is int)
        if b is not None and f"{prefix}{name}" not in SKIP:
            out.append((f"{prefix}{name}", b[0], b[1], base is int))
    return out


def parameters(regime: str, institutions: tuple[str, ...]) -> list[tuple[str, float, float, bool]]:
    spec = ScenarioSpec()
    params = []
    for sec in SECTIONS:
        if sec in ("regime_settings", "institutions", "communities"):
            continue
        section = getattr(spec, sec)
        params += _numeric_fields(type(section), f"{sec}.", section)
    data = REGIMES[regime]
    params += _numeric_fields(RegimeSettings, "regime_settings.", data)
    for name in institutions:
        cls = INSTITUTIONS[name]
        settings = cls.Settings.model_validate(data.settings.get(name, {}))
        params += _numeric_fields(cls.Settings, f"institutions.{name}.", settings)
    return params


def _run(args) -> dict:
    path, overrides, seed, steps = args
    sc = load_scenario(path, overrides=overrides, seed=seed, steps=steps)
    s = GovernanceModel(scenario=sc, collect=False).run().summary()
    return {k: float(s.get(k, float("nan"))) for k in OUTCOMES}


def screen(regime: str, pilots: bool, trajectories: int, steps: int, seed: int, workers: int) -> dict[str, float]:
    path = ROOT / "scenarios" / f"{regime}.toml"
    base_over = [f"pilots.{p}=true" for p in PILOT_INSTITUTIONS if p != "owners_committees"] if pilots else []
    if pilots:
        base_over.append("committees.owners_committees=true")
    m = GovernanceModel(scenario=load_scenario(path, overrides=base_over or None), collect=False)
    params = parameters(regime, m.institutions.names)
    problem = {"num_vars": len(params), "names": [p[0] for p in params], "bounds": [[p[1], p[2]] for p in params]}
    X = morris_sample.sample(problem, trajectories, num_levels=4, seed=seed)
    jobs = []
    shares = [i for i, p in enumerate(params) if p[0] in CLASS_SHARES]
    defaults = ScenarioSpec().cases
    for row in X:
        row = row.copy()
        if shares:  # the four class shares must add up to 1: rescale the others around the varied one
            values = {n: getattr(defaults, n.split(".")[1]) for n in CLASS_SHARES}
            for i in shares:
                values[params[i][0]] = row[i]
            total = sum(values.values())
            for i in shares:
                row[i] = values[params[i][0]] / total
        over = list(base_over)
        for (name, _, _, integer), v in zip(params, row, strict=True):
            over.append(f"{name}={int(round(v)) if integer else float(v)!r}")
        if shares:
            rest = {n: v / total for n, v in values.items() if n not in {params[i][0] for i in shares}}
            over += [f"{n}={v!r}" for n, v in rest.items()]
        jobs.append((path, over, seed, steps))
    t = time.time()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        rows = list(pool.map(_run, jobs, chunksize=4))
    print(f"{regime}{' + pilots' if pilots else ''}: {len(jobs)} runs, {time.time() - t:.0f} s", file=sys.stderr)
    effect = dict.fromkeys(problem["names"], 0.0)
    for k in OUTCOMES:
        Y = np.array([r[k] for r in rows])
        Y = np.where(np.isfinite(Y), Y, np.nanmean(Y) if np.isfinite(Y).any() else 0.0)
        scale = np.std(Y) or 1.0
        res = morris_analyze.analyze(problem, X, Y, num_levels=4, seed=seed)
        for name, mu in zip(problem["names"], res["mu_star"], strict=True):
            effect[name] = max(effect[name], float(mu) / scale)
    return effect


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trajectories", type=int, default=2)
    ap.add_argument("--steps", type=int, default=365)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "docs" / "dead_parameters.md"))
    a = ap.parse_args(argv)
    screens = [(r, False) for r in ("self_governing", "government_led", "hybrid")] + [("hybrid", True)]
    results: dict[str, dict[str, float]] = {}
    for regime, pilots in screens:
        results[f"{regime}{' + pilots' if pilots else ''}"] = screen(regime, pilots, a.trajectories, a.steps, a.seed,
                                                                    a.workers)
    names = sorted(set().union(*results.values()))
    cols = list(results)
    lines = [
        "# Dead-parameter screen",
        "",
        f"Morris screen (SALib, {a.trajectories} trajectories, 4 levels, {a.steps} days, one seed for every run) "
        "of every numeric scenario parameter, regime setting and setting of the installed institutions, on "
        "the default scenario under each regime, and under hybrid with every pilot switched on. The model "
        "is deterministic given its seed, so an entry of 0 means the parameter changed no outcome at all "
        "in that screen; '-' means the parameter is not read there (its institution is not installed).",
        "Entries: the largest mu* over the outcomes, each divided by the outcome's standard deviation "
        f"over the screen ({', '.join(OUTCOMES)}).",
        "",
        f"Regenerate: `python docs/dead_parameters.py --trajectories {a.trajectories} --steps {a.steps}`.",
        "",
        "| parameter | " + " | ".join(cols) + " |",
        "|---|" + "---:|" * len(cols),
    ]
    inert = []
    for n in names:
        vals = [results[c].get(n) for c in cols]
        cells = ["-" if v is None else ("0" if v == 0 else f"{v:.2f}") for v in vals]
        lines.append(f"| `{n}` | " + " | ".join(cells) + " |")
        if all(v is None or v == 0 for v in vals):
            inert.append(n)
    lines += ["", "## Inert everywhere, and why", "",
              "Each is inert only at the default scenarios of the screens, for the reason given; none is "
              "dead in the model:", ""]
    lines += [f"- `{n}`: {WHY.get(n, 'UNEXPLAINED: remove the parameter or document why it is inert.')}"
              for n in inert] or ["None: every parameter changed at least one outcome in some screen."]
    Path(a.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {a.out}; inert: {', '.join(inert) or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
