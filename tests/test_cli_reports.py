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
    assert "化解率（化解 / 产生）" in out
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
