"""Statistics for experiment tables: group means with t confidence intervals, pairwise
comparisons with multiple-testing correction, and replicate-precision checks.

Input is a run table: one row per model run, with a grouping column (usually ``regime``),
optional parameter columns and numeric metric columns. The metric and parameter columns are
always named by the caller, never guessed.

Conventions (also in each function's docstring):

* Missing values: NaN and +/-inf in a metric are left out, so ``n`` counts the finite values
  of that metric in that group.
* Confidence intervals use Student's t with ``n - 1`` degrees of freedom.
* In :func:`compare`, ``diff = mean_b - mean_a`` (the second group minus the first) and every
  signed quantity (``statistic``, ``ci_low``/``ci_high``, ``hedges_g``, ``cliffs_delta``) has
  the same orientation: positive means group ``b`` is higher.
* The multiple-testing correction runs over the whole family of tests in the returned table
  (every metric x pair x ``within`` cell that has a p-value).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import special
from scipy import stats as st

__all__ = [
    "STAT_COLUMNS",
    "VERDICTS",
    "adjust_pvalues",
    "compare",
    "group_stats",
    "parameter_effects",
    "precision_warnings",
    "replicates_needed",
]

#: Columns that :func:`group_stats` adds after the ``by`` columns.
STAT_COLUMNS = ("metric", "n", "mean", "sd", "sem", "ci_low", "ci_high", "half_width")

_TESTS = ("welch", "mannwhitney")
_CORRECTIONS = ("holm", "bonferroni", "fdr_bh", "none")


# --------------------------------------------------------------------------- helpers


def _as_list(cols: str | Iterable[str] | None) -> list[str]:
    if cols is None:
        return []
    if isinstance(cols, str):
        return [cols]
    return list(cols)


def _check_columns(df: pd.DataFrame, cols: Iterable[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise KeyError(f"{what} column(s) not in the table: {', '.join(map(str, missing))}")


def _finite(values) -> np.ndarray:
    """The finite values of a column as a float array (NaN and +/-inf dropped)."""
    x = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    return x[np.isfinite(x)]


def _describe(x: np.ndarray) -> tuple[int, float, float]:
    """n, mean, sample sd (ddof=1); sd is exactly 0 for a constant sample, NaN when n < 2."""
    n = len(x)
    if n == 0:
        return 0, math.nan, math.nan
    mean = float(np.mean(x))
    if n == 1:
        return 1, mean, math.nan
    sd = 0.0 if x.min() == x.max() else float(np.std(x, ddof=1))
    return n, mean, sd


def _t_crit(n: int | np.ndarray, confidence: float):
    """Two-sided t quantile with n - 1 degrees of freedom (NaN where n < 2)."""
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore"):
        q = st.t.ppf(0.5 + confidence / 2.0, np.where(n >= 2, n - 1, np.nan))
    return q


def _groups(df: pd.DataFrame, by: list[str]):
    """Iterate (key tuple, sub-frame) over the combinations of ``by`` present in ``df``."""
    if not by:
        yield (), df
        return
    for key, sub in df.groupby(by, sort=True, dropna=False, observed=True):
        yield (key if isinstance(key, tuple) else (key,)), sub


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")


# --------------------------------------------------------------------------- group stats


def group_stats(
    df: pd.DataFrame,
    metrics: Sequence[str],
    by: str | Sequence[str] = ("regime",),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Mean, spread and t confidence interval of each metric in each group, in long format.

    Parameters
    ----------
    df:
        The run table (one row per run).
    metrics:
        Metric columns to summarise.
    by:
        Grouping column(s), e.g. ``"regime"`` or ``["regime", "point"]``; ``()`` pools all rows.
    confidence:
        Confidence level of the interval (default 95 %).

    Returns
    -------
    DataFrame with the ``by`` columns, then ``metric``, ``n`` (finite values), ``mean``,
    ``sd`` (sample SD, ddof=1), ``sem`` (= sd / sqrt(n)), ``ci_low``, ``ci_high`` and
    ``half_width`` (= t_{n-1, (1+confidence)/2} * sem). Rows are sorted by the ``by`` values
    and keep the order of ``metrics`` within a group.

    Edge cases: ``n == 1`` gives NaN ``sd``/``sem``/CI (no interval from one run); ``n == 0``
    gives NaN everywhere; a constant group has ``sd == 0`` and a zero-width interval.
    """
    _check_confidence(confidence)
    by = _as_list(by)
    metrics = _as_list(metrics)
    _check_columns(df, by, "grouping")
    _check_columns(df, metrics, "metric")
    rows = []
    for key, sub in _groups(df, by):
        for metric in metrics:
            n, mean, sd = _describe(_finite(sub[metric]))
            rows.append((*key, metric, n, mean, sd))
    out = pd.DataFrame(rows, columns=[*by, "metric", "n", "mean", "sd"])
    out["n"] = out["n"].astype(int)
    n = out["n"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        sem = np.where(n >= 2, out["sd"].to_numpy(dtype=float) / np.sqrt(n), np.nan)
    half = _t_crit(n, confidence) * sem
    out["sem"] = sem
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    out["half_width"] = half
    out.attrs["confidence"] = confidence
    out.attrs["by"] = by
    return out


# --------------------------------------------------------------------------- p adjustment


def adjust_pvalues(p, method: str = "holm") -> np.ndarray:
    """Adjust a family of p-values for multiple testing.

    ``method`` is ``"holm"`` (step-down, controls the family-wise error rate),
    ``"bonferroni"`` (``min(1, m p)``), ``"fdr_bh"`` (Benjamini-Hochberg false discovery rate,
    via :func:`scipy.stats.false_discovery_control`) or ``"none"``. NaN entries are not tests:
    they stay NaN and do not count towards the family size ``m``.
    """
    if method not in _CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(_CORRECTIONS)}; got {method!r}")
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    q = p[ok]
    m = q.size
    if m == 0:
        return out
    if np.any((q < 0) | (q > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    if method == "none":
        adj = q.copy()
    elif method == "bonferroni":
        adj = np.minimum(1.0, m * q)
    elif method == "holm":
        order = np.argsort(q, kind="stable")
        stepped = (m - np.arange(m)) * q[order]
        stepped = np.minimum(1.0, np.maximum.accumulate(stepped))
        adj = np.empty(m)
        adj[order] = stepped
    else:  # fdr_bh
        adj = st.false_discovery_control(q, method="bh")
    out[ok] = adj
    return out


# --------------------------------------------------------------------------- compare


#: A spread below this fraction of the values' magnitude counts as no spread at all
#: (deterministic outputs with floating-point noise would give effect sizes of 1e15).
NEAR_ZERO_SPREAD = 1e-9
#: Standardised effects beyond this are shown as "> 10" in text: they say only that the
#: spread between replicates is tiny, not that the difference matters.
G_CAP = 10.0


def _near_zero_spread(sd: float, *means: float) -> bool:
    scale = max([abs(m) for m in means if np.isfinite(m)] + [1e-300])
    return not np.isfinite(sd) or sd <= NEAR_ZERO_SPREAD * scale


def _hedges_g(xa: np.ndarray, xb: np.ndarray) -> float:
    """Bias-corrected standardised mean difference (b - a) / pooled SD (NaN if undefined)."""
    na, nb = len(xa), len(xb)
    if na < 2 or nb < 2:
        return math.nan
    _, ma, sa = _describe(xa)
    _, mb, sb = _describe(xb)
    dof = na + nb - 2
    sp = math.sqrt(((na - 1) * sa**2 + (nb - 1) * sb**2) / dof)
    if _near_zero_spread(sp, ma, mb):
        return math.nan
    # Exact small-sample correction J(dof) = Gamma(dof/2) / (sqrt(dof/2) Gamma((dof-1)/2)).
    j = math.exp(special.gammaln(dof / 2) - special.gammaln((dof - 1) / 2)) / math.sqrt(dof / 2)
    return j * (mb - ma) / sp


def _tost_p(diff: float, se: float, dof: float, margin: float) -> float:
    """Two one-sided tests of |true diff| < margin: the larger of the two one-sided p."""
    if not (np.isfinite(se) and se > 0 and np.isfinite(dof) and dof > 0
            and np.isfinite(margin) and margin > 0):
        return math.nan
    p_low = st.t.sf((diff + margin) / se, dof)   # H0: diff <= -margin
    p_high = st.t.cdf((diff - margin) / se, dof)  # H0: diff >= +margin
    return float(max(p_low, p_high))


def _one_comparison(
    xa: np.ndarray, xb: np.ndarray, test: str, confidence: float,
    paired: bool = False, margin: float = math.nan,
) -> dict[str, float | str]:
    """Statistics of one pair (orientation b - a). See :func:`compare` for the NaN policy.

    ``paired``: ``xa[i]`` and ``xb[i]`` are one matched pair (common random numbers), so the
    test is on the differences (paired t-test, or Wilcoxon signed-rank for ``mannwhitney``).
    ``margin`` (> 0) is the smallest effect of interest for the equivalence test (TOST).
    """
    na, nb = len(xa), len(xb)
    _, ma, sa = _describe(xa)
    _, mb, sb = _describe(xb)
    res: dict[str, float | str] = {
        "n_a": na, "n_b": nb, "mean_a": ma, "mean_b": mb, "diff": mb - ma,
        "ci_low": math.nan, "ci_high": math.nan, "hedges_g": _hedges_g(xa, xb),
        "cliffs_delta": math.nan, "statistic": math.nan, "p": math.nan, "p_tost": math.nan,
        "paired": bool(paired), "note": "",
    }
    notes = []
    if na == 0 or nb == 0:
        res["diff"] = math.nan
        res["note"] = "no data in a group"
        return res
    if na < 2 or nb < 2:
        notes.append("n < 2 in a group: no test, CI or Hedges' g")
    both_constant = na >= 2 and nb >= 2 and sa == 0 and sb == 0
    if paired:
        d = xb - xa
        _, md, sdd = _describe(d)
        constant_diff = len(d) >= 2 and (sdd == 0 or _near_zero_spread(sdd, ma, mb))
    else:
        constant_diff = both_constant or (
            na >= 2 and nb >= 2 and _near_zero_spread(
                math.sqrt(((na - 1) * sa**2 + (nb - 1) * sb**2) / max(na + nb - 2, 1)), ma, mb))
    if constant_diff:
        notes.append(
            "no variation, values identical: no test or effect size"
            if ma == mb or not np.isfinite(mb - ma) or abs(mb - ma) <= NEAR_ZERO_SPREAD * max(abs(ma), abs(mb), 1e-300)
            else "no (or near-zero) variation within either group, values differ (the "
            "difference is exact): no test or effect size; the difference is compared with "
            "the smallest effect of interest"
        )
    elif na >= 2 and nb >= 2 and np.isfinite(res["hedges_g"]) and abs(res["hedges_g"]) > G_CAP:
        notes.append(f"|Hedges' g| > {G_CAP:g}: the replicates barely vary; g says nothing "
                     "about whether the difference matters")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        # Cliff's delta = P(b > a) - P(b < a) = 2 U_b / (n_a n_b) - 1.
        if test == "mannwhitney" or na * nb > 1_000_000:
            u = st.mannwhitneyu(xb, xa, alternative="two-sided")
            res["cliffs_delta"] = 2.0 * float(u.statistic) / (na * nb) - 1.0
        else:  # same number, without the test's overhead
            res["cliffs_delta"] = float(np.sign(xb[:, None] - xa[None, :]).mean())
        if na >= 2 and nb >= 2 and not constant_diff:
            if paired:
                t = st.ttest_rel(xb, xa)
                se, dof = sdd / math.sqrt(len(d)), len(d) - 1
            else:
                t = st.ttest_ind(xb, xa, equal_var=False)
                va, vb = sa**2 / na, sb**2 / nb
                se = math.sqrt(va + vb)
                dof = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
            ci = t.confidence_interval(confidence_level=confidence)
            res["ci_low"], res["ci_high"] = float(ci.low), float(ci.high)
            res["p_tost"] = _tost_p(mb - ma, se, dof, margin)
            if test == "welch":
                res["statistic"], res["p"] = float(t.statistic), float(t.pvalue)
        if test == "mannwhitney" and not (paired and constant_diff):
            if paired:
                w = st.wilcoxon(xb, xa, zero_method="zsplit")
                res["statistic"], pv = float(w.statistic), w.pvalue
            else:
                res["statistic"], pv = float(u.statistic), u.pvalue
            if np.isfinite(pv):
                res["p"] = float(pv)
            elif not both_constant:
                notes.append("all values tied: no rank test")
    res["note"] = "; ".join(notes)
    return res


#: Verdicts of :func:`compare` (column ``verdict``).
VERDICTS = ("meaningful", "significant, below the smallest effect of interest",
            "no meaningful difference", "inconclusive", "untestable")


def _verdict(row: Mapping, alpha: float) -> str:
    """meaningful / significant but small / equivalent (TOST) / inconclusive / untestable."""
    diff, margin = float(row["diff"]), float(row["sesoi"])
    exact = "exact" in str(row["note"]) or "identical" in str(row["note"])
    if not np.isfinite(diff):
        return "untestable"
    if exact:  # no variation: the difference is known exactly
        if not np.isfinite(margin):
            return "meaningful" if diff != 0 else "no meaningful difference"
        return "meaningful" if abs(diff) > margin else "no meaningful difference"
    sig = bool(row["significant"])
    if sig:
        if not np.isfinite(margin) or abs(diff) > margin:
            return "meaningful"
        return "significant, below the smallest effect of interest"
    if np.isfinite(row["p_tost_adj"]) and row["p_tost_adj"] <= alpha:
        return "no meaningful difference"
    if not np.isfinite(row["p"]):
        return "untestable"
    return "inconclusive"


def _pairs(pa: pd.DataFrame, pb: pd.DataFrame, metric: str, pair_by: list[str]):
    """Matched (xa, xb) arrays on the ``pair_by`` keys, or None if the runs do not match 1:1."""
    if not pair_by:
        return None
    ka = pa[pair_by + [metric]].dropna(subset=pair_by)
    kb = pb[pair_by + [metric]].dropna(subset=pair_by)
    if ka.duplicated(pair_by).any() or kb.duplicated(pair_by).any():
        return None
    m = ka.merge(kb, on=pair_by, suffixes=("_a", "_b"))
    if len(m) != len(ka) or len(m) != len(kb) or len(m) < 2:
        return None
    xa = pd.to_numeric(m[f"{metric}_a"], errors="coerce").to_numpy(dtype=float)
    xb = pd.to_numeric(m[f"{metric}_b"], errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(xa) & np.isfinite(xb)
    return xa[ok], xb[ok]


def compare(
    df: pd.DataFrame,
    metrics: Sequence[str],
    group: str = "regime",
    within: str | Sequence[str] = (),
    test: str = "welch",
    correction: str = "holm",
    alpha: float = 0.05,
    confidence: float = 0.95,
    order: Sequence | None = None,
    pair_by: str | Sequence[str] = (),
    sesoi: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """All pairwise comparisons of the levels of ``group``, per metric and per ``within`` cell.

    Parameters
    ----------
    df:
        The run table (one row per run).
    metrics:
        Metric columns to compare.
    group:
        Column whose levels are compared pairwise (default ``"regime"``).
    within:
        Column(s) held fixed: pairs are formed only inside each combination of their values
        (e.g. ``"point"`` compares regimes at each parameter point separately).
    test:
        ``"welch"`` (Welch's unequal-variance t-test, :func:`scipy.stats.ttest_ind` with
        ``equal_var=False``) or ``"mannwhitney"`` (:func:`scipy.stats.mannwhitneyu`); both
        two-sided. With pairing (below) they become the paired t-test
        (:func:`scipy.stats.ttest_rel`) and the Wilcoxon signed-rank test.
    correction:
        ``"holm"``, ``"bonferroni"``, ``"fdr_bh"`` or ``"none"`` (see :func:`adjust_pvalues`).
        It is applied over the **whole family of tests in the returned table**: all metrics x
        pairs x ``within`` cells that have a p-value (``m`` is stored in
        ``result.attrs["family_size"]``); the TOST p-values are adjusted the same way.
    alpha:
        Level for ``significant`` (``p_adj <= alpha``) and for the equivalence test.
    confidence:
        Level of the (per-comparison, not multiplicity-adjusted) CI of the difference.
    order:
        Order of the group levels; pairs are ``(a, b)`` with ``a`` before ``b`` in this order.
        Default: sorted.
    pair_by:
        Column(s) that match runs of ``a`` and ``b`` one to one inside a cell, e.g.
        ``"replicate"`` when every regime used the same seed at each point and replicate
        (common random numbers). Where every run matches, the paired test is used
        (``paired`` column); otherwise the unpaired one.
    sesoi:
        Smallest effect of interest per metric (absolute, in the metric's units). Default:
        :func:`govsim.outcomes.smallest_effect` with the mean of ``a`` as reference.

    Returns
    -------
    DataFrame, one row per (within cell, metric, pair): the ``within`` columns, ``metric``,
    ``a``, ``b``, ``n_a``, ``n_b``, ``mean_a``, ``mean_b``, ``diff`` (**= mean_b - mean_a**),
    ``ci_low``/``ci_high`` (CI of ``diff``), ``hedges_g`` (bias-corrected
    (mean_b - mean_a) / pooled SD), ``cliffs_delta`` (P(b > a) - P(b < a)), ``test``,
    ``paired``, ``statistic``, ``p``, ``correction``, ``p_adj``, ``significant``, ``sesoi``,
    ``p_tost`` / ``p_tost_adj`` (equivalence within +/- sesoi), ``verdict`` (one of
    :data:`VERDICTS`: a difference is *meaningful* only if it is significant **and** larger
    than the smallest effect of interest; *no meaningful difference* when the equivalence
    test says so) and ``note``.

    Degenerate data never raise; the affected values are NaN and ``note`` says why:

    * a group with no finite values: everything NaN;
    * ``n < 2`` in a group: no test, CI or Hedges' g;
    * no (or near-zero, below 1e-9 of the values) variation: no test and no effect size; the
      difference is exact and is compared with the smallest effect of interest directly;
    * rank test with all values tied: no test.

    Rows with NaN ``p`` have NaN ``p_adj``, ``significant == False`` and are not counted in
    the correction family.
    """
    from govsim.outcomes import smallest_effect

    if test not in _TESTS:
        raise ValueError(f"test must be one of {', '.join(_TESTS)}; got {test!r}")
    if correction not in _CORRECTIONS:
        raise ValueError(
            f"correction must be one of {', '.join(_CORRECTIONS)}; got {correction!r}"
        )
    _check_confidence(confidence)
    within = _as_list(within)
    metrics = _as_list(metrics)
    pair_by = [c for c in _as_list(pair_by) if c in df.columns]
    if group in within:
        raise ValueError(f"group column {group!r} cannot also be a 'within' column")
    _check_columns(df, [group, *within], "grouping")
    _check_columns(df, metrics, "metric")

    rows = []
    for key, cell in _groups(df, within):
        present = list(pd.unique(cell[group].dropna()))
        if order is not None:
            levels = [g for g in order if g in present]
        else:
            levels = sorted(present, key=lambda v: (str(type(v)), v))
        parts = {g: cell[cell[group] == g] for g in levels}
        for metric in metrics:
            for a, b in combinations(levels, 2):
                matched = _pairs(parts[a], parts[b], metric, pair_by)
                if matched is not None:
                    xa, xb = matched
                else:
                    xa, xb = _finite(parts[a][metric]), _finite(parts[b][metric])
                ref = float(np.mean(xa)) if len(xa) else math.nan
                margin = (float(sesoi[metric]) if sesoi is not None and metric in sesoi
                          else smallest_effect(metric, ref))
                res = _one_comparison(xa, xb, test, confidence, paired=matched is not None,
                                      margin=margin)
                rows.append({**dict(zip(within, key, strict=True)), "metric": metric,
                             "a": a, "b": b, **res, "sesoi": margin})
    columns = [*within, "metric", "a", "b", "n_a", "n_b", "mean_a", "mean_b", "diff",
               "ci_low", "ci_high", "hedges_g", "cliffs_delta", "test", "paired", "statistic",
               "p", "correction", "p_adj", "significant", "sesoi", "p_tost", "p_tost_adj",
               "verdict", "note"]
    out = pd.DataFrame(rows, columns=[c for c in columns if c not in
                                      ("test", "correction", "p_adj", "significant",
                                       "p_tost_adj", "verdict")])
    out["test"] = test
    out["correction"] = correction
    out["p_adj"] = adjust_pvalues(out["p"].to_numpy(dtype=float), correction)
    out["significant"] = (out["p_adj"] <= alpha).fillna(False).astype(bool)
    out["p_tost_adj"] = adjust_pvalues(out["p_tost"].to_numpy(dtype=float), correction)
    out["paired"] = out["paired"].astype(bool)
    out["verdict"] = [_verdict(r, alpha) for _, r in out.iterrows()] if len(out) else []
    out = out[columns]
    for c in ("n_a", "n_b"):
        out[c] = out[c].astype(int)
    out.attrs.update(family_size=int(np.isfinite(out["p"].to_numpy(dtype=float)).sum()),
                     test=test, correction=correction, alpha=alpha, confidence=confidence,
                     group=group, within=within, pair_by=pair_by,
                     paired=bool(out["paired"].any()) if len(out) else False)
    return out


# --------------------------------------------------------------------------- precision


def replicates_needed(sd: float, target_half_width: float, confidence: float = 0.95) -> int:
    """Smallest number of replicates n (>= 2) whose t interval half-width
    ``t_{n-1, (1+confidence)/2} * sd / sqrt(n)`` is at most ``target_half_width``.

    Starts from the normal-quantile answer ``(z sd / target)^2`` and iterates with the t
    quantile (the half-width falls monotonically with n). ``sd == 0`` gives 2, the fewest
    runs that give an interval at all. Raises ``ValueError`` for a non-positive target or a
    negative / non-finite ``sd``.
    """
    _check_confidence(confidence)
    if not (np.isfinite(target_half_width) and target_half_width > 0):
        raise ValueError(f"target_half_width must be a positive number, got {target_half_width!r}")
    if not (np.isfinite(sd) and sd >= 0):
        raise ValueError(f"sd must be a finite number >= 0, got {sd!r}")
    if sd == 0:
        return 2
    q = 0.5 + confidence / 2.0

    def half(n: int) -> float:
        return float(st.t.ppf(q, n - 1)) * sd / math.sqrt(n)

    n = max(2, math.ceil((float(st.norm.ppf(q)) * sd / target_half_width) ** 2))
    for _ in range(100):  # fixed point from below; converges in a few steps
        nxt = max(2, math.ceil((float(st.t.ppf(q, n - 1)) * sd / target_half_width) ** 2))
        if nxt <= n:
            break
        n = nxt
    while n > 2 and half(n - 1) <= target_half_width:
        n -= 1
    while half(n) > target_half_width:
        n += 1
    return n


def _target(row: pd.Series, rel_precision: float | None, abs_precision) -> tuple[float, str]:
    """Target half-width for one stats row, and how it was set (for the message)."""
    if abs_precision is not None:
        if isinstance(abs_precision, Mapping):
            if row["metric"] in abs_precision:
                v = float(abs_precision[row["metric"]])
                return v, f"+/-{v:.4g}"
        else:
            v = float(abs_precision)
            return v, f"+/-{v:.4g}"
    if rel_precision is None:
        return math.nan, ""
    return rel_precision * abs(row["mean"]), f"+/-{100 * rel_precision:g}% of the mean"


def precision_warnings(
    stats_df: pd.DataFrame,
    rel_precision: float | None = 0.05,
    abs_precision: float | Mapping[str, float] | None = None,
) -> list[str]:
    """Plain-English warnings for group/metric rows of :func:`group_stats` output whose
    confidence interval is wider than the requested precision.

    The target half-width is ``abs_precision`` when given (one number for every metric, or a
    ``{metric: half_width}`` mapping; metrics not in the mapping fall back to the relative
    target), otherwise ``rel_precision * |mean|``. For each row whose ``half_width`` exceeds
    the target, the line says how many replicates would be needed: the rule of thumb
    ``n * (half_width / target)^2``, refined with the t quantile by :func:`replicates_needed`
    (the plain rule overstates it badly when n is small). Rows with ``n < 3`` always get a
    warning: with 1 run there is no interval, with 2 the t quantile (12.7) makes it very wide.
    A relative target is undefined when the mean is 0 but the interval is not; that gets its
    own line. The ``n < 3`` lines come first, one per group (listing the metrics affected);
    then one line per imprecise group/metric. Returns an empty list when everything is
    precise enough. The confidence level is read from ``stats_df.attrs`` (set by
    :func:`group_stats`; 0.95 if absent, e.g. after a CSV round trip).
    """
    conf = float(stats_df.attrs.get("confidence", 0.95))
    key_cols = [c for c in stats_df.columns if c not in STAT_COLUMNS]
    lines = []
    few: dict[tuple[str, int], list[str]] = {}  # (cell, n) -> metrics with n < 3
    for _, row in stats_df.iterrows():
        cell = ", ".join(f"{c}={row[c]}" for c in key_cols)
        where = f"{cell}, {row['metric']}" if cell else str(row["metric"])
        n = int(row["n"])
        hw, sd = float(row["half_width"]), float(row["sd"])
        if n < 3:
            few.setdefault((cell, n), []).append(str(row["metric"]))
            if n < 2:
                continue
        target, how = _target(row, rel_precision, abs_precision)
        if not np.isfinite(hw) or not np.isfinite(target) or hw <= target:
            continue
        if target <= 0:
            lines.append(f"{where}: the mean is 0, so a relative precision is undefined "
                         f"(half-width {hw:.4g}); give an absolute precision for this metric.")
            continue
        needed = replicates_needed(sd, target, conf)
        rough = math.ceil(n * (hw / target) ** 2)
        lines.append(
            f"{where}: the {100 * conf:g}% CI half-width is {hw:.4g} with n={n}, wider than "
            f"the target {how} ({target:.4g}); about {needed} replicates would be needed "
            f"(rule of thumb n*(half_width/target)^2 = {rough})."
        )
    n_metrics = stats_df["metric"].nunique()
    small = []
    for (cell, n), names in few.items():
        which = "every metric" if len(names) == n_metrics else ", ".join(names)
        reason = ("no confidence interval can be computed" if n < 2
                  else "the interval rests on the t quantile with 1 degree of freedom (12.7)")
        small.append(f"{cell or 'all runs'}: only {n} replicate{'s' if n != 1 else ''} for "
                     f"{which}; {reason}. Use at least 3 (preferably 10 or more).")
    return small + lines


# --------------------------------------------------------------------------- parameter effects


def parameter_effects(
    df: pd.DataFrame,
    metrics: Sequence[str],
    params: Sequence[str],
    group: str = "regime",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """The effect of each varied parameter on each metric, per ``group`` level (regime), by
    ordinary least squares (statsmodels), holding the other varied parameters in the model.

    A numeric parameter (not bool) enters linearly: the row's ``estimate`` is the change in
    the metric per unit of the parameter, and ``effect_over_range`` that slope times the
    parameter's range. A boolean or categorical parameter enters as dummies: one row per
    non-baseline level with the difference from the baseline level (the first, sorted).
    Each row has the ``confidence`` interval and p of the estimate; ``anova_p`` is the
    p-value of the parameter's F test (type II ANOVA, all its terms at once). ``sesoi`` is the
    smallest effect of interest (relative to the regime's mean), ``meaningful`` whether the
    effect is significant at 0.05 and larger than it.
    """
    metrics, params = _as_list(metrics), _as_list(params)
    _check_columns(df, [*metrics, *params, group], "column")
    varied = [p for p in params if df[p].nunique(dropna=True) > 1]
    rows = []
    if not varied:
        return pd.DataFrame(rows)
    safe = {p: f"p{i}" for i, p in enumerate(varied)}
    numeric = {p: pd.api.types.is_numeric_dtype(df[p]) and not pd.api.types.is_bool_dtype(df[p])
               for p in varied}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        rows = _effect_rows(df, metrics, varied, group, confidence, safe, numeric)
    out = pd.DataFrame(rows)
    out.attrs["confidence"] = confidence
    return out


def _effect_rows(df, metrics, varied, group, confidence, safe, numeric) -> list[dict]:
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    from govsim.outcomes import smallest_effect

    rows = []
    for g, sub in _groups(df, [group]):
        for metric in metrics:
            data = sub[[*varied, metric]].rename(columns={**safe, metric: "y"})
            data = data[np.isfinite(pd.to_numeric(data["y"], errors="coerce"))]
            data["y"] = data["y"].astype(float)
            if len(data) < len(varied) + 3:
                continue
            terms = [safe[p] if numeric[p] else f"C({safe[p]})" for p in varied]
            y_sd = float(data["y"].std(ddof=1))
            constant = _near_zero_spread(y_sd, float(data["y"].mean()))
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                fit = smf.ols("y ~ " + " + ".join(terms), data=data).fit()
                try:
                    aov = anova_lm(fit, typ=2)
                except Exception:
                    aov = None
            ci = fit.conf_int(alpha=1 - confidence)
            ref = float(data["y"].mean())
            margin = smallest_effect(metric, ref)
            for p, term in zip(varied, terms, strict=True):
                anova_p = (float(aov.loc[term, "PR(>F)"]) if aov is not None and term in aov.index
                           else math.nan)
                names = [n for n in fit.params.index
                         if n == term or n.startswith(f"{term}[")]
                span = (float(data[safe[p]].max() - data[safe[p]].min()) if numeric[p] else 1.0)
                for n in names:
                    est = float(fit.params[n])
                    lo, hi = float(ci.loc[n, 0]), float(ci.loc[n, 1])
                    pv = float(fit.pvalues[n])
                    if constant:
                        lo = hi = pv = anova_p = math.nan
                    level = n.split("[T.", 1)[1].rstrip("]") if "[T." in n else ""
                    eff = est * span
                    rows.append({
                        group: g[0], "metric": metric, "param": p,
                        "level": level, "kind": "slope" if numeric[p] else "difference",
                        "estimate": est, "ci_low": lo, "ci_high": hi, "p": pv,
                        "effect_over_range": eff,
                        "effect_ci_low": lo * span, "effect_ci_high": hi * span,
                        "anova_p": anova_p, "n": int(fit.nobs), "r2": float(fit.rsquared),
                        "sesoi": margin,
                        "meaningful": bool(np.isfinite(pv) and pv <= 0.05 and (
                            not np.isfinite(margin) or abs(eff) > margin)),
                        "note": "no variation in the outcome" if constant else "",
                    })
    return rows
