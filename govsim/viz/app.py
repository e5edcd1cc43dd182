"""The interactive teaching app: one community, its social network and live charts.

Start it with ``govsim app`` (or ``solara run govsim.viz.app:page``) and open the printed
URL. Pick a language, a regime and parameters on the left (each slider shows its value),
press **Reset** to rebuild the community with them, then **Step** or **Play**. After a
Reset the run before it stays on the charts as a dashed line, for before/after comparison.

The page is plain Solara (no Mesa SolaraViz: its "Use Threads / Render Interval" controls
and its draggable grid are not needed here). Each simulated day updates two pictures in
place (:mod:`govsim.viz.render`): the network's dots are repainted on a cached background and
the charts' lines are blitted on fixed axes, so a day at 1,500 households takes a few tens of
milliseconds; the page shows the time of the last day.

In a notebook: ``from govsim.viz.app import make_viz; make_viz()``.
"""

from __future__ import annotations

import math
import threading
import time
from html import escape
from typing import Any

import numpy as np
import solara

from govsim.outcomes import REGIME_NOTES, label
from govsim.regimes import REGIMES, compile_institutions
from govsim.viz.render import CHART_SERIES, ChartsPicture, NetworkPicture, today
from govsim.viz.teaching import COLOUR_MODES, LEVEL_CHOICES, REGIME_OWN, TeachingModel

__all__ = [
    "CHART_MEASURES", "DEFAULTS", "MODEL_PARAMS", "Session", "TeachingApp", "TeachingModel",
    "make_viz", "page",
]

TITLE = "govsim: community governance"
FRAME_BUDGET_S = 0.04  # while playing: simulate up to this long per picture shown
SPEEDS = {"max": None, "30": 30, "10": 10, "3": 3}  # simulated days per second

# The app's parameters: TeachingModel keyword -> widget description.
MODEL_PARAMS: dict[str, dict[str, Any]] = {
    "regime": {"type": "Select", "value": "hybrid", "values": list(REGIMES)},
    "households": {"type": "SliderInt", "value": 150, "min": 30, "max": 1500, "step": 10},
    "need_rate": {"type": "SliderFloat", "value": 0.35, "min": 0.0, "max": 2.0, "step": 0.05},
    "dispute_rate": {"type": "SliderFloat", "value": 0.04, "min": 0.0, "max": 0.5, "step": 0.01},
    "social_weight": {"type": "SliderFloat", "value": 1.5, "min": 0.0, "max": 5.0, "step": 0.1},
    "admin_pushdown": {"type": "Select", "value": REGIME_OWN, "values": LEVEL_CHOICES},
    "intervention_intensity": {"type": "Select", "value": REGIME_OWN, "values": LEVEL_CHOICES},
    "grid_management": {"type": "Checkbox", "value": False},
    "ngo_outsourcing": {"type": "Checkbox", "value": False},
    "deliberation_council": {"type": "Checkbox", "value": False},
    "participatory_budget": {"type": "Checkbox", "value": False},
    "days": {"type": "SliderInt", "value": 365, "min": 30, "max": 1095, "step": 5},
    "seed": {"type": "SliderInt", "value": 42, "min": 0, "max": 99, "step": 1},
}
DEFAULTS = {k: v["value"] for k, v in MODEL_PARAMS.items()}
PILOT_KEYS = ("grid_management", "ngo_outsourcing", "deliberation_council", "participatory_budget")
CHART_MEASURES = [key for key, _ in CHART_SERIES]

