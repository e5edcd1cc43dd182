"""The command line's reports: bare govsim, help examples, --lang, compare and plot."""

import json
import shutil

import pandas as pd
import pytest

from govsim.cli import build_parser, main

from conftest import ROOT

TINY = """\
name = "tiny"
regime = "hybrid"
steps = 30
seed = 1

[population]
households = 120
"""


def test_bare_govsim_prints_help_and_runs_nothing(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: govsim") and "examples:" in out
    assert not (tmp_path / "out").exists()


def test_every_subcommand_help_shows_an_example(capsys):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in sub.choices:
        with pytest.raises(SystemExit):
            main([name, "--help"])
        out = capsys.readouterr().out
        assert "example:" in out and f"govsim {name}" in out.split("example:")[1], name
        assert "--lang" in out


def test_run_summary_in_chinese(tmp_path, capsys):
    sc = tmp_path / "tiny.toml"
    sc.write_text(TINY)
    assert main(["run", str(sc), "--quiet", "--lang", "zh", "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "治理模式=混合型（日本式）" in out and "矛盾化解" in out and "居民参与率" in out
    assert "化解率（化解 / 产生）" in out and "\n已写入 " in out and " 秒）" in out
    assert "随机种子=" in out and "funding=" not in out
    # without --quiet the model's description (regime, institutions, chains) is in Chinese too
    assert main(["run", str(sc), "--steps", "3", "--lang", "zh", "--out", str(tmp_path / "run2")]) == 0
    err = capsys.readouterr().err
    assert "名居民" in err and "制度：" in err and "一般事项：" in err and "居委会" in err
    assert "institutions:" not in err and "residents in" not in err and "->" not in err
    # alignment: every value column ends at the same terminal column
    from govsim.cli import _width

    rows = [ln for ln in out.splitlines() if ln.startswith("  ") and ln.strip()]
    assert len({_width(r) for r in rows}) == 1
    # plot the run's daily series, PNG and SVG, with a previous run overlaid
    assert main(["plot", str(tmp_path / "run"), "--previous", str(tmp_path / "run")]) == 0
    plots = tmp_path / "run" / "plots"
    assert (plots / "series.png").stat().st_size > 5_000
    svg = (plots / "series.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg


@pytest.fixture
def shipped(tmp_path):
    """A copy of the shipped compare_regimes results (results.csv, no run files)."""
    src = ROOT / "results" / "compare_regimes"
    dst = tmp_path / "compare_regimes"
    dst.mkdir()
    shutil.copy(src / "manifest.json", dst)
    shutil.copy(src / "results.csv", dst)
    return dst


def test_compare_works_on_shipped_results_and_metrics_get_their_own_folder(shipped, capsys):
    assert main(["compare", str(shipped), "--quiet"]) == 0
    full = (shipped / "report" / "report.md").read_text("utf-8")
    assert "## Key findings" in full and "smallest effect of interest" in full
    assert "paired t-test" in full  # the shipped design has common random numbers
    assert (shipped / "report" / "tables.xlsx").stat().st_size > 0
    assert main(["compare", str(shipped), "--quiet", "--metrics", "mean_satisfaction"]) == 0
    assert (shipped / "report" / "report.md").read_text("utf-8") == full  # not overwritten
    sub = shipped / "report-mean_satisfaction" / "report.md"
    assert sub.is_file() and "Satisfaction (mean)" in sub.read_text("utf-8")
    capsys.readouterr()
    assert main(["compare", str(shipped), "--metrics", "no_such_metric"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("govsim: error: --metrics: unknown metric 'no_such_metric'")


def test_compare_without_results_says_how_to_regenerate(shipped, capsys):
    (shipped / "results.csv").unlink()
    assert main(["compare", str(shipped)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "regenerate with: govsim sweep experiments/compare_regimes.toml" \
        in err[0]


def test_plot_sweep_folder_by_regime(shipped):
    assert main(["plot", str(shipped), "--metrics", "cost_per_resolved_case",
                 "mean_satisfaction", "--format", "png", "svg", "--lang", "zh"]) == 0
    plots = shipped / "plots"
    for m in ("cost_per_resolved_case", "mean_satisfaction"):
        assert (plots / f"{m}_by_regime.png").stat().st_size > 5_000
        assert "<svg" in (plots / f"{m}_by_regime.svg").read_text()
    table = pd.read_excel(plots / "group_stats.xlsx")
    assert set(table["regime"]) == set(json.loads((shipped / "manifest.json").read_text())[
        "regimes"])


#: Every English sentence of the sensitivity report, none of which a Chinese one may show.
SENSITIVITY_ENGLISH = (
    "Sensitivity:", "Design `", "parameters,", "replicates", "Output per point", "bootstrap",
    "ranking", "Warning", "most influential", "can be named", "overlap", "CIs are wide",
    "shares of variance", "unreliable", "base samples", "would bring", "first-order",
    "total index", "impossible in theory", "too few samples", "estimation noise",
    "the only parameter", "no indices", "indices:",
)


def test_sensitivity_report_in_chinese(tmp_path, capsys):
    """`govsim sensitivity --lang zh`: the report, its warnings and its figures in Chinese."""
    import tomli_w

    from govsim.analysis.sensitivity import plot_indices, sobol_warnings, top_parameter
    from govsim.outcomes import label, use_language

    exp = tmp_path / "sens.toml"
    exp.write_bytes(tomli_w.dumps({
        "name": "sens_zh", "scenario": str(ROOT / "scenarios" / "hybrid.toml"),
        "regimes": ["hybrid"], "design": "sobol", "samples": 8, "replicates": 1, "steps": 10,
        "seed": 5, "metrics": ["cases_arisen", "resolution_rate"],
        "overrides": {"population.households": 100},
        "parameters": {"cases.need_rate": {"min": 0.1, "max": 3.0},
                       "cases.dispute_rate": {"min": 0.01, "max": 0.3}},
    }).encode())
    out = tmp_path / "out"
    assert main(["sensitivity", str(exp), "--out", str(out), "--backend", "serial", "--quiet",
                 "--lang", "zh"]) == 0
    printed = capsys.readouterr().out
    md = (out / "sensitivity" / "sensitivity.md").read_text("utf-8")
    assert md in printed and "指数表：" in printed
    assert md.startswith("# 敏感性分析：sens_zh") and "95% 自助法置信区间" in md
    assert "排序：" in md and f"`{label('cases.need_rate', 'zh')}`" in md  # registry labels
    assert label("resolution_rate", "zh") in md and "混合型" in md
    assert "**警告：**自助法置信区间过宽" in md and "建议基础样本量约 N = " in md  # N = 8
    for english in SENSITIVITY_ENGLISH:
        assert english not in printed, english

    # every sentence the module can write, in Chinese and in English
    block = pd.DataFrame([{"regime": "hybrid", "metric": "resolution_rate", "method": "sobol",
                           "param": p, "S1": s1, "S1_conf": c1, "ST": st, "ST_conf": c2}
                          for p, s1, c1, st, c2 in [("pilots.grid_screening", 1.2, 0.5, 1.14, 0.67),
                                                    ("cases.fester_days", 0.3, 0.4, 0.6, 0.5)]])
    with use_language("zh"):
        zh = sobol_warnings(block, 32) + [top_parameter(block, "ST")[1],
                                          top_parameter(block.iloc[:1], "ST")[1]]
        fig = plot_indices(block, "resolution_rate", "hybrid", unreliable=True)
    text = " ".join(zh)
    assert "建议基础样本量约 N = 8192（目前为 32）" in text
    assert "一阶指数高于总效应指数" in text and "总效应指数大于 1" in text
    assert "无法认定唯一影响最大的参数" in text and "是唯一的参数" in text
    assert "网格" in text  # parameter display names in Chinese
    ax = fig.axes[0]
    assert "Sobol 指数" in ax.get_xlabel() and "不可靠" in ax.get_title()
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"一阶指数（S1）",
                                                                    "总效应指数（ST）"}
    for english in SENSITIVITY_ENGLISH:
        assert english not in text + ax.get_xlabel() + ax.get_title(), english
    en = " ".join(sobol_warnings(block, 32) + [top_parameter(block, "ST")[1]])
    assert "first-order index above the total" in en and "no single most influential" in en

    # the run estimate every long command prints first
    from govsim.experiment.estimate import estimate, guard

    est = estimate(192, {"steps": 365, "population": {"households": 1412}}, backend="serial")
    with use_language("zh"):
        guard(est, False, "x.toml", "fewer samples")
    err = capsys.readouterr().err
    assert err.startswith("govsim: 预计：192 次运行，每次最多 ") and "约需内存" in err
    assert "run" not in err and "memory" not in err


def test_discover_report_in_chinese(tmp_path, capsys):
    """`govsim discover --lang zh`: terminal summary, report and figure fonts in Chinese."""
    import warnings

    import numpy as np

    from govsim.fonts import cjk_font

    pytest.importorskip("sklearn")
    rng = np.random.default_rng(1)
    rows = []
    for p in range(200):
        a, b = rng.uniform(size=2)
        for r in range(2):
            bad = rng.uniform() < (0.9 if a > 0.6 else 0.03)
            rows.append({"run_id": f"x-p{p}-r{r}", "regime": "hybrid", "point": p, "replicate": r,
                         "seed": p * 10 + r, "cases.need_rate": a, "cases.dispute_rate": b,
                         "resolution_rate": (0.3 if bad else 0.8) + rng.normal(0, 0.03)})
    res = tmp_path / "res"
    res.mkdir()
    pd.DataFrame(rows).to_csv(res / "results.csv", index=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["discover", str(res), "--outcome", "resolution_rate", "--threshold", "0.5",
                     "--below", "--inputs", "cases.need_rate", "cases.dispute_rate", "--boot",
                     "20", "--quiet", "--lang", "zh"]) == 0
    if cjk_font() is not None:  # the figures draw Chinese glyphs, not boxes
        assert not [str(w.message) for w in caught if "missing from" in str(w.message)]
    out = capsys.readouterr().out
    md = (res / "discovery-resolution_rate" / "discovery.md").read_text("utf-8")
    assert "盒 1：" in out and "覆盖率" in out and "特征得分：" in out and "\n报告：" in out
    assert md.startswith("# 情景发现") and "## PRIM 盒" in md and "状态：在样本外成立" in md
    assert "训练集与测试集按参数点划分" in md and "| 输入 | 得分 |" in md
    for english in ("coverage", "density", "holds out of sample", "Status", "Training and test",
                    "Feature scores", "Splits on", "rejected", "parameter points", "box 1"):
        assert english not in out and english not in md, english


OPT = """
name = "tiny_opt_zh"
scenario = "{scenario}"
seed = 4
steps = 15
population = 4
generations = 2
futures = 2
robustness = "satisficing"
[overrides]
"population.households" = 100
"population.people" = 250
[levers]
"pilots.contract_share" = {{min = 0.0, max = 0.5}}
[uncertain]
"cases.need_rate" = {{min = 0.25, max = 0.5}}
[objectives]
resolution_rate = "max"
fiscal_spending = "min"
[satisficing]
resolution_rate = 0.5
"""


def test_optimize_report_in_chinese(tmp_path, capsys):
    """`govsim optimize --lang zh`: the printed report and figure text in Chinese."""
    import warnings

    from govsim.fonts import cjk_font

    pytest.importorskip("pymoo")
    cfg = tmp_path / "opt.toml"
    cfg.write_text(OPT.format(scenario=(ROOT / "scenarios" / "hybrid.toml").as_posix()))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["optimize", str(cfg), "--out", str(tmp_path / "o"), "--backend", "serial",
                     "--quiet", "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# 稳健政策搜索：tiny_opt_zh") and "## 帕累托集" in out
    assert "满足全部阈值的情景占比" in out and "## 各代超体积" in out and "现状：" in out
    for english in ("Robust policy search", "generations;", "futures", "Status quo", "Pareto set",
                    "Hypervolume", "Objective signs", "| generation |", "runs ("):
        assert english not in out, english
    if cjk_font() is not None:
        assert not [str(w.message) for w in caught if "missing from" in str(w.message)]


def test_regimes_in_chinese(capsys):
    """`govsim regimes --lang zh`: regime, institution, triage and level names and the notes
    in Chinese; every institution has a Chinese name."""
    import re

    from govsim.institutions import INSTITUTIONS
    from govsim.outcomes import label

    assert all(label(n, "zh") != n for n in INSTITUTIONS), \
        [n for n in INSTITUTIONS if label(n, "zh") == n]
    assert main(["regimes", "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    assert "混合型（日本式） [hybrid]" in out and "制度：居民大会" in out
    assert "一般事项 -> 居民 > 地区中心" in out and "审批事项 -> 居委会，然后 街道办事处" in out
    assert "政府派驻社区的机构自上而下决策" in out
    # no English words outside the [internal_name] tags
    assert not re.search(r"[A-Za-z]{3,}", re.sub(r"\[\w+\]", "", out)), out
    assert main(["regimes"]) == 0
    assert "institutions: admin_hierarchy" in capsys.readouterr().out  # English unchanged
