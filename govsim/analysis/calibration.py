"""Calibration: fit scenario parameters to target figures with ``scipy.optimize``.

A calibration file (TOML)::

    name = "calibrate_zhaoshang"
    scenario = "../scenarios/zhaoshang_grid.toml"
    output = "zhaoshang_grid_calibrated.toml"   # a file name inside --out, nothing else
    replicates = 4            # per evaluation (common random numbers: same seeds every time)
    validation_replicates = 12
    seed = 2011
    method = "nelder-mead"    # nelder-mead | powell | differential_evolution
    max_evaluations = 40

    [parameters]              # what may move, within bounds
    "cases.fester_days" = {min = 5.0, max = 120.0}

    [targets]                 # field figures to match (replicate means)
    dispute_screened_resolution_rate = 0.936

The objective is the sum of squared relative errors of replicate means from the targets.
Replicate seeds are fixed across evaluations, so the objective is a deterministic function
of the parameters. Afterwards the fit is checked on fresh seeds (``validation_replicates``)
and the calibrated scenario (base + fitted values) and a report are written, all inside the
output folder given on the command line (``--scenario-out`` places the scenario elsewhere). Nothing copies
a target into an output: the model is run and its figures measured.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from govsim.experiment.design import RunSpec, run_seed
from govsim.experiment.executors import make_executor
from govsim.experiment.paths import atomic_write_text
from govsim.experiment.runner import run_one
from govsim.experiment.spec import ExperimentError, ParamRange
from govsim.metrics import SUMMARY_METRICS
from govsim.scenario import (
    ScenarioError,
    _format_error,
    apply_overrides,
    load_base_scenario,
    read_toml,
    scenario_from_dict,
)


class AbcSettings(BaseModel):
    """``[abc]``: ABC-SMC settings (``method = "abc"`` or ``--method abc``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    particles: Annotated[int, Field(ge=10, le=100_000)] = 100
    generations: Annotated[int, Field(ge=1, le=100)] = 5
    quantile: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.5
    min_acceptance: Annotated[float, Field(gt=0.0, le=1.0)] = 0.02
    predictive_draws: Annotated[int, Field(ge=2, le=100_000)] = 40
    # runs per simulation, their figures averaged: a small scenario's run-to-run noise brought
    # nearer a large field sample's (the cost grows in proportion)
    replicates: Annotated[int, Field(ge=1, le=1000)] = 1


class HistorySettings(BaseModel):
    """``[history]``: history-matching settings (``method = "history"`` or ``--method history``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    waves: Annotated[int, Field(ge=1, le=50)] = 3
    points: Annotated[int, Field(ge=4, le=100_000)] = 40
    replicates: Annotated[int, Field(ge=2, le=1000)] = 2
    cutoff: Annotated[float, Field(gt=0.0, le=100.0)] = 3.0
    pool: Annotated[int, Field(ge=100, le=10_000_000)] = 20_000


class CalibrationSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: str
    description: str = ""
    scenario: str
    output: str | None = None
    replicates: Annotated[int, Field(ge=1, le=1000)] = 4
    validation_replicates: Annotated[int, Field(ge=2, le=10_000)] = 12
    steps: Annotated[int, Field(ge=1, le=36_500)] | None = None
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0
    method: Literal["nelder-mead", "powell", "differential_evolution", "abc", "history"] = "nelder-mead"
    max_evaluations: Annotated[int, Field(ge=2, le=100_000)] = 40
    parameters: dict[str, ParamRange]
    targets: dict[str, float]
    weights: dict[str, float] = {}
    overrides: dict[str, Any] = {}
    abc: AbcSettings = AbcSettings()
    history: HistorySettings = HistorySettings()
    tolerance: dict[str, float] = {}   # history matching: observation error + discrepancy per target

    @model_validator(mode="after")
    def _check(self) -> CalibrationSpec:
        if not self.parameters:
            raise ValueError("parameters: empty; allowed: one or more {min = a, max = b} ranges")
        if not self.targets:
            raise ValueError("targets: empty; allowed: one or more metric = value")
        bad = [m for m in self.targets if m not in SUMMARY_METRICS]
        if bad:
            raise ValueError(f"targets: unknown metric {bad[0]!r}; allowed: {', '.join(SUMMARY_METRICS)}")
        bad = [m for m in self.weights if m not in self.targets]
        if bad:
            raise ValueError(f"weights: {bad[0]!r} is not a target")
        for m, v in self.targets.items():
            if not math.isfinite(v):
                raise ValueError(f"targets.{m} = {v}; allowed: a finite number")
        zero = [m for m, v in self.targets.items() if v == 0]
        if zero:
            raise ValueError(f"targets.{zero[0]} = 0; allowed: non-zero (errors are relative)")
        for m, t in self.tolerance.items():
            if m not in self.targets:
                raise ValueError(f"tolerance: {m!r} is not a target")
            if not math.isfinite(t) or t <= 0:
                raise ValueError(f"tolerance.{m} = {t}; allowed: a finite number > 0")
        for m, w in self.weights.items():
            if not math.isfinite(w) or w < 0:
                raise ValueError(f"weights.{m} = {w}; allowed: a finite number >= 0")
        if self.weights and all(self.weights.get(m, 1.0) == 0 for m in self.targets):
            raise ValueError("weights: every target has weight 0; allowed: at least one positive weight")
        if self.output is not None:
            from govsim.experiment.paths import inside

            inside(Path("."), self.output, where="", field="output")  # shape only; placed under --out
        if self.parameters:
            from govsim.experiment.spec import _check_integer_range

            for key, rng in self.parameters.items():
                if rng.integer:
                    _check_integer_range(key, rng)
        return self


@dataclass
class Calibration:
    spec: CalibrationSpec
    base: dict[str, Any]
    path: Path | None = None

    @property
    def names(self) -> list[str]:
        return list(self.spec.parameters)


def load_spec_file(path: str | Path, model: type[BaseModel]):
    """Read and validate a calibration-like TOML file (calibration, optimisation) and load its
    base scenario relative to it. Returns (spec, base scenario dict); one-line errors."""
    p = Path(path)
    try:
        data = read_toml(p)
    except ScenarioError as err:
        raise ExperimentError(str(err)) from None
    try:
        spec = model.model_validate(data)
    except ValidationError as err:
        raise ExperimentError(_format_error(err, model, str(p)).replace(": : ", ": ")) from None
    try:
        base = load_base_scenario(spec.scenario, p.resolve().parent, spec.overrides, spec.steps, str(p))
    except ScenarioError as err:
        raise ExperimentError(str(err)) from None
    return spec, base


def check_ranges(base: dict[str, Any], ranges: dict, where: str) -> None:
    """Both ends of every parameter range must give a valid scenario (one-line error if not)."""
    for key, rng in ranges.items():
        for v in (rng.min, rng.max):
            v = int(round(v)) if rng.is_integer(key) else v
            try:
                scenario_from_dict(apply_overrides(base, {key: v}), where=f"{where}.{key}")
            except ScenarioError as err:
                raise ExperimentError(str(err)) from None


def load_calibration(path: str | Path) -> Calibration:
    p = Path(path)
    spec, base = load_spec_file(p, CalibrationSpec)
    cal = Calibration(spec=spec, base=base, path=p)
    check_ranges(base, spec.parameters, f"{p}: parameters")
    return cal


@dataclass
class CalibrationResult:
    params: dict[str, float]
    start: dict[str, float]
    loss: float
    evaluations: int
    trace: list[dict[str, Any]] = field(default_factory=list)
    validation: pd.DataFrame | None = None
    seconds: float = 0.0


class Objective:
    """Replicate means at a parameter vector (in [0, 1] units), cached."""

    def __init__(self, cal: Calibration, executor, seeds: list[int]):
        self.cal, self.ex, self.seeds = cal, executor, seeds
        self.cache: dict[tuple, dict[str, float]] = {}
        self.trace: list[dict[str, Any]] = []
        self.bounds = np.array([[r.min, r.max] for r in cal.spec.parameters.values()])

    def to_params(self, u: np.ndarray) -> dict[str, float]:
        u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
        vals = self.bounds[:, 0] + u * (self.bounds[:, 1] - self.bounds[:, 0])
        out = {}
        for (key, rng), v in zip(self.cal.spec.parameters.items(), vals, strict=True):
            out[key] = int(round(v)) if rng.is_integer(key) else float(v)
        return out

    def means(self, params: dict[str, float], seeds: list[int]) -> pd.DataFrame:
        metrics = tuple(self.cal.spec.targets)
        specs = [RunSpec(run_id=f"cal-{i}", experiment=self.cal.spec.name, regime=str(self.cal.base.get("regime")),
                         point=0, replicate=i, seed=s, params=tuple(params.items()), scenario=self.cal.base,
                         metrics=metrics) for i, s in enumerate(seeds)]
        return pd.DataFrame(list(self.ex.map_unordered(run_one, specs))).sort_values("replicate")

    def loss_of(self, means: dict[str, float]) -> float:
        t, w = self.cal.spec.targets, self.cal.spec.weights
        # A target whose model figure is undefined (NaN: e.g. nothing resolved) makes the
        # loss NaN; the optimiser sees a huge finite value instead (see __call__).
        return float(sum(w.get(k, 1.0) * ((means[k] - v) / v) ** 2 for k, v in t.items()))

    def __call__(self, u: np.ndarray) -> float:
        params = self.to_params(u)
        key = tuple(round(v, 10) for v in params.values())
        if key not in self.cache:
            df = self.means(params, self.seeds)
            self.cache[key] = {k: float(df[k].mean()) for k in self.cal.spec.targets}
            loss = self.loss_of(self.cache[key])
            self.trace.append({"evaluation": len(self.trace) + 1, **params, **self.cache[key], "loss": loss})
        loss = self.loss_of(self.cache[key])
        return loss if math.isfinite(loss) else 1e300


def calibrate(cal: Calibration, *, backend: str = "process", workers: int | None = None,
              progress: bool = True) -> CalibrationResult:
    from scipy import optimize

    spec = cal.spec
    seeds = [run_seed(spec.seed, 0, r) for r in range(spec.replicates)]
    # Start from the scenario's effective values (its file, else the defaults).
    effective = scenario_from_dict(cal.base).to_dict()
    start_vals = {}
    for key, rng in spec.parameters.items():
        cur = _get(effective, key)
        start_vals[key] = float(cur) if cur is not None else (rng.min + rng.max) / 2
    b = np.array([[r.min, r.max] for r in spec.parameters.values()])
    u0 = np.clip((np.array(list(start_vals.values())) - b[:, 0]) / (b[:, 1] - b[:, 0]), 0.0, 1.0)
    t0 = time.perf_counter()
    bar = None
    with make_executor(backend, workers=workers) as ex:
        obj = Objective(cal, ex, seeds)
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=spec.max_evaluations, desc=f"calibrate {spec.name}", unit="eval")

        def f(u):
            n = len(obj.trace)
            val = obj(u)
            if bar is not None and len(obj.trace) > n:
                bar.update(1)
                bar.set_postfix(loss=f"{min(r['loss'] for r in obj.trace):.4g}")
            return val

        bounds = [(0.0, 1.0)] * len(u0)
        if spec.method == "differential_evolution":
            popsize = max(2, spec.max_evaluations // (len(u0) * 5))
            res = optimize.differential_evolution(f, bounds, seed=int(spec.seed % 2**32), popsize=popsize,
                                                  maxiter=4, polish=False, init="sobol", x0=u0)
        elif spec.method == "powell":
            res = optimize.minimize(f, u0, method="Powell", bounds=bounds,
                                    options={"maxfev": spec.max_evaluations, "xtol": 1e-3, "ftol": 1e-4})
        else:
            simplex = [u0] + [np.clip(u0 + 0.25 * np.eye(len(u0))[i] * (1 if u0[i] < 0.75 else -1), 0, 1)
                              for i in range(len(u0))]
            res = optimize.minimize(f, u0, method="Nelder-Mead", bounds=bounds,
                                    options={"maxfev": spec.max_evaluations, "xatol": 1e-3, "fatol": 1e-5,
                                             "initial_simplex": np.array(simplex)})
        if bar is not None:
            bar.close()
        best = min(obj.trace, key=lambda r: (not math.isfinite(r["loss"]), r["loss"]))
        fitted = {k: best[k] for k in spec.parameters}
        val_seeds = [run_seed(spec.seed + 1, 0, r) for r in range(spec.validation_replicates)]
        validation = obj.means(fitted, val_seeds)
    _ = res
    return CalibrationResult(params=fitted, start=start_vals, loss=best["loss"], evaluations=len(obj.trace),
                             trace=obj.trace, validation=validation, seconds=time.perf_counter() - t0)


def _shown(path: Path) -> str:
    """A path as a reader should see it: relative to the working directory when inside it."""
    import os

    try:
        return os.path.relpath(Path(path).resolve(), Path.cwd())
    except ValueError:
        return str(path)


def _get(data: dict, dotted: str):
    node = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def write_calibration(cal: Calibration, result: CalibrationResult, out_dir: str | Path,
                      scenario_out: str | Path | None = None) -> dict[str, Path]:
    """Write the calibrated scenario (TOML), the evaluation trace and a Markdown report."""
    import tomli_w
    from scipy import stats

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    spec = cal.spec
    data = apply_overrides(cal.base, result.params)
    data["name"] = f"{cal.base.get('name', 'scenario')}_calibrated"
    data["description"] = (f"{cal.base.get('description', '')} Calibrated by govsim calibrate "
                           f"({spec.name}) to: " + ", ".join(f"{k} = {v}" for k, v in spec.targets.items()))
    scenario_from_dict(data, where="calibrated scenario")  # must still validate
    header = (f"# Calibrated by `govsim calibrate {_shown(cal.path) if cal.path else spec.name}` "
              f"({spec.method}, {result.evaluations} evaluations\n"
              f"# x {spec.replicates} replicates). Fitted: "
              + ", ".join(f"{k} = {v:.4g}" for k, v in result.params.items()) + "\n"
              "# Targets (field report): " + ", ".join(f"{k} = {v}" for k, v in spec.targets.items()) + "\n")
    target_path = Path(scenario_out) if scenario_out else calibration_outputs(cal, out)["scenario"]
    atomic_write_text(target_path, header + tomli_w.dumps(data))
    paths["scenario"] = target_path
    trace = pd.DataFrame(result.trace)
    paths["trace"] = out / "trace.csv"
    atomic_write_text(paths["trace"], trace.to_csv(index=False))
    v = result.validation
    rows = []
    for k, target in spec.targets.items():
        x = v[k].to_numpy(dtype=float)
        n = len(x)
        half = stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / np.sqrt(n) if n > 1 else float("nan")
        rows.append((k, target, x.mean(), x.mean() - half, x.mean() + half, (x.mean() - target) / target))
    from govsim.outcomes import in_language as _

    lines = [_(f"# Calibration: {spec.name}", f"# 校准：{spec.name}"), "", spec.description or "", "",
             _(f"Scenario `{spec.scenario}`; method `{spec.method}`; {result.evaluations} evaluations of "
               f"{spec.replicates} replicates (fixed seeds); {result.seconds:.0f} s. "
               f"Best objective (sum of squared relative errors): {result.loss:.4g}.",
               f"情景 `{spec.scenario}`；方法 `{spec.method}`；共评估 {result.evaluations} 次，每次 "
               f"{spec.replicates} 次重复（固定随机种子）；{result.seconds:.0f} 秒。"
               f"最优目标值（相对误差平方和）：{result.loss:.4g}。"), "",
             _("## Fitted parameters", "## 拟合参数"), "",
             _("| parameter | start | fitted | bounds |", "| 参数 | 初始值 | 拟合值 | 范围 |"), "|---|---|---|---|"]
    for k, r in spec.parameters.items():
        lines.append(f"| `{k}` | {result.start[k]:.4g} | {result.params[k]:.4g} | [{r.min:g}, {r.max:g}] |")
    lines += ["", _(f"## Fit on {len(v)} fresh replicates (validation seeds)",
                    f"## 在 {len(v)} 次新重复上的拟合（验证用随机种子）"), "",
              _("| target | field figure | model mean | 95% CI | relative error |",
                "| 目标 | 调研数据 | 模型均值 | 95% 置信区间 | 相对误差 |"), "|---|---|---|---|---|"]
    for k, target, mean, lo, hi, rel in rows:
        lines.append(f"| `{k}` | {target:.4g} | {mean:.4g} | {lo:.4g} - {hi:.4g} | {100 * rel:+.1f}% |")
    lines += ["", _(f"Calibrated scenario: `{_shown(target_path)}`. Evaluation trace: `trace.csv`.",
                    f"校准后的情景：`{_shown(target_path)}`。评估记录：`trace.csv`。"), ""]
    paths["report"] = out / "calibration.md"
    atomic_write_text(paths["report"], "\n".join(lines))
    return paths


def calibration_outputs(cal: Calibration, out_dir: str | Path) -> dict[str, Path]:
    """The files ``write_calibration`` writes into ``out_dir`` (the file's ``output`` is a
    name inside it: a calibration file never chooses where on disk something is written)."""
    from govsim.experiment.paths import inside

    out = Path(out_dir)
    name = cal.spec.output or "calibrated_scenario.toml"
    where = str(cal.path) if cal.path else cal.spec.name
    return {"scenario": inside(out, name, where=where, field="output"), "trace": out / "trace.csv",
            "report": out / "calibration.md"}
