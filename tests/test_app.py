"""The teaching app: its model and data functions, and the real page in headless Chromium.

The browser test starts ``govsim app`` on a free localhost port, drives the page with
Playwright (Debian's Chromium at /usr/bin/chromium; Playwright never downloads a browser)
and stops the server's whole process group at the end. Without Chromium it is skipped,
unless GOVSIM_REQUIRE_BROWSER=1 (CI), where it fails instead. GOVSIM_SAVE_SCREENSHOT=1 also
writes docs/app_1024.png and docs/app_1920.png. The step time at 1,500 households is printed
(run with -s to see it), never asserted: timings depend on the machine.
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
SCREENSHOT_LIMIT = 450_000  # bytes, for docs/app_1024.png and docs/app_1920.png
DEAD_CDN = "http://127.0.0.1:9/npm/"  # the discard port: nothing answers there


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


def test_session_updates_pictures_in_place():
    """The app's session at 1,500 households: pictures are updated, not rebuilt, each day."""
    pytest.importorskip("solara")
    from govsim.viz.app import DEFAULTS, MODEL_PARAMS, Session, caption_html, chains_html

    init = inspect.signature(TeachingModel.__init__).parameters
    assert set(MODEL_PARAMS) <= set(init)
    s = Session({**DEFAULTS, "households": 1500, "days": 60})
    f0 = s.frame()
    assert f0["day"] == 0 and f0["households"] == 1500
    assert math.isnan(f0["cost_per_resolved_case"])  # n/a until something is resolved
    assert "n/a (nothing resolved yet)" in caption_html(f0, "en")
    assert f0["network"][:2] == b"\xff\xd8" and f0["charts"][:8] == b"\x89PNG\r\n\x1a\n"
    background = s.network.background
    times = []
    for day in range(1, 31):
        s.step(draw_network=day % 3 == 0)
        times.append(s.step_ms)
    f = s.frame()
    assert f["day"] == 30 and f["network"] != f0["network"] and f["charts"] != f0["charts"]
    assert s.network.background is background  # the network's background is drawn once
    assert s.charts.full_draws <= 4  # axes redrawn only when the cost scale changes
    assert np.isfinite(f["cost_per_resolved_case"]) and f["cases_resolved"] > 0
    print(f"\n[app] one day at 1,500 households ({s.model.population.n} residents), "
          f"median of 30: {np.median(times):.1f} ms (model {s.model_ms:.1f} ms)")
    # a Reset keeps this run for the dashed overlay
    nxt = Session({**DEFAULTS, "households": 1500, "days": 60}, previous=s.history())
    assert nxt.frame()["charts"] != Session({**DEFAULTS, "households": 1500,
                                             "days": 60}).frame()["charts"]
    assert "居委会" in chains_html("hybrid", "zh") and "→" in chains_html("government_led", "en")


def test_switching_a_pilot_mid_run_bends_the_curves():
    """Teaching: a pilot switched on while the simulation runs acts from that day on; the
    days before are those of the run without it."""
    pytest.importorskip("solara")
    from govsim.viz.app import DEFAULTS, Session

    params = {**DEFAULTS, "households": 300, "days": 120, "regime": "government_led"}
    a, b = Session(params), Session(params)
    for _ in range(40):
        a.step(draw=False)
        b.step(draw=False)
    assert b.switch_now("deliberation_council") is True
    assert "deliberation_council" in b.frame()["pilots"]
    for _ in range(80):
        a.step(draw=False)
        b.step(draw=False)
    ha, hb = a.history(), b.history()
    for k in ha:
        np.testing.assert_array_equal(ha[k][:41], hb[k][:41])
    assert any(not np.array_equal(ha[k][41:], hb[k][41:], equal_nan=True) for k in ha)
    council = next(i for i in b.model.installed if i.name == "deliberation_council")
    assert sum(c.meetings_held for c in council.councils.values()) > 0
    assert b.switch_now("deliberation_council") is False  # and back off
    assert "deliberation_council" not in b.frame()["pilots"]


def test_cli_app_arguments():
    args = build_parser().parse_args(["app"])
    assert (args.port, args.host, args.func.__name__) == (8765, "127.0.0.1", "cmd_app")
    args = build_parser().parse_args(["app", "--port", "9001", "--host", "0.0.0.0"])
    assert (args.port, args.host) == (9001, "0.0.0.0")


