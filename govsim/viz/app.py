"""The interactive teaching app: one small community, its social network and live charts.

Start it with ``govsim app`` (or ``solara run govsim.viz.app:page``) and open the printed
URL. Pick a regime and parameters in the sidebar, press **Reset** to rebuild the community
with them, then **Step** or **▶** (play). The network view colours residents by
participation (active in the last 30 days) or by grievance; the charts follow the
participation rate, the resolution rate and the fiscal cost per resolved case.

In a notebook: ``from govsim.viz.app import make_viz; make_viz()``.
"""

from __future__ import annotations

from html import escape

import solara
from matplotlib.ticker import FuncFormatter, PercentFormatter
from mesa.visualization import SolaraViz, make_plot_component
from mesa.visualization.utils import update_counter

from govsim.regimes import REGIMES
from govsim.viz.teaching import (
    COLOUR_MODES,
    LEVEL_CHOICES,
    REGIME_OWN,
    TeachingModel,
    draw_network,
    key_figures,
)

__all__ = [
    "TeachingModel", "NetworkView", "Dashboard", "TeachingViz", "CHART_MEASURES", "COMPONENTS",
    "MODEL_PARAMS",
    "make_viz", "page",
]

TITLE = "govsim: community governance"

# Keys are TeachingModel.__init__ arguments (SolaraViz checks this). Parameter changes take
# effect when the model is rebuilt: press Reset.
MODEL_PARAMS = {
    "regime": {"type": "Select", "value": "hybrid", "values": list(REGIMES), "label": "Regime"},
    "households": {"type": "SliderInt", "value": 150, "min": 30, "max": 600, "step": 10,
                   "label": "Households"},
    "need_rate": {"type": "SliderFloat", "value": 0.35, "min": 0.0, "max": 2.0, "step": 0.05,
                  "label": "Needs / household / yr"},
    "dispute_rate": {"type": "SliderFloat", "value": 0.04, "min": 0.0, "max": 0.5, "step": 0.01,
                     "label": "Disputes / household / yr"},
    "social_weight": {"type": "SliderFloat", "value": 1.5, "min": 0.0, "max": 5.0, "step": 0.1,
                      "label": "Social influence"},
    "admin_pushdown": {"type": "Select", "value": REGIME_OWN, "values": LEVEL_CHOICES,
                       "label": "Admin push-down to committee"},
    "intervention_intensity": {"type": "Select", "value": REGIME_OWN, "values": LEVEL_CHOICES,
                               "label": "Government intervention"},
    "grid_management": {"type": "Checkbox", "value": False, "label": "Pilot: grid management"},
    "ngo_outsourcing": {"type": "Checkbox", "value": False, "label": "Pilot: NGO outsourcing"},
    "deliberation_council": {"type": "Checkbox", "value": False,
                             "label": "Pilot: deliberation council"},
    "participatory_budget": {"type": "Checkbox", "value": False,
                             "label": "Pilot: participatory budget"},
    "days": {"type": "SliderInt", "value": 365, "min": 30, "max": 1095, "step": 5,
             "label": "Days to simulate"},
    "seed": {"type": "SliderInt", "value": 42, "min": 0, "max": 99, "label": "Random seed"},
}


def _percent_axis(title: str):
    def post(ax):
        ax.set_title(title, fontsize=10)
        ax.set_ylabel("")
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        top = max(0.05, min(1.0, ax.get_ylim()[1]))
        ax.set_ylim(0.0, top)
        _finish(ax)

    return post


def _money_axis(ax):
    ax.set_title("Fiscal cost per resolved case (yuan)", fontsize=10)
    ax.set_ylabel("")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_ylim(0.0, max(100.0, ax.get_ylim()[1]))
    _finish(ax)


def _finish(ax):
    if (legend := ax.get_legend()) is not None:
        legend.remove()  # one line per chart: the title says what it is
    days = max((len(line.get_xdata()) for line in ax.get_lines()), default=0)
    ax.set_xlim(0, max(10, days - 1))  # x is the day (row 0 is the initial state)
    ax.grid(alpha=0.3)
    ax.figure.set_size_inches(5.0, 3.0)