_TEXT = {  # key -> (English, Chinese)
    "language": ("Language", "语言"),
    "regime": ("Regime", "治理模式"),
    "chains": ("Escalation chains (who handles a case, then where it goes)",
               "上报链条（谁先处理，再转到哪里）"),
    "params": ("Parameters (press Reset to apply)", "参数（按“重置”生效）"),
    "pilots": ("Pilots", "试点"),
    "switch_now": ("Switch a pilot now (from today, while it runs)", "立即切换试点（从今天起，运行中）"),
    "turn_on": ("on now", "立即开启"), "turn_off": ("off now", "立即关闭"),
    "reset": ("Reset", "重置"), "step": ("Step", "单步"), "play": ("Play", "播放"),
    "pause": ("Pause", "暂停"), "clear": ("Clear previous run", "清除上一次运行"),
    "colour_by": ("Colour residents by", "居民着色依据"),
    "participation": ("participation", "参与"), "grievance": ("grievance", "不满"),
    "day": ("Day", "第"), "day_suffix": ("", "天"),
    "active": ("active in last 30 days", "近30天有参与"), "inactive": ("not active", "未参与"),
    "youth": ("under 18 (not counted)", "未满18岁（不计入）"),
    "calm": ("calm", "平静"), "angry": ("grievance (red: near the incident threshold)",
                                        "不满（红色：接近群体性事件阈值）"),
    "na": ("n/a (nothing resolved yet)", "无（尚无化解事项）"),
    "timing": ("one day takes", "每天用时"),
    "previous": ("dashed: the run before the last Reset", "虚线：上次重置前的运行"),
    "own": ("regime's own", "该模式默认"),
    "speed": ("Days per second", "每秒模拟天数"),
}
_PARAM_TEXT = {
    "households": ("Households", "户数"),
    "need_rate": ("Needs / household / year", "每户每年需求"),
    "dispute_rate": ("Disputes / household / year", "每户每年纠纷"),
    "social_weight": ("Social influence", "社会影响强度"),
    "admin_pushdown": ("Admin push-down to committee", "行政事务下沉到居委会"),
    "intervention_intensity": ("Government intervention", "政府干预强度"),
    "grid_management": ("Grid management", "网格化管理"),
    "ngo_outsourcing": ("NGO outsourcing", "政府购买社会组织服务"),
    "deliberation_council": ("Deliberation council", "社区协商议事会"),
    "participatory_budget": ("Participatory budgeting", "参与式预算"),
    "days": ("Days to simulate", "模拟天数"),
    "seed": ("Random seed", "随机种子"),
}

CSS = """
.govsim-app { display: flex; gap: 16px; align-items: flex-start; font-size: 15px;
              line-height: 1.4; padding: 4px; }
.govsim-controls { flex: 0 0 280px; max-width: 280px; min-width: 0; }
.govsim-main { flex: 1 1 auto; min-width: 0; }
.govsim-panels { display: grid; gap: 12px;
                 grid-template-columns: repeat(auto-fit, minmax(440px, 1fr)); }
.govsim-card { background: #fff; border: 1px solid #e3e6ea; border-radius: 6px; padding: 8px; }
.govsim-card img { width: 100%; height: auto; display: block; }
.govsim-caption { font-size: 15px; margin-bottom: 8px; }
.govsim-day { font-size: 22px; font-weight: 600; }
.govsim-legend { font-size: 14px; margin-top: 6px; }
.govsim-legend span.dot { display: inline-block; width: 12px; height: 12px; border-radius: 50%;
                          margin: 0 4px 0 10px; vertical-align: -1px;
                          border: 1px solid #6b7480; }
.govsim-note { font-size: 13px; color: #555; }
.govsim-chains { font-size: 13px; margin: 2px 0 8px 0; }
.govsim-chains td { padding: 0 6px 0 0; vertical-align: top; }
.govsim-slider-label { display: block; margin: 6px 0 -10px 4px; font-size: 15px; }
@media (max-width: 760px) {
  .govsim-app { flex-direction: column; }
  .govsim-controls { max-width: none; flex: none; width: 100%; }
  .govsim-panels { grid-template-columns: 1fr; }
}
"""


def _t(key: str, lang: str) -> str:
    en, zh = _TEXT[key]
    return zh if lang == "zh" else en


def _p(key: str, lang: str) -> str:
    en, zh = _PARAM_TEXT[key]
    return zh if lang == "zh" else en


