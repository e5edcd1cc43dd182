"""Scenario discovery over a sweep's results: under which conditions is an outcome bad?

Three views of the same question, on the same train/test split::

    from govsim.analysis.discovery import discover, write_discovery

    d = discover(df, "dispute_screened_resolution_rate", threshold=0.9, below=True,
                 inputs=["cases.need_rate", "pilots.grid_management", "regime"])
    print(d.summary())
    write_discovery(d, "out/discovery")

* **PRIM boxes** (Friedman & Fisher's Patient Rule Induction Method). The peeling is
  implemented here (numpy; the ``prim`` and ``ema-workbench`` packages do not treat
  replicates or categorical inputs the way a sweep needs): at each step remove the
  ``alpha`` share of runs at the low or high end of one numeric input, or one category of a
  categorical input (the regime, pilot switches), whichever gains most density per run
  removed (EMA Workbench's "lenient1" objective, so a large peel must earn its size);
  stop when the box holds less than ``min_mass`` of the runs. The box taken from a
  trajectory is the one with the best harmonic mean of coverage and density on the
  training runs; restrictions that do not raise that mean are then lifted one by one
  (greedy peeling on noisy data trims irrelevant inputs at their edges). Further boxes
  come from covering (the runs of earlier boxes removed), up to ``max_boxes``.
* **CART** (scikit-learn ``DecisionTreeClassifier``), shallow, with its split rules.
* **Feature scores** from extra trees (``ExtraTreesClassifier`` impurity importances),
  one-hot columns of a categorical input summed back to the input.

Replicates: a sweep runs every parameter point several times, so "bad" is a property of a
run, not of a point. The runs are split into training and test sets **by parameter point**
(all replicates of a point on the same side), so a box is judged on points it has not seen.
Each box's coverage (share of all bad runs that fall in it) and density (share of runs in it
that are bad) come with 95% bootstrap intervals (two-stage: test points resampled, then
replicates within each point).
A box is **reported only if it holds out of sample**: on the test points its density's lower
bound exceeds the test set's base rate of bad runs, and its test coverage is at least half
its training coverage. Boxes that fail are listed as rejected, with the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from govsim.experiment.spec import ExperimentError
from govsim.fonts import apply_fonts

ID_COLUMNS = ("run_id", "point", "replicate", "seed")


@dataclass
class Restriction:
    """One input's limits in a box: a numeric interval or a set of categories."""

    name: str
    low: float | None = None
    high: float | None = None
    categories: tuple | None = None

    def describe(self) -> str:
        from govsim.outcomes import label

        if self.categories is not None:
            return f"{label(self.name)} ∈ {{{', '.join(_show(c) for c in self.categories)}}}"
        parts = []
        if self.low is not None:
            parts.append(f"{self.low:.3g} ≤")
        parts.append(label(self.name))
        if self.high is not None:
            parts.append(f"≤ {self.high:.3g}")
        return " ".join(parts)


@dataclass
class Box:
    restrictions: dict[str, Restriction]
    coverage: float
    density: float
    mass: float
    test: dict[str, float] = field(default_factory=dict)
    holds: bool = False
    why: str = ""
    trajectory: pd.DataFrame | None = None
    chosen_step: int = 0

    def describe(self) -> str:
        return (_l(" and ", " 且 ").join(r.describe() for r in self.restrictions.values())
                or _l("(everything)", "（全部）"))