def _caption(k: dict) -> str:
    """Today's figures as small HTML (solara.Markdown would pull mermaid from the CDN)."""
    pilots = f" + {', '.join(p.replace('_', ' ') for p in k['pilots'])}" if k["pilots"] else ""
    lines = [
        f"<b>{escape(k['regime_label'])}</b>{escape(pilots)} · <b>day {k['day']}</b> · "
        f"{k['residents']} residents in {k['households']} households, {k['ties']} ties",
        f"participation <b>{k['participation_rate']:.1%}</b> · resolved "
        f"<b>{k['resolution_rate']:.1%}</b> of {k['cases_arisen']} cases · "
        f"<b>{k['cost_per_resolved_case']:,.0f}</b> yuan per resolved case",
        f"admin push-down {k['admin_pushdown']:g} · intervention {k['intervention_intensity']:g}"
        f" · needs {k['need_rate']:g} and disputes {k['dispute_rate']:g} per household-year"
        f" · social influence {k['social_weight']:g} · seed {k['seed']}",
    ]
    return "<br>".join(lines)


@solara.component
def NetworkView(model: TeachingModel):
    """Residents (dots, grouped by household inside building squares) and their ties."""
    update_counter.get()
    colour_by, set_colour_by = solara.use_state(COLOUR_MODES[0])
    deps = [model, model.steps, colour_by]
    fig = solara.use_memo(lambda: draw_network(model, colour_by), dependencies=deps)
    with solara.Column(gap="2px", classes=["govsim-network"]):
        with solara.Row(gap="8px", style={"align-items": "center"}):
            solara.Text("Colour residents by")
            solara.ToggleButtonsSingle(value=colour_by, values=list(COLOUR_MODES),
                                       on_value=set_colour_by, dense=True)
        solara.HTML(tag="div", unsafe_innerHTML=_caption(key_figures(model)),
                    classes=["govsim-caption"], style={"font-size": "13px", "line-height": "1.5"})
        solara.FigureMatplotlib(fig, format="png", dependencies=deps)
        solara.Text("Change parameters in the sidebar, then press Reset to rebuild.",
                    style={"font-size": "12px", "color": "#666"})


# The charts: (DataCollector model reporter, colour, post-processing of the matplotlib Axes).
CHARTS = [
    ("participation_rate", "#1b9e77", _percent_axis("Participation rate (active in last 30 days)")),
    ("resolution_rate", "#386cb0", _percent_axis("Resolution rate (resolved / arisen)")),
    ("cost_per_resolved_case", "#d95f02", _money_axis),
]
CHART_MEASURES = [measure for measure, _, _ in CHARTS]

COMPONENTS = [NetworkView] + [
    make_plot_component({measure: colour}, post_process=post) for measure, colour, post in CHARTS
]


def _component(entry):
    """A component function of a COMPONENTS entry (make_plot_component gives (fn, page))."""
    return entry[0] if isinstance(entry, tuple) else entry


@solara.component
def Dashboard(model: TeachingModel):
    """The network view and the charts, two per row on a wide screen."""
    update_counter.get()
    with solara.ColumnsResponsive(12, large=6):
        for entry in COMPONENTS:
            with solara.Card(margin=0, classes=["govsim-card"]):
                _component(entry)(model)


@solara.component
def TeachingViz(model: TeachingModel | None = None):
    """Mesa's SolaraViz (sidebar: Reset / Play / Step, parameters, time) plus the dashboard.

    Each browser session gets its own model (built here, not at import time, so visitors
    do not share one). The components are laid out by :func:`Dashboard` rather than by
    SolaraViz's draggable grid, whose JavaScript (vue-grid-layout, a Vue 2 plugin) fails
    under Solara's Vue 3 front end (ipyvuetify 3) and leaves the page empty.
    """
    initial = solara.use_memo(lambda: model if model is not None else TeachingModel(),
                              dependencies=[])
    current = solara.use_reactive(initial)
    solara.Title("govsim teaching app")
    SolaraViz(current, components=[], model_params=MODEL_PARAMS, name=TITLE)
    Dashboard(current.value)


def make_viz(model: TeachingModel | None = None):
    """The app as an element, e.g. to show in a notebook: ``make_viz()``."""
    return TeachingViz(model)


page = TeachingViz()