class Session:
    """One visitor's simulation: the model, its pictures, the charts' series and timings."""

    def __init__(self, params: dict[str, Any], lang: str = "en",
                 previous: dict[str, np.ndarray] | None = None, colour_by: str = "participation"):
        self.params = dict(params)
        self.lang = lang
        self.colour_by = colour_by
        self.previous = previous
        self.lock = threading.Lock()
        self.model = TeachingModel(**self.params)
        self.network = NetworkPicture(self.model)
        self.charts = ChartsPicture(self.params["days"], previous, lang)
        first = today(self.model)
        self.series = {k: [v] for k, v in first.items()}
        self.step_ms = math.nan
        self.model_ms = math.nan
        self.days_per_frame = 1
        self._net_png = self._paint_network()
        self._charts_png = self.charts.render(self._arrays())

    @property
    def done(self) -> bool:
        return self.model.day >= int(self.params["days"])

    def _arrays(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(v, dtype=float) for k, v in self.series.items()}

    def _paint_network(self) -> bytes:
        colours, order, self.counts = NetworkPicture.colours(self.model, self.colour_by)
        return self.network.render(colours, order)

    def recolour(self, colour_by: str) -> None:
        with self.lock:
            self.colour_by = colour_by
            self._net_png = self._paint_network()

    def relabel(self, lang: str) -> None:
        with self.lock:
            self.lang = lang
            self.charts = ChartsPicture(self.params["days"], self.previous, lang)
            self._charts_png = self.charts.render(self._arrays())

    def step(self, draw_network: bool = True, draw: bool = True) -> None:
        """One simulated day, then the pictures (the network only if ``draw_network``; none
        if not ``draw``: while playing, several days can share one picture)."""
        with self.lock:
            t0 = time.perf_counter()
            self.model.step()
            t1 = time.perf_counter()
            for k, v in today(self.model).items():
                self.series[k].append(v)
            if draw:
                self._draw(draw_network)
            t2 = time.perf_counter()
            self.model_ms = 1000 * (t1 - t0)
            self.step_ms = 1000 * (t2 - t0)
            self.days_per_frame = 1

    def _draw(self, network: bool = True) -> None:
        if network:
            self._net_png = self._paint_network()
        self._charts_png = self.charts.render(self._arrays())

    def advance(self, budget_s: float = 0.04) -> int:
        """Simulate days for up to ``budget_s`` seconds (at least one, at most to the end),
        then draw the pictures once; returns the number of days. The page thus shows every
        day's values on the charts while its frame rate stays what the browser can take."""
        t0 = time.perf_counter()
        n = 0
        while True:
            self.step(draw=False)
            n += 1
            if self.done or time.perf_counter() - t0 >= budget_s:
                break
        with self.lock:
            t1 = time.perf_counter()
            self._draw(network=True)
            t2 = time.perf_counter()
            self.step_ms = 1000 * ((t1 - t0) / n + (t2 - t1))  # per day, as if drawn daily
            self.days_per_frame = n
        return n

    def frame(self) -> dict[str, Any]:
        """What the page shows now (a new dict each time, so Solara re-renders)."""
        with self.lock:
            m = self.model
            last = {k: v[-1] for k, v in self.series.items()}
            c = m.cases.counts
            return {
                "day": int(m.day), "network": self._net_png, "charts": self._charts_png,
                "counts": dict(self.counts), "residents": int(m.population.n),
                "households": int(m.structure.n_households), "ties": int(m.structure.n_edges),
                "participation_rate": last["participation_rate"],
                "resolution_rate": last["resolution_rate"],
                "cost_per_resolved_case": last["cost_per_resolved_case"],
                "cases_arisen": int(c["arisen"]), "cases_resolved": int(c["resolved"]),
                "step_ms": self.step_ms, "model_ms": self.model_ms,
                "days_per_frame": self.days_per_frame,
                "regime": m.scenario.regime, "pilots": list(m.institutions.pilots),
                "admin_pushdown": float(m.institutions.data.admin_pushdown),
                "intervention_intensity": float(m.institutions.data.intervention_intensity),
            }

    def switch_now(self, pilot: str) -> bool:
        """Switch a pilot on (or back off) in the running simulation, from today: a timeline
        event in the classroom (cases already open finish on their old route). Returns
        whether it is now on."""
        with self.lock:
            m = self.model
            mask = m.switch_on.get(pilot)
            on = not (mask is not None and bool(mask.any()))
            m.switch_institution(pilot, np.ones(m.structure.n_communities, dtype=bool), on)
            m.reroute()
            return on

    def history(self) -> dict[str, np.ndarray]:
        """This run's series, to show dashed after the next Reset."""
        with self.lock:
            return self._arrays()


def _pct(v: float) -> str:
    return "n/a" if not np.isfinite(v) else f"{v:.1%}"


