"""Robust policy search (``govsim optimize``): NSGA-II over policy levers, each candidate run
across a sample of uncertain futures, with robustness as regret or satisficing.

An optimisation file (TOML)::

    name = "robust_policy"
    scenario = "../scenarios/zhaoshang_grid.toml"
    seed = 7
    population = 12          # NSGA-II population (pymoo)
    generations = 6
    futures = 6              # Latin-hypercube sample of the uncertain parameters
    robustness = "regret"    # regret | satisficing

    [levers]                 # what policy may set, within bounds
    "pilots.contract_share" = {min = 0.0, max = 0.5}
    "committees.council_interval_days" = {min = 7, max = 90, integer = true}

    [uncertain]              # what policy cannot set: the futures
    "cases.need_rate" = {min = 0.25, max = 0.5}

    [objectives]             # max | min | min_abs (smallest magnitude: group gaps)
    mean_participation_rate = "max"
    fiscal_spending = "min"
    local_migrant_resolution_gap = "min_abs"

    [satisficing]            # thresholds (robustness = "satisficing"); same directions
    resolution_rate = 0.9

**Robustness.** Every candidate is run in the same ``futures`` (common random numbers:
future ``s`` has one seed for every candidate), and so is the *status quo* (the base
scenario's lever values).

* ``regret``: each objective is the candidate's **worst-case regret against the status
  quo**: the largest shortfall, over the futures, of the candidate's value from the status
  quo's value in the same future (negative: better than the status quo in every future).
  This reference is fixed, so the search objectives do not move while the search runs.
  The report adds the classical (Savage) minimax regret of each Pareto candidate against
  the best Pareto candidate in each future.
* ``satisficing``: the objectives are each objective's mean over the futures, plus one
  more: the share of futures in which the candidate meets every threshold (maximised).

**Search and resume.** NSGA-II (pymoo, ask-and-tell, seeded). Each (candidate, future) run
goes through the same result store as sweeps (:class:`govsim.experiment.ResultStore`:
one verified Parquet file per run, journal, lock); its run id is a hash of its lever and
uncertain values. An interrupted search (Ctrl-C, kill -9) started again replays the same
seeded NSGA-II: runs on disk are read instead of run, so it reaches the same Pareto front
as an uninterrupted search. The **hypervolume** of the non-dominated set of everything
evaluated so far is tracked per generation, on objectives normalised by the first
generation's range (reference point 1.1 in each).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from govsim.experiment.design import RunSpec, run_seed
from govsim.experiment.executors import make_executor
from govsim.experiment.paths import atomic_write_text
from govsim.experiment.spec import Experiment, ExperimentSpec, ParamRange
from govsim.metrics import SUMMARY_METRICS
from govsim.scenario import (
    scenario_from_dict,
)

Direction = Literal["max", "min", "min_abs"]


class OptimizeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: str
    description: str = ""
    scenario: str
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0
    steps: Annotated[int, Field(ge=1, le=36_500)] | None = None
    population: Annotated[int, Field(ge=4, le=10_000)] = 12
    generations: Annotated[int, Field(ge=1, le=10_000)] = 6
    futures: Annotated[int, Field(ge=1, le=10_000)] = 6
    robustness: Literal["regret", "satisficing"] = "regret"
    levers: dict[str, ParamRange]
    uncertain: dict[str, ParamRange] = {}
    objectives: dict[str, Direction]
    satisficing: dict[str, float] = {}
    overrides: dict[str, Any] = {}

    @model_validator(mode="after")
    def _check(self) -> OptimizeSpec:
        if not self.levers:
            raise ValueError("levers: empty; allowed: one or more {min = a, max = b} ranges")
        if len(self.objectives) < 2:
            raise ValueError("objectives: fewer than 2; allowed: two or more metric = \"max\"|\"min\"|\"min_abs\"")
        for table in ("objectives", "satisficing"):
            bad = [m for m in getattr(self, table) if m not in SUMMARY_METRICS]
            if bad:
                raise ValueError(f"{table}: unknown metric {bad[0]!r}; allowed: {', '.join(SUMMARY_METRICS)}")
        both = set(self.levers) & set(self.uncertain)
        if both:
            raise ValueError(f"uncertain: {sorted(both)[0]!r} is also a lever; allowed: each field in one table")
        if self.robustness == "satisficing":
            if not self.satisficing:
                raise ValueError("satisficing: empty; allowed: metric = threshold for robustness = \"satisficing\"")
            bad = [m for m in self.satisficing if m not in self.objectives]
            if bad:
                raise ValueError(f"satisficing: {bad[0]!r} is not an objective")
        for m, v in self.satisficing.items():
            if not math.isfinite(v):
                raise ValueError(f"satisficing.{m} = {v}; allowed: a finite number")
        from govsim.experiment.spec import RESERVED_PARAMETERS, _check_integer_range

        for table in ("levers", "uncertain"):
            for key, rng in getattr(self, table).items():
                if key in RESERVED_PARAMETERS:
                    raise ValueError(f"{table}.{key}: cannot be varied ({RESERVED_PARAMETERS[key]})")
                if rng.integer:
                    _check_integer_range(key, rng)
        return self


@dataclass
class Optimization:
    spec: OptimizeSpec
    base: dict[str, Any]
    path: Path | None = None

    def experiment(self) -> Experiment:
        """The store's experiment: every field a run depends on (base, seed, metrics, ranges)."""
        metrics = tuple(dict.fromkeys([*self.spec.objectives, *self.spec.satisficing]))
        params = {**self.spec.levers, **self.spec.uncertain}
        es = ExperimentSpec(name=self.spec.name, scenario=self.spec.scenario, design="lhs", samples=1,
                            replicates=1, seed=self.spec.seed, metrics=metrics, parameters=params)
        return Experiment(spec=es, base=self.base, path=self.path)


