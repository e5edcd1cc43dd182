"""Scenario discovery recovers a planted box (PRIM, CART, extra-trees scores), replicate-aware."""

import numpy as np
import pandas as pd
import pytest

from govsim.analysis.discovery import discover, write_discovery
from govsim.experiment.spec import ExperimentError


def planted(seed: int = 1, points: int = 300, replicates: int = 3) -> pd.DataFrame:
    """Outcome bad (above 0.5) when a > 0.7 and b < 0.2 (in 90% of replicates there; 2% of
    replicates elsewhere are bad too); c, d and the regime do not matter."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(points):
        a, b, c, d = rng.uniform(size=4)
        regime = ["self_governing", "hybrid"][p % 2]
        for r in range(replicates):
            inside = a > 0.7 and b < 0.2
            bad = rng.uniform() < (0.9 if inside else 0.02)
            rows.append({"run_id": f"x-p{p}-r{r}", "regime": regime, "point": p, "replicate": r,
                         "seed": p * 10 + r, "a": a, "b": b, "c": c, "d": d,
                         "y": (0.8 if bad else 0.2) + rng.normal(0, 0.05)})
    return pd.DataFrame(rows)


def test_prim_cart_and_scores_find_the_planted_box(tmp_path):
    df = planted()
    d = discover(df, "y", 0.5, inputs=["a", "b", "c", "d", "regime"], seed=3, n_boot=100)
    assert d.boxes, d.summary()
    box = d.boxes[0]
    assert set(box.restrictions) >= {"a", "b"}
    a, b = box.restrictions["a"], box.restrictions["b"]
    assert a.low == pytest.approx(0.7, abs=0.06) and (a.high is None or a.high > 0.95)
    assert b.high == pytest.approx(0.2, abs=0.06) and (b.low is None or b.low < 0.05)
    # the other inputs, if restricted at all, keep most of their range
    for name in ("c", "d"):
        r = box.restrictions.get(name)
        assert r is None or (r.high if r.high is not None else 1) - (r.low or 0) > 0.7
    assert box.test["density"] > 0.7 and box.test["coverage"] > 0.4  # out of sample
    assert box.test["density_lo"] <= box.test["density"] <= box.test["density_hi"]
    assert set(d.cart_splits[:2]) == {"a", "b"}
    assert list(d.feature_scores.index[:2]) in (["a", "b"], ["b", "a"])
    paths = write_discovery(d, tmp_path / "disc")
    text = paths["md"].read_text()
    assert "holds out of sample" in text and (tmp_path / "disc" / "prim_trajectory_1.png").is_file()


def test_no_box_is_reported_when_nothing_explains_the_outcome():
    df = planted()
    rng = np.random.default_rng(9)
    df["y"] = rng.uniform(size=len(df))  # pure noise: any box is a fluke of the training points
    d = discover(df, "y", 0.7, inputs=["a", "b", "c", "d"], seed=3, n_boot=100)
    assert not d.boxes
    assert d.rejected


def test_replicates_of_a_point_stay_on_one_side():
    df = planted(points=40)
    d = discover(df, "y", 0.5, inputs=["a", "b"], seed=0, n_boot=20)
    assert d.n_points == 40 and d.n_runs == len(df)


@pytest.mark.parametrize("kw, msg", [
    ({"outcome": "nope", "threshold": 0.5}, "not in the results table"),
    ({"outcome": "y", "threshold": 5.0}, "none of the"),
    ({"outcome": "y", "threshold": float("nan")}, "finite"),
])
def test_bad_requests_are_one_line_errors(kw, msg):
    with pytest.raises(ExperimentError, match=msg) as err:
        discover(planted(points=20), inputs=["a", "b"], **kw)
    assert "\n" not in str(err.value)


def test_cli_discover_writes_a_report_and_rejects_bad_input(tmp_path, capsys):
    from govsim.cli import main

    res = tmp_path / "res"
    res.mkdir()
    planted().to_csv(res / "results.csv", index=False)
    assert main(["discover", str(res), "--outcome", "y", "--threshold", "0.5", "--inputs", "a", "b", "c",
                 "--boot", "20", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "box 1:" in out and (res / "discovery-y" / "discovery.md").is_file()
    assert main(["discover", str(res), "--outcome", "nope", "--threshold", "0.5", "--inputs", "a",
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("govsim: error: --outcome nope") and err.count("\n") == 1
    assert main(["discover", str(tmp_path / "missing"), "--outcome", "y", "--threshold", "1"]) == 2