def caption_html(f: dict[str, Any], lang: str) -> str:
    """Today's figures as small HTML (solara.Markdown would pull mermaid from a CDN)."""
    zh = lang == "zh"
    regime = label(f["regime"], lang)
    pilots = "".join(f" + {escape(label(p, lang))}" for p in f["pilots"])
    cost = f["cost_per_resolved_case"]
    cost_s = (_t("na", lang) if not np.isfinite(cost)
              else (f"{cost:,.0f} 元" if zh else f"{cost:,.0f} yuan"))
    day = f"第 {f['day']} 天" if zh else f"day {f['day']}"
    if zh:
        lines = [
            f"<span class='govsim-day'>{day}</span> · <b>{escape(regime)}</b>{pilots}",
            f"{f['residents']:,} 名居民，{f['households']:,} 户，{f['ties']:,} 条社会关系",
            f"参与率 <b>{_pct(f['participation_rate'])}</b> · 已化解 {f['cases_arisen']:,} 件中的 "
            f"<b>{_pct(f['resolution_rate'])}</b> · 每化解一件的财政成本 <b>{cost_s}</b>",
        ]
    else:
        lines = [
            f"<span class='govsim-day'>{day}</span> · <b>{escape(regime)}</b>{pilots}",
            f"{f['residents']:,} residents in {f['households']:,} households, "
            f"{f['ties']:,} ties",
            f"participation <b>{_pct(f['participation_rate'])}</b> · resolved "
            f"<b>{_pct(f['resolution_rate'])}</b> of {f['cases_arisen']:,} cases · fiscal cost "
            f"per resolved case <b>{cost_s}</b>",
        ]
    lines.append(f"<span class='govsim-note'>admin push-down {f['admin_pushdown']:g} · "
                 f"intervention {f['intervention_intensity']:g}</span>" if not zh else
                 f"<span class='govsim-note'>行政下沉 {f['admin_pushdown']:g} · "
                 f"政府干预 {f['intervention_intensity']:g}</span>")
    return "<br>".join(lines)


def legend_html(f: dict[str, Any], colour_by: str, lang: str) -> str:
    from govsim.viz.render import ACTIVE, INACTIVE, YOUTH

    c = f["counts"]
    if colour_by == "participation":
        items = [(ACTIVE, f"{_t('active', lang)} ({c['n_active']:,})"),
                 (INACTIVE, f"{_t('inactive', lang)} ({c['n_eligible'] - c['n_active']:,})"),
                 (YOUTH, f"{_t('youth', lang)} ({c['n_youth']:,})")]
    else:
        items = [(INACTIVE, _t("calm", lang)),
                 ("#fd8d3c", f"{_t('angry', lang)} ({c.get('n_aggrieved', 0):,})")]
    return "".join(f"<span class='dot' style='background:{col}'></span>{escape(text)}"
                   for col, text in items)


def chains_html(regime: str, lang: str) -> str:
    chains = compile_institutions(regime, None, {}).data.chains
    rows = "".join(
        f"<tr><td><b>{escape(label(cls, lang))}</b></td><td>"
        + " → ".join(escape(label(lv, lang)) for lv in chain) + "</td></tr>"
        for cls, chain in chains.items())
    return f"<table>{rows}</table>"


def _timing(f: dict[str, Any], lang: str) -> str:
    if not np.isfinite(f["step_ms"]):
        return ""
    k = f.get("days_per_frame", 1)
    if lang == "zh":
        per = f"；每幅画面 <span class='govsim-days-per-frame'>{k}</span> 天" if k > 1 else ""
        return (f"每天用时 <span class='govsim-step-ms'>{f['step_ms']:.0f}</span> 毫秒"
                f"（模型 {f['model_ms']:.0f} 毫秒）{per}")
    per = (f"; <span class='govsim-days-per-frame'>{k}</span> days per picture" if k > 1
           else "")
    return (f"{_t('timing', lang)} <span class='govsim-step-ms'>{f['step_ms']:.0f}</span> ms "
            f"(model {f['model_ms']:.0f} ms){per}")


