"""The teaching app: its model and data functions, and the real page in headless Chromium.

The browser test starts ``govsim app`` on a free localhost port, drives the page with
Playwright (Debian's Chromium at /usr/bin/chromium; Playwright never downloads a browser)
and stops the server's whole process group at the end. Without Chromium it is skipped,
unless GOVSIM_REQUIRE_BROWSER=1 (CI), where it fails instead. GOVSIM_SAVE_SCREENSHOT=1 also
writes docs/app_screenshot.png.
"""

from __future__ import annotations

import inspect
import io
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest

from govsim.cli import build_parser
from govsim.regimes import REGIMES
from govsim.scenario import ScenarioError
from govsim.viz.teaching import (
    COLOUR_MODES,
    REGIME_OWN,
    TeachingModel,
    draw_network,
    key_figures,
    network_data,
)

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
REQUIRE_BROWSER = os.environ.get("GOVSIM_REQUIRE_BROWSER") == "1"
SAVE_SCREENSHOT = os.environ.get("GOVSIM_SAVE_SCREENSHOT") == "1"
SCREENSHOT_LIMIT = 300_000  # bytes, for docs/app_screenshot.png


# --------------------------------------------------------------------------- no browser

@pytest.mark.parametrize("regime", sorted(REGIMES))
def test_teaching_model_and_component_data(regime):
    model = TeachingModel(
        regime=regime, households=120, need_rate=0.8, dispute_rate=0.12, social_weight=2.5,
        admin_pushdown="0.25", intervention_intensity=0.75, grid_management=True,
        ngo_outsourcing=True, deliberation_council=regime == "hybrid", days=200, seed=7,
    )
    sc = model.scenario
    assert (sc.regime, sc.steps, sc.seed) == (regime, 200, 7)
    assert sc.population.households == 120
    assert (sc.cases.need_rate, sc.cases.dispute_rate) == (0.8, 0.12)
    assert sc.behaviour.social_weight == 2.5
    assert model.institutions.data.admin_pushdown == 0.25
    assert model.institutions.data.intervention_intensity == 0.75
    assert {"grid_management", "ngo_outsourcing"} <= set(model.institutions.pilots)
    assert ("deliberation_council" in model.institutions.pilots) == (regime == "hybrid")

    n = model.population.n
    assert model.layout.shape == (n, 2) and np.isfinite(model.layout).all()
    assert model.edge_segments.shape == (model.structure.n_edges, 2, 2)

    for _ in range(10):
        model.step()
    assert model.day == 10 and model.time == 10 and model.running

    series = model.series()
    assert len(series) == 11  # day 0 (the initial state) and ten days
    assert series["day"].tolist() == list(range(11))
    from govsim.viz.app import CHART_MEASURES  # the charts' reporters

    for measure in CHART_MEASURES:
        values = series[measure].to_numpy(dtype=float)
        # An undefined ratio (nothing arisen or resolved yet) is NaN, never infinite or 0.
        assert not np.isinf(values).any() and (values[~np.isnan(values)] >= 0).all(), measure
    assert series["participation_rate"].between(0, 1).all()
    assert np.isnan(series["resolution_rate"].iloc[0])  # day 0: no case has arisen
    assert series["resolution_rate"].iloc[1:].dropna().between(0, 1).all()
    assert series["participation_rate"].iloc[-1] > 0
    assert series["cases_arisen"].iloc[-1] > 0

    k = key_figures(model)
    assert k["day"] == 10 and k["regime"] == regime and k["residents"] == n
    assert k["regime_label"] == REGIMES[regime].label
    last = series.iloc[-1]
    for measure in ("participation_rate", "resolution_rate", "cost_per_resolved_case"):
        assert math.isclose(k[measure], last[measure], rel_tol=1e-9, abs_tol=1e-12), measure

    part = network_data(model, "participation")
    assert len(part["colours"]) == n
    assert part["n_active"] == int(part["active"].sum()) > 0
    assert math.isclose(part["n_active"] / part["n_eligible"], k["participation_rate"])
    assert not (part["active"] & part["youth"]).any()  # youth are not counted
    griev = network_data(model, "grievance")
    assert griev["values"].shape == (n,) and (griev["values"] >= 0).all()
    assert griev["grievance_threshold"] > 0
    with pytest.raises(ValueError):
        network_data(model, "colour")

    for mode in COLOUR_MODES:
        t0 = time.perf_counter()
        fig = draw_network(model, mode)
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
        assert time.perf_counter() - t0 < 3.0  # drawing must not take seconds