def load_optimization(path: str | Path) -> Optimization:
    from govsim.analysis.calibration import check_ranges, load_spec_file

    p = Path(path)
    spec, base = load_spec_file(p, OptimizeSpec)
    for table in ("levers", "uncertain"):
        check_ranges(base, getattr(spec, table), f"{p}: {table}")
    return Optimization(spec=spec, base=base, path=p)


# ---------------------------------------------------------------------- evaluation
def _values(ranges: dict[str, ParamRange], u: np.ndarray) -> dict[str, Any]:
    out = {}
    for (key, rng), x in zip(ranges.items(), u, strict=True):
        v = rng.min + float(np.clip(x, 0.0, 1.0)) * (rng.max - rng.min)
        out[key] = int(round(v)) if rng.is_integer(key) else float(v)
    return out


def futures(opt: Optimization) -> list[dict[str, Any]]:
    """The uncertain parameters' Latin-hypercube sample (seeded; [{}] when nothing is uncertain)."""
    from scipy.stats import qmc

    spec = opt.spec
    if not spec.uncertain:
        return [{}] * spec.futures
    u = qmc.LatinHypercube(d=len(spec.uncertain), seed=np.random.default_rng(
        np.random.SeedSequence(spec.seed, spawn_key=(7, 7)))).random(spec.futures)
    return [_values(spec.uncertain, row) for row in u]


def run_id(levers: dict[str, Any], future: int) -> str:
    blob = json.dumps(levers, sort_keys=True, default=repr)
    return f"c{hashlib.sha256(blob.encode()).hexdigest()[:16]}-f{future:04d}"


def status_quo(opt: Optimization) -> dict[str, Any]:
    effective = scenario_from_dict(opt.base).to_dict()
    out = {}
    for key, rng in opt.spec.levers.items():
        node: Any = effective
        for part in key.split("."):
            node = node[part]
        out[key] = int(node) if rng.is_integer(key) else float(node)
    return out