@dataclass
class Discovery:
    outcome: str
    threshold: float
    below: bool
    inputs: list[str]
    categorical: list[str]
    n_runs: int
    n_points: int
    base_rate: float
    boxes: list[Box]
    rejected: list[Box]
    cart_rules: str
    cart_splits: list[str]
    cart_test_accuracy: float
    feature_scores: pd.Series
    dropped: int = 0
    limits: dict[str, tuple] = field(default_factory=dict)

    def summary(self) -> str:
        from govsim.outcomes import label

        sign = "<" if self.below else ">"
        head = f"{label(self.outcome)} {sign} {self.threshold:g}"
        lines = [_l(f"{head}: {self.base_rate:.1%} of {self.n_runs} runs ({self.n_points} parameter points)",
                    f"{head}：{self.n_runs} 次运行（{self.n_points} 个参数点）中占 {self.base_rate:.1%}")]
        for i, b in enumerate(self.boxes, 1):
            cov, dens = _ci(b.test, "coverage"), _ci(b.test, "density")
            lines.append(_l(f"box {i}: {b.describe()}  coverage {cov}, density {dens} (out of sample)",
                            f"盒 {i}：{b.describe()}  覆盖率 {cov}，密度 {dens}（样本外）"))
        for b in self.rejected:
            lines.append(_l(f"rejected: {b.describe()} ({b.why})", f"未采纳：{b.describe()}（{b.why}）"))
        if not self.boxes:
            lines.append(_l("no box holds out of sample", "没有在样本外成立的盒"))
        splits = _l(", ", "、").join(self.cart_splits) or _l("nothing", "无")
        lines.append(_l("CART splits on: ", "CART 分裂变量：") + splits)
        lines.append(_l("feature scores: ", "特征得分：")
                     + _l(", ", "、").join(f"{k} {v:.2f}" for k, v in self.feature_scores.items()))
        return "\n".join(lines)


def _show(v: Any) -> str:
    from govsim.outcomes import label

    return label(str(v)) if isinstance(v, str) else str(v)


def _ci(d: dict, key: str) -> str:
    v, lo, hi = d.get(key, math.nan), d.get(f"{key}_lo", math.nan), d.get(f"{key}_hi", math.nan)
    return f"{v:.2f} [{lo:.2f}, {hi:.2f}]"