def test_teaching_model_defaults_and_errors():
    model = TeachingModel()
    assert model.scenario.regime == "hybrid" and model.scenario.seed == 42
    assert model.institutions.data.admin_pushdown == REGIMES["hybrid"].admin_pushdown
    assert TeachingModel(rng=5).scenario.seed == 5  # Mesa may pass rng
    assert TeachingModel(admin_pushdown=REGIME_OWN, intervention_intensity=None).institutions.data \
        == TeachingModel().institutions.data
    with pytest.raises(ScenarioError, match="regime"):
        TeachingModel(regime="anarchy")
    with pytest.raises(ScenarioError, match="admin_pushdown"):
        TeachingModel(admin_pushdown=1.5)
    with pytest.raises(ScenarioError, match="admin_pushdown"):
        TeachingModel(admin_pushdown="lots")


def test_model_params_fit_solaraviz():
    pytest.importorskip("solara")
    from mesa.visualization.solara_viz import _build_model_init_kwargs, _check_model_params

    from govsim.viz.app import COMPONENTS, MODEL_PARAMS

    model = TeachingModel()
    init = inspect.signature(TeachingModel.__init__).parameters
    assert set(MODEL_PARAMS) <= set(init)
    assert all(p.default is not inspect.Parameter.empty for n, p in init.items() if n != "self")
    _check_model_params(model, MODEL_PARAMS)  # raises on a mismatch
    assert set(MODEL_PARAMS["regime"]["values"]) == set(REGIMES)
    assert len(COMPONENTS) == 4
    # What Mesa's Reset button does with the sidebar's values.
    chosen = {k: v["value"] for k, v in MODEL_PARAMS.items()}
    chosen.update(regime="government_led", households=200, admin_pushdown="0.75", seed=3)
    kwargs = _build_model_init_kwargs(model, chosen, add_scenario_when_empty=True,
                                      require_model_accepts_scenario=True)
    rebuilt = type(model)(**kwargs)
    assert rebuilt.scenario.regime == "government_led" and rebuilt.scenario.seed == 3
    assert rebuilt.structure.n_households == 200
    assert rebuilt.institutions.data.admin_pushdown == 0.75


def test_cli_app_arguments():
    args = build_parser().parse_args(["app"])
    assert (args.port, args.host, args.func.__name__) == (8765, "127.0.0.1", "cmd_app")
    args = build_parser().parse_args(["app", "--port", "9001", "--host", "0.0.0.0"])
    assert (args.port, args.host) == (9001, "0.0.0.0")


# --------------------------------------------------------------------------- the browser