class Evaluator:
    """Runs (candidate x future) through the result store; reads what is on disk."""

    def __init__(self, opt: Optimization, store, ex, bar=None, max_new: int | None = None):
        self.opt, self.store, self.ex, self.bar = opt, store, ex, bar
        self.futures = futures(opt)
        self.exp = opt.experiment()
        self.metrics = self.exp.spec.metrics
        self.rows: dict[str, dict] = {}
        self.new = 0
        self.max_new = max_new

    def specs(self, cands: list[dict[str, Any]]) -> list[RunSpec]:
        out, seen = [], set()
        for c in cands:
            for f, fut in enumerate(self.futures):
                rid = run_id(c, f)
                if rid in seen:
                    continue
                seen.add(rid)
                out.append(RunSpec(run_id=rid, experiment=self.opt.spec.name, regime=str(self.opt.base.get("regime")),
                                   point=f, replicate=0, seed=run_seed(self.opt.spec.seed, f, 0),
                                   params=tuple({**c, **fut}.items()), scenario=self.opt.base,
                                   metrics=self.metrics))
        return out

    def __call__(self, cands: list[dict[str, Any]]) -> np.ndarray:
        """Metric values, shape (candidates, futures, metrics)."""
        from govsim.experiment.runner import run_one

        specs = [s for s in self.specs(cands) if s.run_id not in self.rows]
        if specs:
            v = self.store.verify(specs, self.manifest)
            v.strays = []  # the other generations' candidates, not strays
            self.store.report(v, "run again")
            self.rows.update(v.rows)
            if self.bar is not None:
                self.bar.update(len(v.rows))
            todo = [s for s in specs if s.run_id not in self.rows]
            if todo:
                if self.max_new is not None and self.new + len(todo) > self.max_new:
                    raise _Budget()
                for row in self.ex.map_unordered(run_one, todo):
                    self.store.write(row)
                    self.rows[row["run_id"]] = row
                    self.new += 1
                    if self.bar is not None:
                        self.bar.update(1)
        out = np.empty((len(cands), len(self.futures), len(self.metrics)))
        for i, c in enumerate(cands):
            for f in range(len(self.futures)):
                row = self.rows[run_id(c, f)]
                out[i, f] = [float(row[m]) if row[m] is not None else math.nan for m in self.metrics]
        return out


class _Budget(Exception):
    pass


def _oriented(values: np.ndarray, metrics: tuple[str, ...], objectives: dict[str, str]) -> np.ndarray:
    """Objective values to minimise, shape (..., objectives): max -> -x, min_abs -> |x|."""
    cols = []
    for m, d in objectives.items():
        x = values[..., metrics.index(m)]
        cols.append(-x if d == "max" else np.abs(x) if d == "min_abs" else x)
    out = np.stack(cols, axis=-1)
    return np.where(np.isfinite(out), out, 1e12)


def satisfied(values: np.ndarray, metrics: tuple[str, ...], spec: OptimizeSpec) -> np.ndarray:
    """Per (candidate, future): every threshold met (in the objective's direction)."""
    ok = np.ones(values.shape[:-1], dtype=bool)
    for m, t in spec.satisficing.items():
        x = values[..., metrics.index(m)]
        d = spec.objectives[m]
        ok &= (x >= t) if d == "max" else (np.abs(x) <= abs(t)) if d == "min_abs" else (x <= t)
    return ok


def robust_objectives(values: np.ndarray, sq: np.ndarray, metrics: tuple[str, ...], spec: OptimizeSpec) -> np.ndarray:
    """Search objectives (to minimise) per candidate; ``sq`` the status quo's values (futures, metrics)."""
    o = _oriented(values, metrics, spec.objectives)            # (c, f, k)
    if spec.robustness == "regret":
        ref = _oriented(sq, metrics, spec.objectives)[None]    # (1, f, k)
        return (o - ref).max(axis=1)
    sat = satisfied(values, metrics, spec).mean(axis=1)
    return np.column_stack([o.mean(axis=1), -sat])


