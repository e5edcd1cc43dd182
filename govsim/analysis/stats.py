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
    "adjust_pvalues",
    "compare",
    "group_stats",
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


def _hedges_g(xa: np.ndarray, xb: np.ndarray) -> float:
    """Bias-corrected standardised mean difference (b - a) / pooled SD (NaN if undefined)."""
    na, nb = len(xa), len(xb)
    if na < 2 or nb < 2:
        return math.nan
    _, ma, sa = _describe(xa)
    _, mb, sb = _describe(xb)
    dof = na + nb - 2
    sp = math.sqrt(((na - 1) * sa**2 + (nb - 1) * sb**2) / dof)
    if sp == 0:
        return math.nan
    # Exact small-sample correction J(dof) = Gamma(dof/2) / (sqrt(dof/2) Gamma((dof-1)/2)).
    j = math.exp(special.gammaln(dof / 2) - special.gammaln((dof - 1) / 2)) / math.sqrt(dof / 2)
    return j * (mb - ma) / sp


def _one_comparison(
    xa: np.ndarray, xb: np.ndarray, test: str, confidence: float
) -> dict[str, float | str]:
    """Statistics of one pair (orientation b - a). See :func:`compare` for the NaN policy."""
    na, nb = len(xa), len(xb)
    _, ma, sa = _describe(xa)
    _, mb, sb = _describe(xb)
    res: dict[str, float | str] = {
        "n_a": na, "n_b": nb, "mean_a": ma, "mean_b": mb, "diff": mb - ma,
        "ci_low": math.nan, "ci_high": math.nan, "hedges_g": _hedges_g(xa, xb),
        "cliffs_delta": math.nan, "statistic": math.nan, "p": math.nan, "note": "",
    }
    notes = []
    if na == 0 or nb == 0:
        res["diff"] = math.nan
        res["note"] = "no data in a group"
        return res
    if na < 2 or nb < 2:
        notes.append("n < 2 in a group: no Welch test, CI or Hedges' g")
    both_constant = na >= 2 and nb >= 2 and sa == 0 and sb == 0
    if both_constant:
        notes.append(
            "no variation in either group, values identical: no Welch test, CI or Hedges' g"
            if ma == mb
            else "no variation within either group, values differ (the difference is exact): "
            "no Welch test, CI or Hedges' g"
        )
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        # Cliff's delta = P(b > a) - P(b < a) = 2 U_b / (n_a n_b) - 1.
        if test == "mannwhitney" or na * nb > 1_000_000:
            u = st.mannwhitneyu(xb, xa, alternative="two-sided")
            res["cliffs_delta"] = 2.0 * float(u.statistic) / (na * nb) - 1.0
        else:  # same number, without the test's overhead
            res["cliffs_delta"] = float(np.sign(xb[:, None] - xa[None, :]).mean())
        if na >= 2 and nb >= 2 and not both_constant:
            t = st.ttest_ind(xb, xa, equal_var=False)
            ci = t.confidence_interval(confidence_level=confidence)
            res["ci_low"], res["ci_high"] = float(ci.low), float(ci.high)
            if test == "welch":
                res["statistic"], res["p"] = float(t.statistic), float(t.pvalue)
        if test == "mannwhitney":
            res["statistic"] = float(u.statistic)
            if np.isfinite(u.pvalue):
                res["p"] = float(u.pvalue)
            elif not both_constant:
                notes.append("all values tied: no Mann-Whitney test")
    res["note"] = "; ".join(notes)
    return res


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
        two-sided.
    correction:
        ``"holm"``, ``"bonferroni"``, ``"fdr_bh"`` or ``"none"`` (see :func:`adjust_pvalues`).
        It is applied over the **whole family of tests in the returned table**: all metrics x
        pairs x ``within`` cells that have a p-value (``m`` is stored in
        ``result.attrs["family_size"]``). Call :func:`compare` separately per metric if you
        want per-metric families instead.
    alpha:
        Level for ``significant`` (``p_adj <= alpha``).
    confidence:
        Level of the (per-comparison, not multiplicity-adjusted) Welch CI of the difference.
    order:
        Order of the group levels; pairs are ``(a, b)`` with ``a`` before ``b`` in this order.
        Default: sorted.

    Returns
    -------
    DataFrame, one row per (within cell, metric, pair): the ``within`` columns, ``metric``,
    ``a``, ``b``, ``n_a``, ``n_b``, ``mean_a``, ``mean_b``, ``diff`` (**= mean_b - mean_a**),
    ``ci_low``/``ci_high`` (Welch CI of ``diff``), ``hedges_g`` (bias-corrected
    (mean_b - mean_a) / pooled SD), ``cliffs_delta`` (P(b > a) - P(b < a), from the
    Mann-Whitney U; reported for both tests), ``test``, ``statistic`` (Welch t of b vs a, or
    Mann-Whitney U of b), ``p``, ``correction``, ``p_adj``, ``significant`` and ``note``.

    Degenerate data never raise; the affected values are NaN and ``note`` says why:

    * a group with no finite values: everything NaN;
    * ``n < 2`` in a group: no Welch test, Welch CI or Hedges' g (Mann-Whitney still runs but
      cannot reach significance with so few runs);
    * no variation in either group (both constant): no Welch test and no Hedges' g, whether the
      two constants are equal or not; ``note`` says which;
    * Mann-Whitney with all values tied: no test.

    Rows with NaN ``p`` have NaN ``p_adj``, ``significant == False`` and are not counted in
    the correction family.
    """
    if test not in _TESTS:
        raise ValueError(f"test must be one of {', '.join(_TESTS)}; got {test!r}")
    if correction not in _CORRECTIONS:
        raise ValueError(
            f"correction must be one of {', '.join(_CORRECTIONS)}; got {correction!r}"
        )
    _check_confidence(confidence)
    within = _as_list(within)
    metrics = _as_list(metrics)
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
                res = _one_comparison(
                    _finite(parts[a][metric]), _finite(parts[b][metric]), test, confidence
                )
                rows.append({**dict(zip(within, key, strict=True)), "metric": metric,
                             "a": a, "b": b, **res})
    columns = [*within, "metric", "a", "b", "n_a", "n_b", "mean_a", "mean_b", "diff",
               "ci_low", "ci_high", "hedges_g", "cliffs_delta", "test", "statistic", "p",
               "correction", "p_adj", "significant", "note"]
    out = pd.DataFrame(rows, columns=[c for c in columns if c not in
                                      ("test", "correction", "p_adj", "significant")])
    out["test"] = test
    out["correction"] = correction
    out["p_adj"] = adjust_pvalues(out["p"].to_numpy(dtype=float), correction)
    out["significant"] = (out["p_adj"] <= alpha).fillna(False).astype(bool)
    out = out[columns]
    for c in ("n_a", "n_b"):
        out[c] = out[c].astype(int)
    out.attrs.update(family_size=int(np.isfinite(out["p"].to_numpy(dtype=float)).sum()),
                     test=test, correction=correction, alpha=alpha, confidence=confidence,
                     group=group, within=within)
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