def test_app_assets_installed_offline(tmp_path, monkeypatch):
    """Solara's browser assets come from the installed solara-assets (the viz extra pins it
    to Solara's own version); nothing is downloaded, and a missing one is named with the
    command that installs it."""
    pytest.importorskip("solara")
    from importlib.metadata import version

    from govsim.viz import assets

    monkeypatch.delenv("SOLARA_ASSETS_PROXY_CACHE_DIR", raising=False)
    assert version("solara-assets") == version("solara")
    required = assets.required_packages()
    assert any(n == "@widgetti/solara-vuetify3-app" for n, _ in required)  # ipyvuetify 3: Vue 3
    here = assets.asset_dir()
    assert here.is_dir() and assets.missing_packages(here) == [], here
    assert not hasattr(assets, "fetch_packages")  # no npm, no download at start-up

    said: list[str] = []
    env = assets.prepare_assets(tmp_path, log=said.append)
    assert env["SOLARA_ASSETS_PROXY_CACHE_DIR"] == str(tmp_path) and len(said) == 1
    assert f'"solara[assets]=={version("solara")}"' in said[0] and str(tmp_path) in said[0]
    assert not list(tmp_path.iterdir())  # nothing was fetched
    said.clear()
    assets.prepare_assets(log=said.append)
    assert said == []


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
    from govsim.viz.assets import asset_dir, missing_message, missing_packages

    missing = missing_packages(asset_dir())
    if missing:
        _unavailable(missing_message(asset_dir(), missing))
    work = tmp_path_factory.mktemp("app")
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    # Offline: a file missing from the installed assets would make the server ask this
    # closed local port instead of the public CDN, and the test would see it fail.
    env = {**os.environ, "SOLARA_ASSETS_CDN": DEAD_CDN}
    log = (work / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "govsim.cli", "app", "--port", str(port), "--host", "127.0.0.1"],
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
        server_log = (work / "server.log").read_text(errors="replace")
        assert DEAD_CDN not in server_log and "Could not load URL" not in server_log, \
            server_log[-3000:]  # every asset came from the installed solara-assets
        assert "assets are not installed" not in server_log
    finally:
        _stop_group(proc)
        log.close()


def _day(page) -> int:
    text = page.locator(".govsim-day").inner_text()
    return int(re.sub(r"\D", "", text))


def _wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def _box(locator) -> dict:
    box = locator.bounding_box()
    assert box is not None, locator
    return box


def _check_layout(page, width: int) -> None:
    """Controls and pictures side by side or stacked, never on top of each other, and
    nothing wider than the window."""
    controls = _box(page.locator(".govsim-controls"))
    network = _box(page.locator(".govsim-network img"))
    charts = _box(page.locator(".govsim-charts img"))
    for box in (controls, network, charts):
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1, (width, box)
    assert network["x"] >= controls["x"] + controls["width"] - 1  # not under the controls
    assert network["width"] > 300 and charts["width"] > 300
    assert page.get_by_role("button", name="Reset").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1


