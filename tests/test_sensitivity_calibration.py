"""Sensitivity (SALib) and calibration (scipy.optimize) end to end on tiny set-ups."""

import numpy as np
import pandas as pd
import pytest
import tomli_w

from govsim.analysis.calibration import Objective, calibrate, load_calibration, write_calibration
from govsim.analysis.sensitivity import indices, sobol_warnings, top_parameter, write_sensitivity
from govsim.experiment import ExperimentError, load_experiment, run_experiment
from govsim.experiment.design import points
from govsim.experiment.executors import SerialExecutor
from govsim.outcomes import label
from govsim.scenario import load_scenario

from conftest import SCENARIOS


def _write(tmp_path, name, data):
    p = tmp_path / f"{name}.toml"
    p.write_bytes(tomli_w.dumps(data).encode())
    return p


def test_sobol_indices_find_the_parameter_that_matters(tmp_path):
    """need_rate drives cases_arisen; the committee's council size (council off) cannot."""
    exp = load_experiment(_write(tmp_path, "sens", {
        "name": "sens", "scenario": str(SCENARIOS / "hybrid.toml"), "regimes": ["hybrid"],
        "design": "sobol", "samples": 32, "replicates": 1, "steps": 30, "seed": 3,
        "metrics": ["cases_arisen"], "overrides": {"population.households": 200},
        "parameters": {"cases.need_rate": {"min": 0.1, "max": 3.0},
                       "committees.council_members": {"min": 5.0, "max": 40.0, "integer": True}},
    }))
    df = run_experiment(exp, tmp_path / "out", backend="serial", progress=False)
    assert len(df) == 32 * (2 + 2)
    t = indices(exp, df, ["cases_arisen"]).set_index("param")
    assert t.loc["cases.need_rate", "ST"] > 0.7
    assert t.loc["committees.council_members", "ST"] < 0.15
    assert t.loc["cases.need_rate", "ST"] > t.loc["committees.council_members", "ST"] + 0.5
    paths = write_sensitivity(exp, df, tmp_path / "sens_out", ["cases_arisen"])
    assert paths["csv"].exists() and paths["md"].exists()
    assert label("cases.need_rate") in paths["md"].read_text().split("most influential is")[1][:40]


def _sobol_block(rows):
    return pd.DataFrame([{"regime": "hybrid", "metric": "resolution_rate", "method": "sobol",
                          "param": p, "S1": s1, "S1_conf": c1, "ST": st, "ST_conf": c2}
                         for p, s1, c1, st, c2 in rows])


def test_sobol_honesty_warnings_and_no_false_winner():
    # the case: N = 32, total index 1.14 +/- 0.67, first order above total
    t = _sobol_block([("pilots.grid_screening", 0.9, 0.5, 1.14, 0.67),
                      ("cases.fester_days", 0.3, 0.4, 0.6, 0.5)])
    warns = sobol_warnings(t, n_base=32)
    text = " ".join(warns)
    assert "wide" in text and "N = 8192" in text  # 32 * (0.67 / 0.05)^2 = 5746 -> 2^13
    assert "total index above 1" in text
    t2 = _sobol_block([("a", 0.5, 0.05, 0.4, 0.05), ("b", 0.1, 0.02, 0.2, 0.03)])
    assert any("first-order index above the total" in w for w in sobol_warnings(t2, 1024))
    name, sentence = top_parameter(t, "ST")
    assert name is None and "no single most influential" in sentence and "overlap" in sentence
    clear = _sobol_block([("a", 0.6, 0.03, 0.7, 0.04), ("b", 0.1, 0.02, 0.15, 0.03)])
    assert top_parameter(clear, "ST")[0] == "a" and not sobol_warnings(clear, 1024)