@solara.component
def Controls(params: solara.Reactive, lang: str):
    p = params.value

    def set_(key):
        return lambda v: params.set({**params.value, key: v})

    names = {label(r, lang): r for r in REGIMES}
    solara.Select(label=_t("regime", lang), values=list(names), value=label(p["regime"], lang),
                  on_value=lambda v: params.set({**params.value, "regime": names[v]}))
    en, zh = REGIME_NOTES.get(p["regime"], ("", ""))
    solara.HTML(tag="div", unsafe_innerHTML=escape(zh if lang == "zh" else en),
                classes=["govsim-note"])
    solara.HTML(tag="div", unsafe_innerHTML=f"<i>{escape(_t('chains', lang))}</i>"
                + chains_html(p["regime"], lang), classes=["govsim-chains"])
    solara.Text(_t("params", lang), style={"font-weight": "600"})
    for key in ("households", "days", "seed", "need_rate", "dispute_rate", "social_weight"):
        spec = MODEL_PARAMS[key]
        value = f"{p[key]:,}" if spec["type"] == "SliderInt" else f"{p[key]:g}"
        # the value in the label, above a full-width slider (always visible, also on a projector)
        solara.Text(f"{_p(key, lang)}: {value}", classes=["govsim-slider-label"])
        slider = solara.SliderInt if spec["type"] == "SliderInt" else solara.SliderFloat
        slider("", value=p[key], min=spec["min"], max=spec["max"], step=spec["step"],
               on_value=set_(key))
    own = _t("own", lang)
    for key in ("admin_pushdown", "intervention_intensity"):
        shown = [own if v == REGIME_OWN else v for v in LEVEL_CHOICES]
        solara.Select(label=_p(key, lang), values=shown,
                      value=own if p[key] == REGIME_OWN else p[key],
                      on_value=lambda v, key=key: params.set(
                          {**params.value, key: REGIME_OWN if v == own else v}))
    solara.Text(_t("pilots", lang), style={"font-weight": "600"})
    for key in PILOT_KEYS:
        solara.Checkbox(label=_p(key, lang), value=p[key], on_value=set_(key))


@solara.component
def SwitchNow(frame: solara.Reactive, lang: str, switch):
    """Buttons that switch a pilot on or off mid-run (the curves bend from that day)."""
    on = set(frame.value["pilots"])
    solara.Text(_t("switch_now", lang), style={"font-weight": "600"})
    for key in PILOT_KEYS:
        solara.Button(f"{_p(key, lang)}: {_t('turn_off' if key in on else 'turn_on', lang)}",
                      on_click=lambda key=key: switch(key), text=True, classes=["govsim-switch"])


@solara.component
def Caption(frame: solara.Reactive, lang: str):
    solara.HTML(tag="div", unsafe_innerHTML=caption_html(frame.value, lang),
                classes=["govsim-caption"])


@solara.component
def NetworkImage(frame: solara.Reactive, colour_by: str, lang: str):
    f = frame.value
    solara.Image(f["network"], format="jpeg")
    solara.HTML(tag="div", unsafe_innerHTML=legend_html(f, colour_by, lang),
                classes=["govsim-legend"])


@solara.component
def ChartsImage(frame: solara.Reactive, lang: str, previous: bool):
    f = frame.value
    solara.Image(f["charts"], format="png")
    note = _t("previous", lang) if previous else ""
    solara.HTML(tag="div", unsafe_innerHTML=escape(note) + " " + _timing(f, lang),
                classes=["govsim-note", "govsim-timing"])


@solara.component
def StepButtons(done_flag: solara.Reactive, playing: solara.Reactive, lang: str, reset, step):
    done = done_flag.value
    with solara.Row(gap="6px", style={"flex-wrap": "wrap", "margin": "8px 0"}):
        solara.Button(_t("reset", lang), on_click=reset, color="primary",
                      classes=["govsim-reset"])
        solara.Button(_t("step", lang), on_click=step, disabled=playing.value or done,
                      classes=["govsim-step"])
        if playing.value:
            solara.Button(_t("pause", lang), on_click=lambda: playing.set(False),
                          classes=["govsim-pause"])
        else:
            solara.Button(_t("play", lang), on_click=lambda: playing.set(True),
                          disabled=done, classes=["govsim-play"])