def test_app_in_browser(app_url, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1024, "height": 768},
        )
        try:
            page = ctx.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            origin = app_url.rstrip("/")
            external: list[str] = []  # any request that leaves the app's own server
            ctx.on("request", lambda r: None if r.url.startswith((origin, "data:", "blob:"))
                   else external.append(r.url))
            page.goto(app_url)
            caption = page.locator(".govsim-caption")
            expect(caption).to_contain_text("Hybrid (Japan-style)", timeout=30_000)
            expect(caption).to_contain_text("day 0")
            expect(caption).to_contain_text("n/a (nothing resolved yet)")
            body = page.locator("body").inner_text()
            assert "Use Threads" not in body and "Render Interval" not in body  # no Mesa internals
            assert "self_governing" not in body  # display names, not internal names
            expect(page.get_by_text("Households: 150")).to_be_visible()  # slider values shown
            _check_layout(page, 1024)

            # another regime and 1,500 households, then Reset
            regime = page.locator(".v-select").filter(has=page.get_by_text("Regime", exact=True))
            regime.click()
            # (the Vuetify 3 of solara-assets 1.58 gives menu items no "option" role)
            page.locator(".v-overlay .v-list-item").filter(
                has_text="Government-led (Singapore-style)").click()
            expect(page.locator(".govsim-chains")).to_contain_text("committee")
            # the households slider is the first; End moves it to its maximum
            page.locator(".govsim-controls .v-slider-thumb").first.focus()
            page.keyboard.press("End")
            expect(page.get_by_text("Households: 1,500")).to_be_visible(timeout=10_000)
            page.get_by_role("button", name="Reset").click()
            expect(caption).to_contain_text("Government-led (Singapore-style)", timeout=30_000)
            expect(caption).to_contain_text("1,500 households")
            expect(caption).to_contain_text("day 0")
            expect(page.locator(".govsim-clear")).to_be_visible()  # previous run kept

            charts = page.locator(".govsim-charts img")
            network = page.locator(".govsim-network img")
            before = charts.get_attribute("src")
            step = page.get_by_role("button", name="Step")
            latency = []
            for i in range(1, 6):
                t = time.monotonic()
                step.click()
                expect(caption).to_contain_text(f"day {i} ", timeout=10_000)
                latency.append(time.monotonic() - t)
            assert charts.get_attribute("src") != before

            # play: time the days as the browser sees them, and the server's own figure
            page.get_by_role("button", name="Play").click()
            _wait_until(lambda: _day(page) >= 12, 30, "playing to reach day 12")
            d0, t0 = _day(page), time.monotonic()
            server_ms = []
            while time.monotonic() - t0 < 6 and _day(page) < 300:
                ms = page.locator(".govsim-step-ms").inner_text()
                server_ms.append(float(ms))
                time.sleep(0.1)
            d1, t1 = _day(page), time.monotonic()
            page.get_by_role("button", name="Pause").click()
            expect(page.get_by_role("button", name="Step")).to_be_enabled(timeout=10_000)
            assert d1 > d0
            print(f"\n[app] 1,500 households in the browser: Step click to new day shown, median "
                  f"{1000 * np.median(latency):.0f} ms; while playing "
                  f"{1000 * (t1 - t0) / (d1 - d0):.0f} ms per simulated day ({d1 - d0} days in "
                  f"{t1 - t0:.1f} s); server time per day with its pictures: median "
                  f"{np.median(server_ms):.0f} ms")

            # colour by grievance repaints the network; Chinese relabels everything
            net_before = network.get_attribute("src")
            page.get_by_role("button", name="grievance").click()
            _wait_until(lambda: network.get_attribute("src") != net_before, 10,
                        "the network to recolour by grievance")
            chart_en = charts.get_attribute("src")
            page.get_by_role("button", name="中文").click()
            expect(caption).to_contain_text("政府主导型（新加坡式）", timeout=10_000)
            expect(page.locator(".govsim-chains")).to_contain_text("居委会")
            _wait_until(lambda: charts.get_attribute("src") != chart_en, 10,
                        "the charts to relabel in Chinese")
            page.get_by_role("button", name="English").click()
            expect(caption).to_contain_text("Government-led", timeout=10_000)
            assert not errors, errors
            assert not external, external  # the front end came from the installed assets
            served = page.evaluate(
                "performance.getEntriesByType('resource').map(e => e.name)"
                ".filter(u => u.includes('/_solara/cdn/'))")
            assert any("solara-vuetify3-app@" in u for u in served), served  # Vue 3 front end

            shots = {}
            for width, height in ((1024, 768), (1920, 1080)):
                page.set_viewport_size({"width": width, "height": height})
                page.wait_for_timeout(400)
                _check_layout(page, width)
                shots[width] = tmp_path / f"app_{width}.png"
                page.screenshot(path=str(shots[width]))
                assert shots[width].stat().st_size > 10_000
            if SAVE_SCREENSHOT:
                for width, shot in shots.items():
                    _save_for_docs(shot, ROOT / "docs" / f"app_{width}.png")
        finally:
            ctx.close()


def _save_for_docs(src: Path, dest: Path) -> None:
    """Copy the screenshot for the README, as a 256-colour PNG under SCREENSHOT_LIMIT."""
    from PIL import Image

    img = Image.open(src).convert("RGB")
    with tempfile.NamedTemporaryFile(suffix=".png", delete=False) as fh:
        tmp = Path(fh.name)
    img.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(tmp, optimize=True)
    while tmp.stat().st_size > SCREENSHOT_LIMIT and img.width > 800:
        img = img.resize((img.width * 7 // 8, img.height * 7 // 8), Image.Resampling.LANCZOS)
        img.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(tmp, optimize=True)
    assert tmp.stat().st_size <= SCREENSHOT_LIMIT, tmp.stat().st_size
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(tmp, dest)
    dest.chmod(0o644)