def _unavailable(reason: str):
    if REQUIRE_BROWSER:
        pytest.fail(f"GOVSIM_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop_group(proc: subprocess.Popen) -> None:
    """Stop the CLI and the Solara server it started (one process group)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # anything left in the group
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (Debian package chromium)")
    if find_spec("playwright") is None or find_spec("solara") is None:
        _unavailable("playwright or solara (the dev/viz extras) is not installed")
    from govsim.viz.assets import missing_packages, prepare_assets

    env = prepare_assets(log=lambda msg: print(msg, file=sys.stderr))
    missing = missing_packages(Path(env["SOLARA_ASSETS_PROXY_CACHE_DIR"]))
    if missing:
        _unavailable(f"Solara's browser assets are missing and could not be fetched: {missing}")
    work = tmp_path_factory.mktemp("app")
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    log = (work / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "govsim.cli", "app", "--port", str(port), "--host", "127.0.0.1",
         "--no-fetch-assets"],
        cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"govsim app exited with {proc.returncode}:\n"
                            f"{(work / 'server.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"govsim app did not answer on {url} within 60 s")
            time.sleep(0.25)
        yield url
    finally:
        _stop_group(proc)
        log.close()


def _time(page) -> float:
    text = page.get_by_text(re.compile(r"^Time: ")).inner_text()
    return float(text.split(":", 1)[1])


def _settled_time(page, timeout: float = 10.0) -> float:
    """The step counter once it has stopped moving (a step may finish after Pause)."""
    deadline = time.monotonic() + timeout
    last = _time(page)
    while True:
        time.sleep(0.5)
        now = _time(page)
        if now == last or time.monotonic() > deadline:
            return now
        last = now


def _wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def test_app_in_browser(app_url, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    t0 = time.monotonic()
    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1360, "height": 960},
        )
        try:
            page = ctx.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(app_url)

            caption = page.locator(".govsim-caption")
            expect(caption).to_contain_text("Hybrid (Japan-style)", timeout=30_000)
            expect(caption).to_contain_text("day 0")
            assert _time(page) == 0
            charts = page.locator(".govsim-card img")
            expect(charts).to_have_count(4, timeout=15_000)  # network + three charts
            network, participation = charts.nth(0), charts.nth(1)

            # Choose another regime; Mesa rebuilds the model with it on Reset.
            regime = page.locator(".v-select").filter(has=page.get_by_text("Regime", exact=True))
            regime.click()
            page.get_by_role("option", name="government_led").click()
            expect(regime).to_contain_text("government_led")
            page.get_by_role("button", name="Reset").click()
            expect(caption).to_contain_text("Government-led (Singapore-style)", timeout=15_000)
            expect(caption).to_contain_text("day 0")
            expect(caption).to_contain_text("admin push-down 1")  # the regime's own value

            before = participation.screenshot()
            step = page.get_by_role("button", name="Step")
            for i in range(1, 4):
                step.click()
                expect(page.get_by_text(f"Time: {i}.0")).to_be_visible(timeout=10_000)
            expect(caption).to_contain_text("day 3")
            _wait_until(lambda: participation.screenshot() != before, 10,
                        "the participation chart to change after three steps")

            # Play until day 12 or later, then pause.
            after_steps = participation.screenshot()
            page.get_by_role("button", name="▶").click()
            _wait_until(lambda: _time(page) >= 12, 30, "playing to reach day 12")
            page.get_by_role("button", name="❚❚").click()
            expect(page.get_by_role("button", name="Step")).to_be_enabled(timeout=10_000)
            paused_at = _settled_time(page)
            assert paused_at >= 12
            _wait_until(lambda: participation.screenshot() != after_steps, 10,
                        "the participation chart to change while playing")
            # Mesa's "Time" can lag the model by one step when Pause lands during a step
            # (the play thread's redraw races the UI thread's); a manual Step re-syncs it.
            step.click()
            _wait_until(lambda: _time(page) > paused_at, 10, "a Step after Pause")
            day = _settled_time(page)
            expect(caption).to_contain_text(f"day {int(day)} ", timeout=10_000)

            # Colour the network by grievance.
            net_before = network.screenshot()
            page.get_by_role("button", name="grievance").click()
            _wait_until(lambda: network.screenshot() != net_before, 10,
                        "the network view to recolour by grievance")
            assert not errors, errors

            shot = tmp_path / "app_screenshot.png"
            page.screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000
            elapsed = time.monotonic() - t0

            if SAVE_SCREENSHOT:  # for the README: two simulated months, by participation
                page.get_by_role("button", name="▶").click()
                _wait_until(lambda: _time(page) >= 60, 60, "playing to reach day 60")
                page.get_by_role("button", name="❚❚").click()
                expect(page.get_by_role("button", name="Step")).to_be_enabled(timeout=10_000)
                _settled_time(page)
                net_before = network.screenshot()
                page.get_by_role("button", name="participation").click()
                _wait_until(lambda: network.screenshot() != net_before, 10,
                            "the network view to recolour by participation")
                page.wait_for_timeout(500)
                page.screenshot(path=str(shot))
                _save_for_docs(shot, ROOT / "docs" / "app_screenshot.png")
        finally:
            ctx.close()
    assert elapsed < 60


def _save_for_docs(src: Path, dest: Path) -> None:
    """Copy the screenshot for the README, as a 256-colour PNG under SCREENSHOT_LIMIT."""
    from PIL import Image

    img = Image.open(src).convert("RGB")
    with tempfile.NamedTemporaryFile(suffix=".png", delete=False) as fh:
        tmp = Path(fh.name)
    img.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(tmp, optimize=True)
    if tmp.stat().st_size > SCREENSHOT_LIMIT:
        img = img.resize((img.width * 3 // 4, img.height * 3 // 4), Image.Resampling.LANCZOS)
        img.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(tmp, optimize=True)
    assert tmp.stat().st_size <= SCREENSHOT_LIMIT, tmp.stat().st_size
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(tmp, dest)
    dest.chmod(0o644)
