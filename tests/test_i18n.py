"""The outcome registry, Chinese labels and Chinese figures (no tofu boxes)."""

import io
import os
import warnings

import numpy as np
import pandas as pd
import pytest

from govsim.analysis import group_stats, metric_by_regime, write_report
from govsim.fonts import SAMPLE, cjk_font, covers
from govsim.metrics import REPORTERS, SUMMARY_METRICS
from govsim.outcomes import (
    OUTCOMES,
    Outcome,
    label,
    register,
    set_language,
    smallest_effect,
    use_language,
)

REQUIRE_FONT = os.environ.get("GOVSIM_REQUIRE_CJK_FONT") == "1"


def test_registry_covers_the_model_outputs():
    names = set(SUMMARY_METRICS) | (set(REPORTERS) - {"day"})
    missing = sorted(n for n in names if n not in OUTCOMES)
    assert not missing, missing
    for name in names:
        o = OUTCOMES[name]
        assert o.en and o.zh and o.zh != o.en
        assert any("\u4e00" <= ch <= "\u9fff" for ch in o.zh), name
        assert o.direction in ("higher", "lower", "neutral")
    assert smallest_effect("mean_participation_rate", 0.3) == pytest.approx(0.01)
    assert smallest_effect("mean_satisfaction", 0.5) == pytest.approx(0.02)
    assert smallest_effect("cost_per_resolved_case", 800.0) == pytest.approx(40.0)


def test_labels_fall_back_and_switch_language():
    assert label("a_new_outcome") == "a_new_outcome"
    assert label("a_new_outcome", "zh") == "a_new_outcome"
    assert np.isnan(smallest_effect("a_new_outcome", 1.0))
    assert label("hybrid", "zh") == "混合型（日本式）"
    assert label("government_led", "zh").startswith("政府主导型")
    assert label("self_governing", "zh").startswith("自治型")
    assert label("pilots.grid_management", "zh") == "网格化管理试点"
    assert label("pilots.participatory_budget", "zh") == "参与式预算试点"
    assert label("committee", "zh") == "居委会" and label("street", "zh") == "街道办事处"
    with use_language("zh"):
        assert label("resolution_rate") == "化解率（化解 / 产生）"
    assert label("resolution_rate") == "Resolution rate (resolved / arisen)"
    with pytest.raises(ValueError):
        set_language("fr")
    # another engineer adds an outcome with one entry
    register(Outcome("test_only_response_days", "Emergency response time", "应急响应时间",
                     "days", "lower", 0.5))
    try:
        assert label("test_only_response_days", "zh") == "应急响应时间"
    finally:
        OUTCOMES.pop("test_only_response_days")


def _runs():
    rng = np.random.default_rng(0)
    rows = []
    for regime, mu in (("self_governing", 0.32), ("hybrid", 0.25), ("government_led", 0.15)):
        for rep in range(6):
            rows.append({"regime": regime, "point": 0, "replicate": rep, "seed": rep,
                         "mean_participation_rate": rng.normal(mu, 0.01),
                         "cost_per_resolved_case": rng.normal(900 / mu, 30)})
    return pd.DataFrame(rows)


def _text_image(fig_text: str, family) -> np.ndarray:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 0.6), dpi=80)
    fig.text(0.02, 0.3, fig_text, fontsize=14, family=family)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig.savefig(buf, format="rgba")
    return np.frombuffer(buf.getvalue(), dtype=np.uint8)


def test_chinese_report_figure_draws_cjk_glyphs(tmp_path):
    found = cjk_font()
    if found is None:
        if REQUIRE_FONT:
            pytest.fail("GOVSIM_REQUIRE_CJK_FONT=1 but no CJK font is installed "
                        "(apt-get install fonts-wqy-microhei)")
        pytest.skip("no CJK font installed (apt-get install fonts-wqy-microhei)")
    family, path = found
    assert covers(path, SAMPLE)
    stats = group_stats(_runs(), ["mean_participation_rate"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = metric_by_regime(stats, "mean_participation_rate", lang="zh",
                               path=tmp_path / "zh.png")
        fig.savefig(io.BytesIO(), format="png")
    missing = [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert not missing, missing  # matplotlib warns for every glyph it cannot draw
    ax = fig.axes[0]
    title = ax.get_title()
    assert "居民参与率" in title
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert any("混合型" in t for t in ticks) and any("政府主导型" in t for t in ticks)
    # the font matplotlib really uses for the title covers every character in it
    from matplotlib import font_manager

    used = font_manager.findfont(ax.title.get_fontproperties(), fallback_to_default=False)
    assert covers(used, "".join(ch for ch in title if ord(ch) > 0x2E80))
    # and the drawn glyphs are not tofu: with the CJK font the text renders differently
    # from DejaVu Sans (which has no CJK glyphs, so draws the same box for each)
    word = "居委会"
    tofu = _text_image(word, "DejaVu Sans")
    real = _text_image(word, family)
    assert (tofu != real).sum() > 100
    different = [_text_image(w, family) for w in ("网格", "协商")]
    assert (different[0] != different[1]).sum() > 100  # distinct glyphs, not one box shape
    assert (tmp_path / "zh.png").stat().st_size > 5_000


def test_chinese_report_text(tmp_path):
    paths = write_report(_runs(), tmp_path, ["mean_participation_rate", "cost_per_resolved_case"],
                         lang="zh", figures=False)
    text = paths["report"].read_text("utf-8")
    assert "## 主要发现" in text and "自治型（美国式）" in text and "配对 t 检验" in text
    assert "有实际意义" in text
    assert label("resolution_rate") == "Resolution rate (resolved / arisen)"  # reset after
