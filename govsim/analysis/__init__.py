"""Statistics and reporting for experiment run tables (one row per model run).

Works on a pandas DataFrame only and knows nothing of how the runs were made::

    from govsim.analysis import group_stats, compare, write_report

    stats = group_stats(runs, ["participation_rate", "resolution_rate"], by="regime")
    comps = compare(runs, ["participation_rate"], group="regime", correction="holm")
    write_report(runs, "out/report", metrics=["participation_rate", "resolution_rate"])
"""

from govsim.analysis.plots import (
    LABELS,
    PERCENT_METRICS,
    format_ci,
    format_value,
    label,
    metric_by_regime,
    metric_vs_parameter,
    save_figure,
    time_series,
    tradeoff,
)
from govsim.analysis.report import describe_finding, format_table, write_report
from govsim.analysis.stats import (
    adjust_pvalues,
    compare,
    group_stats,
    parameter_effects,
    precision_warnings,
    replicates_needed,
)

__all__ = [
    "LABELS",
    "PERCENT_METRICS",
    "adjust_pvalues",
    "compare",
    "describe_finding",
    "format_ci",
    "format_table",
    "format_value",
    "group_stats",
    "label",
    "metric_by_regime",
    "metric_vs_parameter",
    "parameter_effects",
    "precision_warnings",
    "replicates_needed",
    "save_figure",
    "time_series",
    "tradeoff",
    "write_report",
]
