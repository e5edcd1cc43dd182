"""``govsim calibrate --method abc|history`` on a calibration file: run and report.

The calibration file is the one Nelder-Mead reads (``experiments/calibrate_*.toml``), with
optional ``[abc]``, ``[history]`` and ``[tolerance]`` tables (see
:mod:`govsim.analysis.calibration`). The algorithms are in
:mod:`govsim.analysis.likelihood_free`; the model is the simulator
(:class:`~govsim.analysis.likelihood_free.ModelSimulator`).

``fast=True`` (``--fast``, CI and notebooks) shrinks the work: at most 20 particles, 2
generations and 8 predictive draws for ABC; at most 2 waves of 12 points for history
matching. Same code path, coarser answer.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from govsim.analysis.calibration import Calibration
from govsim.analysis.likelihood_free import (
    AbcResult,
    HistoryResult,
    ModelSimulator,
    abc_smc,
    default_tolerance,
    history_match,
    predictive_check,
    predictive_table,
)
from govsim.experiment.executors import make_executor
from govsim.experiment.paths import atomic_write_text
from govsim.fonts import apply_fonts
from govsim.outcomes import in_language


def simulator(cal: Calibration, replicates: int = 1) -> ModelSimulator:
    integer = tuple(k for k, r in cal.spec.parameters.items() if r.is_integer(k))
    return ModelSimulator(cal.base, tuple(cal.spec.targets), name=cal.spec.name, integer=integer,
                          replicates=replicates)


def settings(cal: Calibration, fast: bool = False) -> dict[str, Any]:
    a, h = cal.spec.abc, cal.spec.history
    abc = {"particles": a.particles, "generations": a.generations, "quantile": a.quantile,
           "min_acceptance": a.min_acceptance, "predictive_draws": a.predictive_draws}
    if a.replicates > 1:  # shown in the report's settings only when used
        abc["replicates"] = a.replicates
    hist = {"waves": h.waves, "points": h.points, "replicates": h.replicates, "cutoff": h.cutoff, "pool": h.pool}
    if fast:
        abc.update(particles=min(a.particles, 20), generations=min(a.generations, 2),
                   predictive_draws=min(a.predictive_draws, 8))
        hist.update(waves=min(h.waves, 2), points=min(h.points, 12), pool=min(h.pool, 5000))
    return {"abc": abc, "history": hist}


def planned_runs(cal: Calibration, method: str, fast: bool = False, generations: int | None = None) -> int:
    """An upper-ish estimate of the runs (ABC: acceptance assumed to fall to 1/4)."""
    st = settings(cal, fast)
    if method == "abc":
        a = st["abc"]
        if generations is not None:
            a["generations"] = generations
        sims = a["particles"] * (1 + sum(min(2 ** g, 4) for g in range(1, a["generations"]))) + a["predictive_draws"]
        return sims * a.get("replicates", 1)
    h = st["history"]
    return h["waves"] * h["points"] * h["replicates"]


def run_lfi(cal: Calibration, method: str, *, backend: str = "process", workers: int | None = None,
            address: str | None = None, security: Any = None, progress: bool = True,
            fast: bool = False, out: str | Path | None = None, restart: bool = False,
            generations: int | None = None) -> dict[str, Any]:
    """Run the calibration. ABC with ``out``: every simulation and finished generation is
    stored in ``out/abc/`` and the run resumes from there (``generations`` overrides the
    file's, so a finished run can be extended; ``restart`` discards what is stored)."""
    spec = cal.spec
    st = settings(cal, fast)
    sim = simulator(cal, replicates=st["abc"].get("replicates", 1) if method == "abc" else 1)
    bounds = {k: (r.min, r.max) for k, r in spec.parameters.items()}
    if generations is not None:
        st["abc"]["generations"] = int(generations)
    t0 = time.perf_counter()
    with make_executor(backend, workers=workers, address=address, security=security) as ex:
        if method == "abc":
            a = st["abc"]
            scales = {k: spec.tolerance.get(k, default_tolerance(k, z)) for k, z in spec.targets.items()}
            res = abc_smc(sim, bounds, dict(spec.targets), particles=a["particles"], generations=a["generations"],
                          quantile=a["quantile"], min_acceptance=a["min_acceptance"], seed=spec.seed,
                          executor=ex, progress=progress, scales=scales, out=out, restart=restart,
                          name=spec.name)
            t1 = time.perf_counter()
            pred = predictive_check(sim, res, draws=a["predictive_draws"], seed=spec.seed, executor=ex,
                                    progress=progress)
            if res.out is not None:
                _note(res.out, "predictive check", time.perf_counter() - t1, backend, workers)
            out = {"method": "abc", "result": res, "predictive": pred}
        else:
            h = st["history"]
            res = history_match(sim, bounds, dict(spec.targets), waves=h["waves"], points=h["points"],
                                replicates=h["replicates"], cutoff=h["cutoff"], tolerance=dict(spec.tolerance),
                                pool=h["pool"], seed=spec.seed, executor=ex, progress=progress)
            out = {"method": "history", "result": res}
    out.update(seconds=time.perf_counter() - t0, fast=fast, settings=st[method], backend=backend,
               workers=workers)
    return out


def _note(out: Path, what: str, seconds: float, backend: str, workers: int | None) -> None:
    with (Path(out) / "abc" / "sessions.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "what": what,
                             "seconds": round(seconds, 3), "backend": backend, "workers": workers}) + "\n")


