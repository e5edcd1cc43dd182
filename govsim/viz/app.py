"""The interactive teaching app: one small community, its social network and live charts.

Start it with ``govsim app`` (or ``solara run govsim.viz.app:page``) and open the printed
URL. Pick a regime and parameters in the sidebar, press **Reset** to rebuild the community
with them, then **Step** or **▶** (play). The network view colours residents by
participation (active in the last 30 days) or by grievance; the charts follow the
participation rate, the resolution rate and the fiscal cost per resolved case.

In a notebook: ``from govsim.viz.app import make_viz; make_viz()``.
"""

from __future__ import annotations

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

__all__ = ["TeachingModel", "NetworkView", "COMPONENTS", "MODEL_PARAMS", "make_viz", "page"]

TITLE = "govsim: community governance"

# Keys are TeachingModel.__init__ arguments (SolaraViz checks this). Parameter changes take
# effect when the model is rebuilt: press Reset.
MODEL_PARAMS = {
    "regime": {"type": "Select", "value": "hybrid", "values": list(REGIMES), "label": "Regime"},
    "households": {"type": "SliderInt", "value": 150, "min": 30, "max": 600, "step": 10,
                   "label": "Households"},
    "need_rate": {"type": "SliderFloat", "value": 0.35, "min": 0.0, "max": 2.0, "step": 0.05,
                  "label": "Needs per household per year"},
    "dispute_rate": {"type": "SliderFloat", "value": 0.04, "min": 0.0, "max": 0.5, "step": 0.01,
                     "label": "Disputes per household per year"},
    "social_weight": {"type": "SliderFloat", "value": 1.5, "min": 0.0, "max": 5.0, "step": 0.1,
                      "label": "Social influence (weight of active neighbours)"},
    "admin_pushdown": {"type": "Select", "value": REGIME_OWN, "values": LEVEL_CHOICES,
                       "label": "Admin work pushed down to the committee"},
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
    ax.set_ylim(bottom=0.0)
    _finish(ax)


def _finish(ax):
    if (legend := ax.get_legend()) is not None:
        legend.remove()  # one line per chart: the title says what it is
    ax.grid(alpha=0.3)
    ax.figure.set_size_inches(5.0, 3.0)


def _caption(k: dict) -> str:
    pilots = f" + {', '.join(p.replace('_', ' ') for p in k['pilots'])}" if k["pilots"] else ""
    return (
        f"**{k['regime_label']}**{pilots} · day {k['day']} · {k['residents']} residents in "
        f"{k['households']} households, {k['ties']} ties  \n"
        f"participation **{k['participation_rate']:.1%}** · resolved **{k['resolution_rate']:.1%}**"
        f" of {k['cases_arisen']} cases · **{k['cost_per_resolved_case']:,.0f}** yuan per "
        f"resolved case · admin push-down {k['admin_pushdown']:g}, intervention "
        f"{k['intervention_intensity']:g}"
    )


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
        solara.Markdown(_caption(key_figures(model)), style={"font-size": "13px"})
        solara.FigureMatplotlib(fig, format="png", dependencies=deps)
        solara.Text("Change parameters in the sidebar, then press Reset to rebuild.",
                    style={"font-size": "12px", "color": "#666"})


COMPONENTS = [
    (NetworkView, 0),
    make_plot_component({"participation_rate": "#1b9e77"},
                        post_process=_percent_axis("Participation rate (active in last 30 days)")),
    make_plot_component({"resolution_rate": "#386cb0"},
                        post_process=_percent_axis("Resolution rate (resolved / arisen)")),
    make_plot_component({"cost_per_resolved_case": "#d95f02"}, post_process=_money_axis),
]


def make_viz(model: TeachingModel | None = None):
    """The SolaraViz element for ``model`` (a new default TeachingModel if None)."""
    return SolaraViz(
        model if model is not None else TeachingModel(),
        components=COMPONENTS,
        model_params=MODEL_PARAMS,
        name=TITLE,
    )


@solara.component
def App():
    """SolaraViz with a model of its own for every browser session.

    A model instance built at import time would be shared by every visitor until each
    pressed Reset; building it here (once per session) keeps classrooms independent.
    """
    model = solara.use_memo(TeachingModel, dependencies=[])
    make_viz(model)


page = App()