def test_morris_design_runs_and_ranks(tmp_path):
    exp = load_experiment(_write(tmp_path, "mor", {
        "name": "mor", "scenario": str(SCENARIOS / "hybrid.toml"), "regimes": ["hybrid"],
        "design": "morris", "samples": 4, "replicates": 1, "steps": 15, "seed": 4,
        "metrics": ["cases_arisen"], "overrides": {"population.households": 150},
        "parameters": {"cases.need_rate": {"min": 0.1, "max": 3.0},
                       "committees.council_members": {"min": 5.0, "max": 40.0}},  # int field: rounded
    }))
    assert len(points(exp)) == 4 * 3
    assert all(isinstance(p["committees.council_members"], int) for p in points(exp))
    df = run_experiment(exp, tmp_path / "out", backend="serial", progress=False)
    t = indices(exp, df, ["cases_arisen"]).set_index("param")
    assert t.loc["cases.need_rate", "mu_star"] > 5 * t.loc["committees.council_members", "mu_star"]


def _calibration_file(tmp_path, **extra):
    data = {
        "name": "cal", "scenario": str(SCENARIOS / "hybrid.toml"), "replicates": 2,
        "validation_replicates": 3, "steps": 40, "seed": 5, "max_evaluations": 14,
        "overrides": {"population.households": 200},
        "parameters": {"cases.need_rate": {"min": 0.05, "max": 3.0}},
        "targets": {"cases_arisen": 40.0},
    }
    data.update(extra)
    return _write(tmp_path, "cal", data)


def test_calibration_recovers_a_rate_from_its_output(tmp_path):
    """Target a case count that a known need_rate produces; calibration must find that rate."""
    cal = load_calibration(_calibration_file(tmp_path))
    # What does need_rate = 1.0 give, on the calibration's own seeds?
    from govsim.experiment.design import run_seed

    obj = Objective(cal, SerialExecutor(), [run_seed(5, 0, r) for r in range(2)])
    truth = obj.means({"cases.need_rate": 1.0}, obj.seeds)["cases_arisen"].mean()
    cal = load_calibration(_calibration_file(tmp_path, targets={"cases_arisen": float(truth)}))
    res = calibrate(cal, backend="serial", progress=False)
    assert abs(res.params["cases.need_rate"] - 1.0) < 0.25
    assert res.loss < 0.01
    assert res.evaluations <= 14 + 1
    paths = write_calibration(cal, res, tmp_path / "cal_out", tmp_path / "calibrated.toml")
    sc = load_scenario(paths["scenario"])  # the calibrated scenario is a valid scenario
    assert sc.cases.need_rate == pytest.approx(res.params["cases.need_rate"])
    text = paths["report"].read_text()
    assert "cases.need_rate" in text and "field figure" in text
    from govsim.outcomes import use_language

    with use_language("zh"):  # govsim calibrate --lang zh
        zh = write_calibration(cal, res, tmp_path / "cal_zh")["report"].read_text("utf-8")
    assert zh.startswith("# 校准：cal") and "## 拟合参数" in zh and "| 目标 | 调研数据 |" in zh
    for english in ("Calibration:", "Scenario `", "evaluations", "Best objective", "Fitted",
                    "fresh replicates", "field figure", "relative error", "Calibrated scenario"):
        assert english not in zh, english
    trace = pd.read_csv(paths["trace"])
    assert len(trace) == res.evaluations
    assert np.isclose(trace["loss"].min(), res.loss)


@pytest.mark.parametrize("change, needle", [
    ({"targets": {"happiness": 1.0}}, "targets: unknown metric 'happiness'"),
    ({"targets": {}}, "targets: empty"),
    ({"parameters": {"population.colour": {"min": 0.0, "max": 1.0}}}, "population.colour"),
    ({"parameters": {"cases.lapse_rate": {"min": 0.0, "max": 2.0}}}, "cases.lapse_rate = 2.0"),
    ({"method": "guess"}, "method = 'guess' is invalid"),
])
def test_bad_calibration_files(tmp_path, change, needle):
    with pytest.raises(ExperimentError) as exc:
        load_calibration(_calibration_file(tmp_path, **change))
    assert "\n" not in str(exc.value) and needle in str(exc.value)