def objective_names(spec: OptimizeSpec) -> list[str]:
    names = [f"{'regret' if spec.robustness == 'regret' else 'mean'}:{m}" for m in spec.objectives]
    return names + (["satisficing_share"] if spec.robustness == "satisficing" else [])


# ---------------------------------------------------------------------- search
@dataclass
class OptimizeResult:
    pareto: pd.DataFrame
    evaluated: pd.DataFrame
    hypervolume: pd.DataFrame
    status_quo: dict[str, Any]
    futures: list[dict[str, Any]]
    runs: int = 0
    new_runs: int = 0
    seconds: float = 0.0
    complete: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def _nondominated(F: np.ndarray) -> np.ndarray:
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    return NonDominatedSorting().do(F, only_non_dominated_front=True)


def optimize(opt: Optimization, out: str | Path, *, backend: str = "process", workers: int | None = None,
             address: str | None = None, security: Any = None, restart: bool = False, progress: bool = True,
             max_runs: int | None = None) -> OptimizeResult:
    """NSGA-II robust search; every run stored in ``out`` (resumable). ``max_runs`` stops after
    that many new runs (the result is then marked incomplete)."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.evaluator import Evaluator as PymooEvaluator
    from pymoo.core.problem import Problem
    from pymoo.indicators.hv import HV
    from pymoo.problems.static import StaticProblem

    from govsim.experiment.store import ResultStore

    spec = opt.spec
    t0 = time.perf_counter()
    store = ResultStore(out)
    exp = opt.experiment()
    lever_names = list(spec.levers)
    names = objective_names(spec)
    n_obj = len(names)
    bar = None
    with store.locked():
        store.open(exp, [], restart=restart)
        total = (spec.population * spec.generations + 1) * spec.futures
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=total, desc=f"optimize {spec.name}", unit="run")
        with make_executor(backend, workers=workers, address=address, security=security) as ex:
            ev = Evaluator(opt, store, ex, bar, max_new=max_runs)
            ev.manifest = store.manifest()
            sq = status_quo(opt)
            complete = True
            records, hv_rows = [], []
            try:
                sq_vals = ev([sq])[0]
                problem = Problem(n_var=len(lever_names), n_obj=n_obj, xl=0.0, xu=1.0)
                algo = NSGA2(pop_size=spec.population)
                algo.setup(problem, termination=("n_gen", spec.generations), seed=int(spec.seed % 2**32),
                           verbose=False)
                norm = None
                gen = 0
                while algo.has_next():
                    pop = algo.ask()
                    X = pop.get("X")
                    cands = [_values(spec.levers, x) for x in X]
                    vals = ev(cands)
                    F = robust_objectives(vals, sq_vals, ev.metrics, spec)
                    PymooEvaluator().eval(StaticProblem(problem, F=F), pop)
                    algo.tell(infills=pop)
                    gen += 1
                    for c, f, v in zip(cands, F, vals, strict=True):
                        rec = {"generation": gen, **c, **dict(zip(names, f, strict=True))}
                        for j, m in enumerate(ev.metrics):
                            rec[f"mean:{m}"] = float(np.nanmean(v[:, j]))
                        records.append(rec)
                    allF = pd.DataFrame(records)[names].to_numpy(float)
                    if norm is None:
                        lo, hi = allF.min(axis=0), allF.max(axis=0)
                        norm = (lo, np.where(hi > lo, hi - lo, 1.0))
                    front = allF[_nondominated(allF)]
                    hv = HV(ref_point=np.full(n_obj, 1.1))((front - norm[0]) / norm[1])
                    hv_rows.append({"generation": gen, "hypervolume": float(hv), "front_size": len(front),
                                    "evaluations": len(records)})
            except _Budget:
                complete = False
        if bar is not None:
            bar.close()
        store.note_elapsed(time.perf_counter() - t0, ev.new, backend, workers)
    evaluated = pd.DataFrame(records)
    if evaluated.empty:
        return OptimizeResult(pareto=evaluated, evaluated=evaluated, hypervolume=pd.DataFrame(hv_rows),
                              status_quo=sq, futures=ev.futures, runs=len(ev.rows), new_runs=ev.new,
                              seconds=time.perf_counter() - t0, complete=False)
    uniq = evaluated.drop_duplicates(subset=lever_names, keep="first").reset_index(drop=True)
    idx = sorted(_nondominated(uniq[names].to_numpy(float)))
    pareto = uniq.iloc[idx].drop(columns=["generation"]).sort_values(names[0]).reset_index(drop=True)
    # classical minimax regret among the Pareto candidates, per objective
    cands = [{k: (int(r[k]) if spec.levers[k].is_integer(k) else float(r[k])) for k in lever_names}
             for _, r in pareto.iterrows()]
    vals = ev(cands) if complete else None
    if vals is not None:
        o = _oriented(vals, ev.metrics, spec.objectives)                   # (c, f, k)
        regret = (o - o.min(axis=0, keepdims=True)).max(axis=1)
        for j, m in enumerate(spec.objectives):
            pareto[f"minimax_regret:{m}"] = regret[:, j]
        if spec.satisficing:
            pareto["satisficing_share"] = satisfied(vals, ev.metrics, spec).mean(axis=1)
    return OptimizeResult(pareto=pareto, evaluated=evaluated, hypervolume=pd.DataFrame(hv_rows), status_quo=sq,
                          futures=ev.futures, runs=len(ev.rows), new_runs=ev.new,
                          seconds=time.perf_counter() - t0, complete=complete)


# ---------------------------------------------------------------------- report
def write_optimize(opt: Optimization, res: OptimizeResult, out: str | Path) -> dict[str, Path]:
    import matplotlib.pyplot as plt

    from govsim.analysis.plots import save_figure
    from govsim.outcomes import label

    spec = opt.spec
    out = Path(out) / "optimize"
    out.mkdir(parents=True, exist_ok=True)
    names = objective_names(spec)
    paths = {"pareto": out / "pareto.csv", "report": out / "optimize.md"}
    atomic_write_text(paths["pareto"], res.pareto.to_csv(index=False))
    atomic_write_text(out / "evaluated.csv", res.evaluated.to_csv(index=False))
    atomic_write_text(out / "hypervolume.csv", res.hypervolume.to_csv(index=False))
    from govsim.fonts import apply_fonts
    from govsim.outcomes import get_language

    zh = get_language() == "zh"

    def _(en: str, zh_text: str) -> str:
        return zh_text if zh else en

    sep = _(", ", "、")
    uncertain = sep.join(f"`{k}`" for k in spec.uncertain) or _("none", "无")
    if spec.robustness == "regret":
        rob = _(" (worst-case shortfall from the status quo over the futures; negative = better in every future)",
                "（各情景中相对现状的最大差距；负值表示在每个情景中都更好）")
    else:
        thresholds = sep.join(f"`{k}` {v:g}" for k, v in spec.satisficing.items())
        rob = _(f" (means over futures, plus the share of futures meeting every threshold: {thresholds})",
                f"（各情景的均值，以及满足全部阈值的情景占比：{thresholds}）")
    status_quo = sep.join(f"`{k}` = {v:g}" for k, v in res.status_quo.items())
    lines = [_(f"# Robust policy search: {spec.name}", f"# 稳健政策搜索：{spec.name}"), "",
             spec.description or "", "",
             _(f"NSGA-II (pymoo), population {spec.population}, {spec.generations} generations; each candidate "
               f"run in {spec.futures} futures (Latin hypercube of {uncertain}; one seed per future for every "
               f"candidate). Robustness: **{spec.robustness}**{rob}. {res.runs} runs ({res.new_runs} new in "
               f"this session), {res.seconds:.0f} s.",
               f"NSGA-II（pymoo），种群 {spec.population}，{spec.generations} 代；每个候选方案在 {spec.futures} "
               f"个未来情景中运行（{uncertain} 的拉丁超立方抽样；每个情景对所有候选方案使用同一随机种子）。"
               f"稳健性准则：**{spec.robustness}**{rob}。共 {res.runs} 次运行（本次新增 {res.new_runs} 次），"
               f"{res.seconds:.0f} 秒。"), "",
             _(f"Status quo: {status_quo}.", f"现状：{status_quo}。"), ""]
    if not res.complete:
        lines += [_("**Incomplete**: the search stopped at its run budget; run it again to resume.",
                    "**未完成**：搜索已达运行次数上限；再次运行即可继续。"), ""]
    lines += [_(f"## Pareto set ({len(res.pareto)} candidates)", f"## 帕累托集（{len(res.pareto)} 个候选方案）"), ""]
    cols = list(spec.levers) + names + [c for c in res.pareto.columns if c.startswith("minimax_regret:")]
    if not res.pareto.empty:
        lines += ["| " + " | ".join(f"`{c}`" for c in cols) + " |", "|" + "---|" * len(cols)]
        for _i, r in res.pareto.iterrows():
            lines.append("| " + " | ".join(f"{r[c]:.4g}" for c in cols) + " |")
    lines += ["", _("Objective signs: every search objective is minimised (a maximised outcome enters negated; "
                    "`min_abs` as its magnitude).",
                    "目标符号：搜索中每个目标都取最小化（需最大化的结果取负值进入；`min_abs` 取其绝对值）。"),
              "", _("## Hypervolume by generation", "## 各代超体积"), "",
              _("| generation | hypervolume | front size | evaluations |", "| 代 | 超体积 | 前沿规模 | 评估数 |"),
              "|---|---|---|---|"]
    for _i, r in res.hypervolume.iterrows():
        lines.append(f"| {int(r['generation'])} | {r['hypervolume']:.4f} | {int(r['front_size'])} | "
                     f"{int(r['evaluations'])} |")
    lines += ["", "![hypervolume](hypervolume.png) ![pareto](pareto.png)", ""]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    if not res.hypervolume.empty:
        ax.plot(res.hypervolume["generation"], res.hypervolume["hypervolume"], marker="o")
    ax.set_xlabel(_("generation", "代"))
    ax.set_ylabel(_("hypervolume (normalised)", "超体积（归一化）"))
    ax.set_title(_("Hypervolume convergence", "超体积收敛"))
    apply_fonts(fig)
    fig.tight_layout()
    save_figure(fig, out / "hypervolume.png")
    plt.close(fig)
    objs = list(spec.objectives)
    pairs = [(a, b) for i, a in enumerate(objs) for b in objs[i + 1:]][:6]
    fig, axes = plt.subplots(1, len(pairs), figsize=(3.6 * len(pairs), 3.4), squeeze=False)
    for ax, (a, b) in zip(axes[0], pairs, strict=True):
        ev = res.evaluated
        ax.scatter(ev[f"mean:{a}"], ev[f"mean:{b}"], s=8, color="lightgrey", label=_("evaluated", "已评估"))
        if not res.pareto.empty:
            ax.scatter(res.pareto[f"mean:{a}"], res.pareto[f"mean:{b}"], s=20, color="tab:red",
                       label=_("Pareto set", "帕累托集"))
        ax.set_xlabel(label(a), fontsize=8)
        ax.set_ylabel(label(b), fontsize=8)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(_("Mean over futures: evaluated candidates and the Pareto set",
                   "各未来情景的均值：已评估的候选方案与帕累托集"))
    apply_fonts(fig)
    fig.tight_layout()
    save_figure(fig, out / "pareto.png")
    plt.close(fig)
    atomic_write_text(paths["report"], "\n".join(lines))
    return paths