def is_categorical(col: pd.Series) -> bool:
    return bool(pd.api.types.is_bool_dtype(col) or pd.api.types.is_object_dtype(col)
                or isinstance(col.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(col))


def default_inputs(df: pd.DataFrame, params: list[str] | None = None) -> list[str]:
    """The inputs of a sweep: its varied parameters, and the regime when several were run."""
    cols = params if params is not None else [c for c in df.columns if "." in c]
    out = [c for c in cols if c in df.columns and df[c].nunique(dropna=False) > 1]
    if "regime" in df.columns and df["regime"].nunique() > 1:
        out.append("regime")
    return out


def point_keys(df: pd.DataFrame, inputs: list[str]) -> pd.Series:
    """A parameter point's identity: its inputs' values (so regimes at one point differ)."""
    return df[inputs].astype(str).agg("|".join, axis=1)


# ---------------------------------------------------------------------- PRIM
def _in_box(X: pd.DataFrame, restr: dict[str, Restriction]) -> np.ndarray:
    mask = np.ones(len(X), dtype=bool)
    for r in restr.values():
        col = X[r.name]
        if r.categories is not None:
            mask &= col.isin(r.categories).to_numpy()
        else:
            v = col.to_numpy(dtype=float)
            if r.low is not None:
                mask &= v >= r.low
            if r.high is not None:
                mask &= v <= r.high
    return mask


def prim_peel(X: pd.DataFrame, y: np.ndarray, categorical: list[str], *, alpha: float = 0.05,
              min_mass: float = 0.05) -> tuple[pd.DataFrame, list[dict[str, Restriction]]]:
    """PRIM peeling: the trajectory (coverage, density, mass, restricted inputs) and its boxes."""
    n, total_bad = len(y), max(int(y.sum()), 1)
    restr: dict[str, Restriction] = {}
    inside = np.ones(n, dtype=bool)
    rows, boxes = [], []

    def record():
        k = int(inside.sum())
        rows.append({"step": len(rows), "coverage": float(y[inside].sum() / total_bad),
                     "density": float(y[inside].mean()) if k else 0.0, "mass": k / n,
                     "restricted": len(restr)})
        boxes.append({k2: Restriction(**vars(v)) for k2, v in restr.items()})

    record()
    while inside.sum() / n > min_mass:
        best = None  # (density after, -removed, name, new restriction, new mask)
        for name in X.columns:
            col = X[name]
            if name in categorical:
                cats = sorted(col[inside].unique(), key=str)
                if len(cats) < 2:
                    continue
                for c in cats:
                    keep = inside & (col != c).to_numpy()
                    cand = Restriction(name, categories=tuple(x for x in cats if x != c))
                    best = _better(best, y, keep, inside, name, cand)
            else:
                v = col.to_numpy(dtype=float)
                vin = v[inside]
                if np.unique(vin).size < 2:
                    continue
                lo_q, hi_q = np.quantile(vin, alpha), np.quantile(vin, 1 - alpha)
                old = restr.get(name, Restriction(name))
                lo_cut = v > lo_q if lo_q > vin.min() else v > vin.min()
                hi_cut = v < hi_q if hi_q < vin.max() else v < vin.max()
                keep = inside & lo_cut
                new_lo = float(v[keep].min()) if keep.any() else None
                best = _better(best, y, keep, inside, name, Restriction(name, new_lo, old.high))
                keep = inside & hi_cut
                new_hi = float(v[keep].max()) if keep.any() else None
                best = _better(best, y, keep, inside, name, Restriction(name, old.low, new_hi))
        if best is None:
            break
        _, _, name, cand, keep = best
        if keep.sum() / n < min_mass or keep.sum() == 0:
            break
        restr[name] = cand
        inside = keep
        record()
    return pd.DataFrame(rows), boxes


def _better(best, y, keep, inside, name, cand):
    """Keep the peel with the best gain in density per run removed (EMA Workbench's
    "lenient1" objective: a large peel must earn its size; ties: the smaller peel)."""
    k, k0 = int(keep.sum()), int(inside.sum())
    if k == 0 or k == k0:
        return best
    gain = (float(y[keep].mean()) - float(y[inside].mean())) / ((k0 - k) / len(y))
    key = (round(gain, 12), k)
    if best is None or key > best[0]:
        return (key, None, name, cand, keep)
    return best


def _f1(y: np.ndarray, inside: np.ndarray) -> float:
    cov, dens, _ = _stats(y, inside)
    return 0.0 if not (cov + dens) or math.isnan(cov + dens) else 2 * cov * dens / (cov + dens)


def relax(X: pd.DataFrame, y: np.ndarray, restr: dict[str, Restriction]) -> dict[str, Restriction]:
    """Drop restrictions that do not earn their place: repeatedly lift the one whose removal
    raises (or keeps) the harmonic mean of coverage and density the most. Greedy peeling on
    noisy data trims irrelevant inputs at the edges; this undoes it."""
    restr = dict(restr)
    while len(restr) > 1:
        now = _f1(y, _in_box(X, restr))
        trials = [(_f1(y, _in_box(X, {k: v for k, v in restr.items() if k != name})), name)
                  for name in restr]
        score, name = max(trials, key=lambda t: (t[0], t[1]))
        if score < now:
            break
        del restr[name]
    return restr


def _choose(traj: pd.DataFrame) -> int:
    """The trajectory step with the best harmonic mean of coverage and density (ties: earlier)."""
    f = 2 * traj["coverage"] * traj["density"] / (traj["coverage"] + traj["density"]).replace(0, np.nan)
    return int(f.fillna(0).to_numpy().argmax())


def _stats(y: np.ndarray, inside: np.ndarray) -> tuple[float, float, float]:
    bad = y.sum()
    k = inside.sum()
    cov = float(y[inside].sum() / bad) if bad else math.nan
    dens = float(y[inside].mean()) if k else math.nan
    return cov, dens, float(k / len(y)) if len(y) else math.nan


def _bootstrap(y: np.ndarray, inside: np.ndarray, groups: np.ndarray, n_boot: int,
               rng: np.random.Generator) -> dict[str, float]:
    """Coverage and density with 95% CIs from a two-stage bootstrap: parameter points
    resampled, then replicates resampled within each point drawn."""
    cov, dens, mass = _stats(y, inside)
    idx_by_group = [np.flatnonzero(groups == g) for g in np.unique(groups)]
    covs, denss = [], []
    for _ in range(n_boot):
        pick = rng.integers(0, len(idx_by_group), size=len(idx_by_group))
        take = np.concatenate([rng.choice(idx_by_group[i], size=idx_by_group[i].size, replace=True)
                               for i in pick])
        c, d, _ = _stats(y[take], inside[take])
        covs.append(c)
        denss.append(d)
    out = {"coverage": cov, "density": dens, "mass": mass}
    for key, vals in (("coverage", covs), ("density", denss)):
        vals = np.asarray(vals, dtype=float)
        vals = vals[np.isfinite(vals)]
        lo, hi = (np.quantile(vals, [0.025, 0.975]) if vals.size else (math.nan, math.nan))
        out[f"{key}_lo"], out[f"{key}_hi"] = float(lo), float(hi)
    return out


# ---------------------------------------------------------------------- main entry
def discover(df: pd.DataFrame, outcome: str, threshold: float, *, below: bool = False,
             inputs: list[str] | None = None, test_share: float = 0.3, seed: int = 0,
             n_boot: int = 200, alpha: float = 0.05, min_mass: float = 0.05, max_boxes: int = 2,
             cart_depth: int = 3, n_trees: int = 200) -> Discovery:
    """Find the input regions where ``outcome`` is bad (above ``threshold``, or below with
    ``below=True``). ``inputs``: the columns to explain it with (default: varied parameter
    columns and the regime). Deterministic for a given ``seed``."""
    from sklearn.ensemble import ExtraTreesClassifier
    from sklearn.tree import DecisionTreeClassifier, export_text

    if outcome not in df.columns:
        raise ExperimentError(f"--outcome {outcome}: not in the results table; allowed: "
                              + ", ".join(c for c in df.columns if c not in ID_COLUMNS and "." not in c
                                          and pd.api.types.is_numeric_dtype(df[c])))
    if not math.isfinite(threshold):
        raise ExperimentError(f"--threshold {threshold}: allowed: a finite number")
    if not 0 < test_share < 1:
        raise ExperimentError(f"--test-share {test_share}: allowed: a number in (0, 1)")
    inputs = list(inputs) if inputs else default_inputs(df)
    if not inputs:
        raise ExperimentError("no inputs: the results vary no parameter and no regime; allowed: a sweep "
                              "that varies parameters (or --inputs COLUMN ...)")
    missing = [c for c in inputs if c not in df.columns]
    if missing:
        raise ExperimentError(f"--inputs {missing[0]}: not in the results table")
    vals = pd.to_numeric(df[outcome], errors="coerce")
    ok = vals.notna().to_numpy()
    dropped = int((~ok).sum())
    data = df.loc[ok].reset_index(drop=True)
    vals = vals[ok].to_numpy(dtype=float)
    y = (vals < threshold) if below else (vals > threshold)
    y = y.astype(float)
    if y.sum() == 0 or y.sum() == len(y):
        word = "none" if y.sum() == 0 else "all"
        raise ExperimentError(f"--threshold {threshold:g}: {word} of the {len(y)} runs have {outcome} "
                              f"{'<' if below else '>'} {threshold:g}; allowed: a threshold between "
                              f"{vals.min():.4g} and {vals.max():.4g}")
    X = data[inputs].copy()
    categorical = [c for c in inputs if is_categorical(X[c])]
    groups = point_keys(data, inputs).to_numpy()
    uniq = np.unique(groups)
    if uniq.size < 4:
        raise ExperimentError(f"{uniq.size} parameter points: too few to hold some out; allowed: a sweep "
                              "with at least 4 points")
    rng = np.random.default_rng(seed)
    test_groups = set(rng.choice(uniq, size=max(1, int(round(test_share * uniq.size))), replace=False))
    is_test = np.isin(groups, list(test_groups))
    tr, te = ~is_test, is_test
    Xtr, ytr = X.loc[tr].reset_index(drop=True), y[tr]
    Xte, yte = X.loc[te].reset_index(drop=True), y[te]

    boxes, rejected = [], []
    remaining = np.ones(len(ytr), dtype=bool)
    for _ in range(max_boxes):
        if ytr[remaining].sum() == 0:
            break
        traj, cands = prim_peel(Xtr.loc[remaining].reset_index(drop=True), ytr[remaining], categorical,
                                alpha=alpha, min_mass=min_mass)
        step = _choose(traj)
        sub = Xtr.loc[remaining].reset_index(drop=True)
        restr = relax(sub, ytr[remaining], cands[step])
        if not restr:
            break
        cov_tr, dens_tr, mass_tr = _stats(ytr, _in_box(Xtr, restr))
        in_te = _in_box(Xte, restr)
        test = _bootstrap(yte, in_te, groups[te], n_boot, rng)
        test["base_rate"] = float(yte.mean())
        box = Box(restr, cov_tr, dens_tr, mass_tr, test=test, trajectory=traj, chosen_step=step)
        reasons = []
        if not yte.any():
            reasons.append(_l("no bad run among the test points", "测试参数点中没有不良结果"))
        if not (test["density_lo"] > test["base_rate"]):
            lo, base = test["density_lo"], test["base_rate"]
            reasons.append(_l(f"test density's lower bound {lo:.2f} is not above the test base rate {base:.2f}",
                              f"测试密度的下限 {lo:.2f} 未高于测试基准率 {base:.2f}"))
        if not (test["coverage"] >= 0.5 * cov_tr):
            reasons.append(_l(f"test coverage {test['coverage']:.2f} is below half the training coverage "
                              f"{cov_tr:.2f}",
                              f"测试覆盖率 {test['coverage']:.2f} 低于训练覆盖率 {cov_tr:.2f} 的一半"))
        box.holds, box.why = not reasons, _l("; ", "；").join(reasons)
        (boxes if box.holds else rejected).append(box)
        remaining &= ~_in_box(Xtr, restr)

    # CART and extra trees on one-hot inputs
    Xd = pd.get_dummies(X, columns=categorical, prefix_sep="=", dtype=float)
    source = {c: next(i for i in inputs if c == i or c.startswith(f"{i}=")) for c in Xd.columns}
    leaf = max(3, int(0.02 * tr.sum()))
    tree = DecisionTreeClassifier(max_depth=cart_depth, min_samples_leaf=leaf, random_state=seed)
    tree.fit(Xd.loc[tr], ytr)
    acc = float((tree.predict(Xd.loc[te]) == yte).mean()) if te.any() else math.nan
    used = [source[Xd.columns[f]] for f in tree.tree_.feature if f >= 0]
    splits = list(dict.fromkeys(used))
    rules = export_text(tree, feature_names=[str(c) for c in Xd.columns])
    et = ExtraTreesClassifier(n_estimators=n_trees, random_state=seed, min_samples_leaf=leaf, n_jobs=1)
    et.fit(Xd, y)
    scores = pd.Series(et.feature_importances_, index=Xd.columns).groupby(source).sum()
    scores = scores.reindex(inputs).fillna(0.0).sort_values(ascending=False)
    limits = {c: (tuple(sorted(X[c].unique(), key=str)) if c in categorical
                  else (float(X[c].min()), float(X[c].max()))) for c in inputs}
    return Discovery(outcome=outcome, threshold=float(threshold), below=below, inputs=inputs,
                     categorical=categorical, n_runs=len(y), n_points=int(uniq.size),
                     base_rate=float(y.mean()), boxes=boxes, rejected=rejected, cart_rules=rules,
                     cart_splits=splits, cart_test_accuracy=acc, feature_scores=scores, dropped=dropped,
                     limits=limits)


# ---------------------------------------------------------------------- report
_TEXT = {
    "en": {"title": "Scenario discovery", "traj": "PRIM peeling trajectory", "cov": "coverage",
           "dens": "density", "box": "PRIM box {i}: limits within each input's range",
           "scores": "Feature scores (extra trees)", "range": "share of the input's range",
           "chosen": "chosen box", "restricted": "inputs restricted"},
    "zh": {"title": "情景发现", "traj": "PRIM 剥离轨迹", "cov": "覆盖率", "dens": "密度",
           "box": "PRIM 盒 {i}：各输入范围内的界限", "scores": "特征得分（极端随机树）",
           "range": "输入范围的比例", "chosen": "选定的盒", "restricted": "受限输入数"},
}


def _t(key: str, **kw) -> str:
    from govsim.outcomes import get_language

    return _TEXT[get_language()][key].format(**kw)


def _l(en: str, zh: str) -> str:
    """The text in the current language (``--lang``)."""
    from govsim.outcomes import get_language

    return zh if get_language() == "zh" else en


def plot_trajectory(box: Box):
    import matplotlib.pyplot as plt

    traj = box.trajectory
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    sc = ax.scatter(traj["coverage"], traj["density"], c=traj["restricted"], cmap="viridis", s=18)
    ch = traj.iloc[box.chosen_step]
    ax.scatter([ch["coverage"]], [ch["density"]], s=120, facecolors="none", edgecolors="red",
               label=_t("chosen"))
    ax.set_xlabel(_t("cov"))
    ax.set_ylabel(_t("dens"))
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_title(_t("traj"))
    fig.colorbar(sc, ax=ax, label=_t("restricted"))
    ax.legend(loc="lower left")
    apply_fonts(fig)
    fig.tight_layout()
    return fig


def plot_box(d: Discovery, box: Box, i: int):
    import matplotlib.pyplot as plt

    from govsim.outcomes import label

    names = list(box.restrictions)
    fig, ax = plt.subplots(figsize=(6, 0.6 * len(names) + 1.6))
    for k, name in enumerate(names):
        r = box.restrictions[name]
        ax.plot([0, 1], [k, k], color="lightgrey", lw=8, solid_capstyle="butt")
        if r.categories is not None:
            cats = d.limits[name]
            text = ", ".join(_show(c) for c in r.categories)
            ax.plot([0, len(r.categories) / len(cats)], [k, k], color="tab:red", lw=8, solid_capstyle="butt")
            ax.text(1.02, k, text, va="center", fontsize=8)
        else:
            lo, hi = d.limits[name]
            span = (hi - lo) or 1.0
            a = ((r.low if r.low is not None else lo) - lo) / span
            b = ((r.high if r.high is not None else hi) - lo) / span
            ax.plot([a, b], [k, k], color="tab:red", lw=8, solid_capstyle="butt")
            ax.text(1.02, k, f"[{r.low if r.low is not None else lo:.3g}, "
                             f"{r.high if r.high is not None else hi:.3g}]", va="center", fontsize=8)
    ax.set_yticks(range(len(names)), [label(n) for n in names])
    ax.set_xlim(0, 1.35)
    ax.set_xlabel(_t("range"))
    ax.set_title(_t("box", i=i))
    apply_fonts(fig)
    fig.tight_layout()
    return fig


def plot_scores(d: Discovery):
    import matplotlib.pyplot as plt

    from govsim.outcomes import label

    s = d.feature_scores.iloc[::-1]
    fig, ax = plt.subplots(figsize=(5.5, 0.45 * len(s) + 1.4))
    ax.barh([label(n) for n in s.index], s.to_numpy(), color="tab:blue")
    ax.set_xlim(0, max(1e-9, float(s.max())) * 1.1)
    ax.set_title(_t("scores"))
    apply_fonts(fig)
    fig.tight_layout()
    return fig


def write_discovery(d: Discovery, out: str | Path, formats: tuple[str, ...] = ()) -> dict[str, Path]:
    """``discovery.md`` (boxes with out-of-sample CIs, CART rules, feature scores), the
    trajectories as CSV and the figures (PNG, plus ``formats``)."""
    import matplotlib.pyplot as plt

    from govsim.analysis.plots import save_figure
    from govsim.experiment.paths import atomic_write_text
    from govsim.outcomes import get_language, label

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    zh = get_language() == "zh"
    paths: dict[str, Path] = {}
    sign = "<" if d.below else ">"
    lines = [f"# {_t('title')}{_l(': ', '：')}{label(d.outcome)} {sign} {d.threshold:g}", ""]
    lines.append(
        (f"{d.n_runs} 次运行（{d.n_points} 个参数点）中 {d.base_rate:.1%} 为不良结果。"
         if zh else f"{d.base_rate:.1%} of {d.n_runs} runs ({d.n_points} parameter points) are bad "
         f"(`{d.outcome}` {sign} {d.threshold:g}).")
        + (_l(f" {d.dropped} runs with an undefined outcome left out.",
              f"另有 {d.dropped} 次运行的结果无定义，未纳入。") if d.dropped else ""))
    cat = _l(" (categorical)", "（分类变量）")
    lines += ["", _l("Inputs: ", "输入：") + _l(", ", "、").join(
                  f"`{c}`" + (cat if c in d.categorical else "") for c in d.inputs), "",
              _l("Training and test sets are split by parameter point; coverage and density are measured "
                 "on the test points, with 95% bootstrap intervals over points and replicates. A box is "
                 "reported only if its test density's lower bound exceeds the test base rate and its test "
                 "coverage is at least half its training coverage.",
                 "训练集与测试集按参数点划分；覆盖率与密度在测试参数点上计算，并给出对参数点与重复做"
                 "自助法抽样的 95% 置信区间。只有测试密度的下限高于测试基准率、且测试覆盖率不低于训练"
                 "覆盖率一半的盒才予以报告。"),
              "", _l("## PRIM boxes", "## PRIM 盒"), ""]
    figs = []
    for i, b in enumerate(d.boxes + d.rejected, 1):
        status = (_l("holds out of sample", "在样本外成立") if b.holds
                  else _l(f"**rejected**: {b.why}", f"**未采纳**：{b.why}"))
        cov, dens, mass = _ci(b.test, "coverage"), _ci(b.test, "density"), b.test["mass"]
        steps = len(b.trajectory) - 1
        lines += [_l(f"### Box {i}: {b.describe()}", f"### 盒 {i}：{b.describe()}"), "",
                  _l(f"Status: {status}.", f"状态：{status}。"), "",
                  _l("| | coverage | density | mass |", "| | 覆盖率 | 密度 | 质量 |"), "|---|---|---|---|",
                  _l("| training ", "| 训练集 ") + f"| {b.coverage:.3f} | {b.density:.3f} | {b.mass:.3f} |",
                  _l("| test (95% CI) ", "| 测试集（95% 置信区间） ") + f"| {cov} | {dens} | {mass:.3f} |", "",
                  _l(f"Test base rate: {b.test['base_rate']:.3f}. Chosen at peeling step {b.chosen_step} of "
                     f"{steps}.",
                     f"测试基准率：{b.test['base_rate']:.3f}。在第 {b.chosen_step} 步剥离（共 {steps} 步）时选定。"),
                  "", f"![trajectory](prim_trajectory_{i}.png) ![box](prim_box_{i}.png)", ""]
        atomic_write_text(out / f"prim_trajectory_{i}.csv", b.trajectory.to_csv(index=False))
        figs.append((plot_trajectory(b), f"prim_trajectory_{i}"))
        figs.append((plot_box(d, b, i), f"prim_box_{i}"))
    if not d.boxes:
        lines += [_l("No box holds out of sample.", "没有在样本外成立的盒。"), ""]
    splits = _l(", ", "、").join(f"`{s}`" for s in d.cart_splits) or _l("nothing", "无")
    acc = d.cart_test_accuracy
    lines += ["## CART", "", _l(f"Splits on: {splits}; test accuracy {acc:.3f}.",
                                f"分裂变量：{splits}；测试集准确率 {acc:.3f}。"),
              "", "```", d.cart_rules.rstrip(), "```", "",
              f"## {_t('scores')}", "", _l("| input | score |", "| 输入 | 得分 |"), "|---|---|"]
    lines += [f"| `{k}` | {v:.3f} |" for k, v in d.feature_scores.items()]
    lines += ["", "![scores](feature_scores.png)", ""]
    figs.append((plot_scores(d), "feature_scores"))
    for fig, name in figs:
        save_figure(fig, out / f"{name}.png", list(formats))
        plt.close(fig)
    paths["md"] = out / "discovery.md"
    atomic_write_text(paths["md"], "\n".join(lines))
    scores = out / "feature_scores.csv"
    atomic_write_text(scores, d.feature_scores.rename("score").rename_axis("input").reset_index().to_csv(index=False))
    paths["scores"] = scores
    return paths