@solara.component
def TeachingApp(initial: dict[str, Any] | None = None):
    """The whole page: controls on the left, the network and the charts on the right."""
    lang = solara.use_reactive("en")
    params = solara.use_reactive({**DEFAULTS, **(initial or {})})
    session = solara.use_memo(lambda: Session(params.value), dependencies=[])
    current = solara.use_reactive(session)
    # Created once and not read here: only the small components that show a frame re-render
    # each simulated day, not the controls (use_reactive(value) would subscribe this one).
    frame = solara.use_memo(lambda: solara.reactive(session.frame()), dependencies=[])
    net = solara.use_memo(lambda: solara.reactive(frame.peek()), dependencies=[])
    done = solara.use_memo(lambda: solara.reactive(False), dependencies=[])
    playing = solara.use_reactive(False)
    colour_by = solara.use_reactive(COLOUR_MODES[0])
    speed = solara.use_reactive("max")
    s: Session = current.value

    def reset():
        playing.set(False)
        new = Session(params.value, lang.value, previous=s.history(), colour_by=colour_by.value)
        current.set(new)
        fr = new.frame()
        frame.set(fr)
        net.set(fr)
        done.set(False)

    def clear_previous():
        new = Session(params.value, lang.value, previous=None, colour_by=colour_by.value)
        current.set(new)
        fr = new.frame()
        frame.set(fr)
        net.set(fr)
        done.set(False)

    def publish(network: bool = True):
        """Show the session's current frame; the network picture only when repainted."""
        fr = s.frame()
        frame.set(fr)
        if network:
            net.set(fr)
        if done.peek() != s.done:
            done.set(s.done)

    def step():
        if not s.done:
            s.step(draw_network=True)
            publish()

    def play_loop(cancel: threading.Event):
        if not playing.value:
            return
        while playing.value and not cancel.is_set():
            if s.done:
                playing.set(False)
                break
            rate = SPEEDS[speed.value]
            t0 = time.perf_counter()
            if rate is None:
                # as many days as fit in the frame budget, then one picture: the simulation
                # runs at model speed and the page at the frame rate the browser can take
                s.advance(FRAME_BUDGET_S)
            else:
                s.step(draw_network=True)
            publish()
            wait = (1.0 / rate if rate else 0.0) - (time.perf_counter() - t0)
            time.sleep(max(wait, 0.002))
        publish()

    solara.use_thread(play_loop, dependencies=[playing.value, s])

    def switch(pilot: str):
        s.switch_now(pilot)
        publish(network=False)

    def on_lang(v):
        code = "zh" if v == "中文" else "en"
        lang.set(code)
        s.relabel(code)
        publish()

    def on_colour(v):
        mode = COLOUR_MODES[[_t(m, lang.value) for m in COLOUR_MODES].index(v)]
        colour_by.set(mode)
        s.recolour(mode)
        publish()

    lg = lang.value
    solara.Title("govsim teaching app")
    solara.Style(CSS)
    with solara.Div(classes=["govsim-app"]):
        with solara.Div(classes=["govsim-controls"]):
            solara.ToggleButtonsSingle(value="中文" if lg == "zh" else "English",
                                       values=["English", "中文"], on_value=on_lang, dense=True)
            StepButtons(done, playing, lg, reset, step)
            solara.Text(_t("speed", lg), style={"font-size": "14px"})
            solara.ToggleButtonsSingle(value=speed.value, values=list(SPEEDS),
                                       on_value=speed.set, dense=True, classes=["govsim-speed"])
            Controls(params, lg)
            SwitchNow(frame, lg, switch)
            if s.previous is not None:
                solara.Button(_t("clear", lg), on_click=clear_previous, text=True,
                              classes=["govsim-clear"])
        with solara.Div(classes=["govsim-main"]):
            Caption(frame, lg)
            with solara.Div(classes=["govsim-panels"]):
                with solara.Div(classes=["govsim-card", "govsim-network"]):
                    with solara.Row(gap="8px", style={"align-items": "center"}):
                        solara.Text(_t("colour_by", lg))
                        solara.ToggleButtonsSingle(
                            value=_t(colour_by.value, lg),
                            values=[_t(m, lg) for m in COLOUR_MODES], on_value=on_colour,
                            dense=True)
                    NetworkImage(net, colour_by.value, lg)
                with solara.Div(classes=["govsim-card", "govsim-charts"]):
                    ChartsImage(frame, lg, s.previous is not None)


def make_viz(**initial):
    """The app as an element, e.g. to show in a notebook: ``make_viz(households=300)``."""
    return TeachingApp(initial or None)


page = TeachingApp()