def stored_seconds(out: str | Path) -> tuple[float, int]:
    """Wall time of every session that worked on the stored ABC run in ``out``, and the number
    of sessions. Sessions ended by a signal or kill -9 leave no record; their finished
    generations' own wall times still count (a lower bound for such sessions)."""
    path = Path(out) / "abc" / "sessions.jsonl"
    total, n, pred = 0.0, 0, 0.0
    if path.exists():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            total += float(rec.get("seconds", 0.0))
            n += rec.get("what") != "predictive check"
            pred += float(rec.get("seconds", 0.0)) if rec.get("what") == "predictive check" else 0.0
    # A session stopped by a signal records no line, but the generations it finished carry
    # their own wall time: never report less than those plus the predictive checks.
    return max(total, sum(generation_seconds(out).values()) + pred), n


def generation_seconds(out: str | Path) -> dict[int, float]:
    """Wall seconds each stored generation took in the session that finished it."""
    path = Path(out) / "abc" / "state.json"
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        return {int(g["generation"]): float(g["_seconds"]) for g in state["generations"] if "_seconds" in g}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


# ---------------------------------------------------------------------- figures
_t = in_language  # the report's text in the current language (``--lang``)


def _unit(unit: str) -> str:
    return _t(unit, {"points": "个百分点"}.get(unit, unit))


def _hist_weighted(ax, x, w, lo, hi, color="tab:blue"):
    ax.hist(x, bins=20, range=(lo, hi), weights=w, color=color, alpha=0.75, density=True)


def plot_posterior(res: AbcResult, bounds: dict[str, tuple[float, float]]):
    import matplotlib.pyplot as plt

    from govsim.outcomes import label

    n = len(res.names)
    fig, axes = plt.subplots(n, n, figsize=(2.6 * n + 0.8, 2.4 * n + 0.6), squeeze=False)
    post = res.particles
    w = post["weight"].to_numpy()
    for i, a in enumerate(res.names):
        for j, b in enumerate(res.names):
            ax = axes[i, j]
            if i == j:
                _hist_weighted(ax, post[a], w, *bounds[a])
                lo, hi = res.credible_interval(a)
                ax.axvspan(lo, hi, color="tab:orange", alpha=0.15)
                ax.set_yticks([])
            elif i > j:
                ax.scatter(post[b], post[a], s=8 + 400 * w, alpha=0.6)
                ax.set_xlim(*bounds[b])
                ax.set_ylim(*bounds[a])
            else:
                ax.axis("off")
            if i == n - 1:
                ax.set_xlabel(label(b), fontsize=8)
            if j == 0 and i > 0:
                ax.set_ylabel(label(a), fontsize=8)
    fig.suptitle(_t("ABC-SMC posterior (95% credible interval shaded)", "ABC-SMC 后验分布（阴影为 95% 可信区间）"))
    apply_fonts(fig)
    fig.tight_layout()
    return fig


def plot_predictive(pred: pd.DataFrame, targets: dict[str, float]):
    import matplotlib.pyplot as plt

    from govsim.outcomes import label

    fig, axes = plt.subplots(1, len(targets), figsize=(4 * len(targets), 3.2), squeeze=False)
    for ax, (k, z) in zip(axes[0], targets.items(), strict=True):
        x = pred[k].to_numpy(float)
        ax.hist(x[np.isfinite(x)], bins=15, color="tab:blue", alpha=0.75)
        ax.axvline(z, color="tab:red", lw=2, label=_t("field figure", "调研数据"))
        ax.axvline(np.nanmean(x), color="black", ls="--", label=_t("predictive mean", "预测均值"))
        ax.set_title(label(k), fontsize=9)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(_t("Posterior predictive check", "后验预测检验"))
    apply_fonts(fig)
    fig.tight_layout()
    return fig


def plot_waves(res: HistoryResult):
    import matplotlib.pyplot as plt

    from govsim.outcomes import label

    names = res.names
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]] or [(names[0], names[0])]
    ncol = min(3, len(pairs))
    nrow = int(np.ceil(len(pairs) / ncol))
    fig, axes = plt.subplots(nrow, ncol + 1, figsize=(3.4 * (ncol + 1), 3.1 * nrow), squeeze=False)
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(res.waves)))
    for k, (a, b) in enumerate(pairs):
        ax = axes[k // ncol][k % ncol]
        for wv, c in zip(res.waves, colors, strict=True):
            s = wv.nroy_sample
            if len(s) > 800:
                s = s.iloc[:: max(1, len(s) // 800)]
            ax.scatter(s[a], s[b], s=3, color=c, alpha=0.5, label=_t(f"wave {wv.wave}", f"第 {wv.wave} 轮"))
        ax.set_xlim(*res.bounds[a])
        ax.set_ylim(*res.bounds[b])
        ax.set_xlabel(label(a), fontsize=8)
        ax.set_ylabel(label(b), fontsize=8)
    for k in range(len(pairs), nrow * ncol):
        axes[k // ncol][k % ncol].axis("off")
    ax = axes[0][ncol]
    ax.bar([str(w.wave) for w in res.waves], [w.nroy_share for w in res.waves], color=colors)
    ax.set_ylim(0, 1)
    ax.set_xlabel(_t("wave", "轮次"))
    ax.set_title(_t("non-implausible share of the box", "参数空间中未被排除的比例"), fontsize=9)
    for r in range(1, nrow):
        axes[r][ncol].axis("off")
    axes[0][0].legend(fontsize=7, markerscale=3)
    fig.suptitle(_t(f"History matching: non-implausible space by wave (cut-off {res.cutoff:g})",
                   f"历史匹配：各轮未被排除的参数空间（阈值 {res.cutoff:g}）"))
    apply_fonts(fig)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------- report
def write_lfi(cal: Calibration, run: dict[str, Any], out: str | Path) -> dict[str, Path]:
    import matplotlib.pyplot as plt

    from govsim.analysis.plots import save_figure

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    spec = cal.spec
    bounds = {k: (r.min, r.max) for k, r in spec.parameters.items()}
    res = run["result"]
    paths: dict[str, Path] = {}
    mode = _t(" (fast mode: a coarse answer)", "（快速模式：粗略结果）") if run["fast"] else ""
    who = f"{run['backend']}" + (_t(f", {run['workers']} workers", f"，{run['workers']} 个工作进程")
                                 if run["workers"] else "")
    seconds, sessions = run["seconds"], 1
    if run["method"] == "abc" and getattr(res, "out", None) is not None:
        seconds, sessions = stored_seconds(res.out)  # every session of a resumed run
        run = {**run, "seconds": seconds}
    when = (_t(f"{seconds:.0f} s", f"{seconds:.0f} 秒")
            + (_t(f" over {sessions} sessions", f"（分 {sessions} 次运行）") if sessions > 1 else ""))
    method = ("ABC-SMC" if run["method"] == "abc" else _t("history matching", "历史匹配"))
    settings_text = ", ".join(f"{k} = {v}" for k, v in run["settings"].items())
    draws = len(run["predictive"]) if run["method"] == "abc" else 0
    reps = int(run["settings"].get("replicates", 1)) if run["method"] == "abc" else 1
    lines = [_t(f"# Calibration: {spec.name} ({method}){mode}", f"# 校准：{spec.name}（{method}）{mode}"),
             "", spec.description or "", "",
             _t(f"Scenario `{spec.scenario}`; "
                + (f"{res.simulations} model runs" if reps == 1 else
                   f"{res.simulations} simulations of {reps} model runs each (figures averaged)")
                + (f" and {draws} predictive draws" if draws else "")
                + f" in {when} ({who}); seed {spec.seed}. Settings: {settings_text}.",
                f"情景 `{spec.scenario}`；"
                + (f"共 {res.simulations} 次模型运行" if reps == 1 else
                   f"共 {res.simulations} 次模拟，每次 {reps} 次模型运行（取均值）")
                + (f"和 {draws} 次预测抽样" if draws else "")
                + f"，用时 {when}（{who}）；随机种子 {spec.seed}。设置：{settings_text}。"),
             "", _t("Targets (field figures): ", "目标（调研数据）：")
             + ", ".join(f"`{k}` = {v:g}" for k, v in spec.targets.items()), ""]
    figs = []
    if run["method"] == "abc":
        summ = res.summary()
        pred = run["predictive"]
        table = predictive_table(pred, dict(spec.targets))
        lines += [_t("## Posterior", "## 后验分布"), "",
                  _t("| parameter | prior | mean | median | 95% credible interval |",
                     "| 参数 | 先验 | 均值 | 中位数 | 95% 可信区间 |"),
                  "|---|---|---|---|---|"]
        for _, r in summ.iterrows():
            lo, hi = bounds[r["parameter"]]
            lines.append(f"| `{r['parameter']}` | U({lo:g}, {hi:g}) | {r['mean']:.4g} | {r['median']:.4g} | "
                         f"{r['ci_low']:.4g} - {r['ci_high']:.4g} |")
        lap = generation_seconds(res.out) if getattr(res, "out", None) is not None else {}
        keys = list(spec.targets)
        lines += ["", _t("## Generations", "## 各代"), "",
                  _t("Each population's weighted mean of its particles' simulated figures shows the approach "
                     "to the targets; ESS is the effective sample size of its weights (1 / sum of squares).",
                     "每一代粒子模拟结果的加权均值显示向目标逼近的过程；ESS 为权重的有效样本量"
                     "（1 / 权重平方和）。"), "",
                  _t("| generation | epsilon | accepted | proposed | acceptance | ESS | wall s | "
                     + " | ".join(f"mean `{k}`" for k in keys) + " |",
                     "| 代 | epsilon | 接受 | 提议 | 接受率 | ESS | 用时（秒） | "
                     + " | ".join(f"均值 `{k}`" for k in keys) + " |"),
                  "|---|---|---|---|---|---|---|" + "---|" * len(keys)]
        pops = {int(g): pop for g, pop in zip(res.generations["generation"], res.history, strict=False)}
        for _, g in res.generations.iterrows():
            gi = int(g["generation"])
            pop = pops.get(gi) if gi < len(res.history) else None
            means = [f"{np.average(pop[f'sim:{k}'], weights=pop['weight']):.4g}" if pop is not None else "-"
                     for k in keys]
            sec = f"{lap[gi]:.0f}" if gi in lap else "-"
            ess = f"{1.0 / np.sum(pop['weight'].to_numpy() ** 2):.1f}" if pop is not None else "-"
            lines.append(f"| {gi} | {g['epsilon']:.4g} | {int(g['accepted'])} | "
                         f"{int(g['proposed'])} | {g['acceptance']:.2f} | {ess} | {sec} | " + " | ".join(means) + " |")
        scales = ", ".join(f"`{k}` {v:.3g}" for k, v in res.scales.items())
        lines += ["", _t(f"Distance: Euclidean over targets, each divided by its tolerance ({scales}).",
                         f"距离：各目标除以其容差（{scales}）后的欧氏距离。"), "",
                  _t(f"## Posterior predictive check ({len(pred)} posterior draws on fresh seeds)",
                     f"## 后验预测检验（{len(pred)} 次后验抽样，使用新的随机种子）"), "",
                  _t("| target | field figure | predictive mean (± s.e.) | 95% predictive interval | error "
                     "| field in interval |",
                     "| 目标 | 调研数据 | 预测均值（± 标准误） | 95% 预测区间 | 误差 | 调研数据在区间内 |"),
                  "|---|---|---|---|---|---|"]
        for _, r in table.iterrows():
            lines.append(f"| `{r['target']}` | {r['field']:.4g} | {r['predictive_mean']:.4g} ± {r['mean_se']:.2g} | "
                         f"{r['pi_low']:.4g} - {r['pi_high']:.4g} | {r['error']:+.1f} {_unit(r['error_unit'])} | "
                         f"{_t('yes', '是') if r['within_interval'] else _t('no', '否')} |")
        ok = bool(table["within_2"].all())
        lines += ["", (_t("Every predictive mean is within 2 points (shares) or 2% (counts) of its field figure.",
                          "每个预测均值与调研数据相差都在 2 个百分点（比例）或 2%（计数）以内。")
                       if ok else _t("Not every predictive mean is within 2 points (shares) or 2% (counts) of its "
                                     "field figure: see the errors above.",
                                     "并非每个预测均值都在调研数据的 2 个百分点（比例）或 2%（计数）以内：见上表误差。")),
                  "",
                  "![posterior](posterior.png)", "", "![predictive](predictive_check.png)", ""]
        paths["posterior"] = out / "posterior.csv"
        atomic_write_text(paths["posterior"], res.particles.to_csv(index=False))
        atomic_write_text(out / "posterior_summary.csv", summ.to_csv(index=False))
        atomic_write_text(out / "generations.csv", res.generations.to_csv(index=False))
        atomic_write_text(out / "predictive.csv", pred.to_csv(index=False))
        atomic_write_text(out / "predictive_check.csv", table.to_csv(index=False))
        summary = {"method": "abc", "seconds": round(run["seconds"], 1), "simulations": res.simulations,
                   "fast": run["fast"], "posterior": summ.to_dict("records"),
                   "predictive_check": table.to_dict("records")}
        figs += [(plot_posterior(res, bounds), "posterior"), (plot_predictive(pred, dict(spec.targets)),
                                                                "predictive_check")]
    else:
        rng = res.ranges()
        lines += [_t("## Waves", "## 各轮"), "",
                  _t("| wave | design points | non-implausible share of the box |",
                     "| 轮次 | 设计点 | 参数空间中未被排除的比例 |"), "|---|---|---|"]
        for wv in res.waves:
            lines.append(f"| {wv.wave} | {len(wv.design)} | {wv.nroy_share:.3f} |")
        tols = ", ".join(f"`{k}` {v:.3g}" for k, v in res.tolerance.items())
        lines += ["", _t("Implausibility: |z - E[f(x)]| / sqrt(emulator variance + run-to-run variance + "
                         f"tolerance^2), largest over targets; cut-off {res.cutoff:g}. Tolerances: {tols}.",
                         "不合理度：|z - E[f(x)]| / sqrt(仿真器方差 + 运行间方差 + 容差^2)，取各目标中的最大值；"
                         f"阈值 {res.cutoff:g}。容差：{tols}。"), "",
                  _t("## Non-implausible ranges after the last wave", "## 最后一轮后未被排除的参数范围"), "",
                  _t("| parameter | prior | low | high |", "| 参数 | 先验 | 下限 | 上限 |"), "|---|---|---|---|"]
        last = rng[rng["wave"] == res.waves[-1].wave] if res.waves else rng
        for _, r in last.iterrows():
            lo, hi = bounds[r["parameter"]]
            lines.append(f"| `{r['parameter']}` | [{lo:g}, {hi:g}] | {r['low']:.4g} | {r['high']:.4g} |")
        lines += ["", "![waves](history_waves.png)", ""]
        atomic_write_text(out / "waves.csv", rng.to_csv(index=False))
        design = pd.concat([wv.design.assign(wave=wv.wave) for wv in res.waves], ignore_index=True)
        atomic_write_text(out / "design.csv", design.to_csv(index=False))
        if res.waves:
            atomic_write_text(out / "nroy_sample.csv", res.waves[-1].nroy_sample.to_csv(index=False))
        summary = {"method": "history", "seconds": round(run["seconds"], 1), "simulations": res.simulations,
                   "fast": run["fast"], "waves": [{"wave": w.wave, "nroy_share": w.nroy_share} for w in res.waves],
                   "ranges": last.to_dict("records")}
        figs.append((plot_waves(res), "history_waves"))
    for fig, name in figs:
        save_figure(fig, out / f"{name}.png")
        plt.close(fig)
    paths["summary"] = out / "summary.json"
    atomic_write_text(paths["summary"], json.dumps(summary, indent=1, default=float))
    paths["report"] = out / "calibration.md"
    atomic_write_text(paths["report"], "\n".join(lines))
    return paths
