"""The teaching app's model and drawing code (no Solara here, so it is testable headless).

:class:`TeachingModel` is a :class:`~govsim.model.GovernanceModel` built from a handful of
plain keyword arguments (all with defaults, as Mesa's SolaraViz requires): it assembles a
scenario dict, validates it with :func:`~govsim.scenario.scenario_from_dict` and keeps a
fixed layout of its residents for drawing.

The layout is computed once, without any force simulation: buildings sit on a grid, each
building's households on a sub-grid inside it, and each household's members on a small
ring around the household's spot. It costs microseconds for a few hundred residents and
shows the neighbourhood structure the social ties are built on (ties inside a building are
short lines, ties across buildings long ones).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from govsim.model import GovernanceModel
from govsim.network import YOUTH
from govsim.population import ACTIVE_WINDOW
from govsim.scenario import ScenarioError, scenario_from_dict

__all__ = [
    "REGIME_OWN",
    "LEVEL_CHOICES",
    "COLOUR_MODES",
    "TeachingModel",
    "teaching_scenario",
    "resident_layout",
    "network_data",
    "key_figures",
    "draw_network",
]

# Choice meaning "keep the chosen regime's own value" (admin push-down, intervention).
REGIME_OWN = "regime's own"
LEVEL_CHOICES = [REGIME_OWN, "0.0", "0.25", "0.5", "0.75", "1.0"]
COLOUR_MODES = ("participation", "grievance")

ACTIVE_COLOUR = "#1b9e77"
INACTIVE_COLOUR = "#b8bec6"
YOUTH_COLOUR = "#eceff3"
EDGE_COLOUR = "#8a96a3"
GRIEVANCE_FLOOR = 0.02  # below this share of the incident threshold a resident is drawn grey
BUILDING_GAP = 0.25  # between buildings, in building widths


def _level(value: Any, name: str) -> float | None:
    """A push-down/intervention choice: None (the regime's own) or a share in [0, 1]."""
    if value is None or (isinstance(value, str) and value.strip() in ("", REGIME_OWN)):
        return None
    try:
        x = float(str(value).split()[0]) if isinstance(value, str) else float(value)
    except ValueError:
        raise ScenarioError(f"{name} = {value!r} is invalid; allowed: a number in [0, 1] "
                            f"or {REGIME_OWN!r}") from None
    return x


def teaching_scenario(
    regime: str = "hybrid",
    households: int = 150,
    need_rate: float = 0.35,
    dispute_rate: float = 0.04,
    social_weight: float = 1.5,
    admin_pushdown: float | str | None = None,
    intervention_intensity: float | str | None = None,
    grid_management: bool = False,
    ngo_outsourcing: bool = False,
    deliberation_council: bool = False,
    participatory_budget: bool = False,
    days: int = 365,
    seed: int = 42,
) -> dict[str, Any]:
    """The scenario dict (as a TOML file would give it) for the app's parameters."""
    data: dict[str, Any] = {
        "name": "teaching",
        "description": "one small community, built by the teaching app",
        "regime": str(regime),
        "steps": int(days),
        "seed": int(seed),
        "population": {"households": int(households)},
        "cases": {"need_rate": float(need_rate), "dispute_rate": float(dispute_rate)},
        "behaviour": {"social_weight": float(social_weight)},
        "pilots": {
            "grid_management": bool(grid_management),
            "ngo_outsourcing": bool(ngo_outsourcing),
            "deliberation_council": bool(deliberation_council),
            "participatory_budget": bool(participatory_budget),
        },
    }
    settings = {}
    for key, value in (("admin_pushdown", admin_pushdown),
                       ("intervention_intensity", intervention_intensity)):
        level = _level(value, key)
        if level is not None:
            settings[key] = level
    if settings:
        data["regime_settings"] = settings
    return data


class TeachingModel(GovernanceModel):
    """One small community for the classroom: simple keyword arguments, all with defaults.

    ``admin_pushdown`` and ``intervention_intensity`` are ``None`` (or ``"regime's own"``)
    to keep the regime's value, or a share in [0, 1] to override it. ``rng`` is accepted
    because Mesa may pass it; when given it replaces ``seed``.
    """

    def __init__(
        self,
        regime: str = "hybrid",
        households: int = 150,
        need_rate: float = 0.35,
        dispute_rate: float = 0.04,
        social_weight: float = 1.5,
        admin_pushdown: float | str | None = REGIME_OWN,
        intervention_intensity: float | str | None = REGIME_OWN,
        grid_management: bool = False,
        ngo_outsourcing: bool = False,
        deliberation_council: bool = False,
        participatory_budget: bool = False,
        days: int = 365,
        seed: int = 42,
        rng: int | None = None,
    ):
        if rng is not None:
            seed = int(rng)
        data = teaching_scenario(
            regime=regime, households=households, need_rate=need_rate, dispute_rate=dispute_rate,
            social_weight=social_weight, admin_pushdown=admin_pushdown,
            intervention_intensity=intervention_intensity, grid_management=grid_management,
            ngo_outsourcing=ngo_outsourcing, deliberation_council=deliberation_council,
            participatory_budget=participatory_budget, days=days, seed=seed,
        )
        super().__init__(scenario=scenario_from_dict(data, where="app"))
        self.layout = resident_layout(self.structure)
        a = self.structure.adjacency.tocoo()
        upper = a.row < a.col
        self.edge_segments = np.stack(
            [self.layout[a.row[upper]], self.layout[a.col[upper]]], axis=1
        )
        # Day 0 as the first row, so the charts start from the initial state.
        self.datacollector.collect(self)


def resident_layout(structure) -> np.ndarray:
    """Fixed (n, 2) positions: buildings on a grid, households inside, members on a ring.

    Building ``b`` is the unit square at :func:`building_boxes`'s ``b``-th corner.
    """
    s = structure
    n_b = s.n_buildings
    cols = max(1, math.ceil(math.sqrt(n_b)))
    pitch = 1.0 + BUILDING_GAP
    pos = np.zeros((s.n, 2))
    for b in range(n_b):
        start, size = int(s.building_start[b]), int(s.building_size[b])
        if size == 0:
            continue
        ox, oy = (b % cols) * pitch, -(b // cols) * pitch
        members = np.arange(start, start + size)
        hh, first = np.unique(s.household[members], return_index=True)
        k = max(1, math.ceil(math.sqrt(len(hh))))
        cell = 1.0 / k
        counts = np.diff(np.append(first, size))
        for j, (f, c) in enumerate(zip(first, counts, strict=True)):
            cx = ox + (j % k + 0.5) * cell
            cy = oy + 1.0 - (j // k + 0.5) * cell
            if c == 1:
                pos[start + f] = cx, cy
                continue
            angle = 2 * np.pi * np.arange(c) / c + 0.7 * j
            r = 0.28 * cell
            pos[start + f : start + f + c, 0] = cx + r * np.cos(angle)
            pos[start + f : start + f + c, 1] = cy + r * np.sin(angle)
    return pos


def network_data(model: TeachingModel, colour_by: str = "participation") -> dict[str, Any]:
    """What the network view draws: positions, per-resident values and colours, counts."""
    if colour_by not in COLOUR_MODES:
        raise ValueError(f"colour_by = {colour_by!r}; allowed: {', '.join(COLOUR_MODES)}")
    pop = model.population
    day = model.day - 1
    active = pop.active_mask(day) & pop.eligible
    youth = model.structure.age == YOUTH
    out: dict[str, Any] = {
        "pos": model.layout,
        "active": active,
        "youth": youth,
        "n_active": int(active.sum()),
        "n_eligible": int(pop.eligible.sum()),
        "grievance": np.asarray(pop.grievance, dtype=float),
        "grievance_threshold": float(model.scenario.cases.grievance_threshold),
    }
    if colour_by == "participation":
        colours = np.full(pop.n, INACTIVE_COLOUR, dtype=object)
        colours[youth] = YOUTH_COLOUR
        colours[active] = ACTIVE_COLOUR
        out["colours"] = colours
    else:
        out["values"] = out["grievance"]
    return out


def key_figures(model: TeachingModel) -> dict[str, Any]:
    """Today's headline figures, as the charts' reporters compute them."""
    c = model.cases.counts
    fiscal = model.ledger.spent_by("government")
    inst = model.institutions
    return {
        "day": int(model.day),
        "regime": model.scenario.regime,
        "regime_label": inst.data.label,
        "pilots": list(inst.pilots),
        "residents": int(model.population.n),
        "households": int(model.structure.n_households),
        "ties": int(model.structure.n_edges),
        "participation_rate": model.population.participation_rate(model.day - 1),
        "resolution_rate": c["resolved"] / c["arisen"] if c["arisen"] else 0.0,
        "cases_arisen": int(c["arisen"]),
        "cases_resolved": int(c["resolved"]),
        "cost_per_resolved_case": fiscal / c["resolved"] if c["resolved"] else 0.0,
        "admin_pushdown": float(inst.data.admin_pushdown),
        "intervention_intensity": float(inst.data.intervention_intensity),
        "need_rate": float(model.scenario.cases.need_rate),
        "dispute_rate": float(model.scenario.cases.dispute_rate),
        "social_weight": float(model.scenario.behaviour.social_weight),
        "seed": int(model.scenario.seed),
    }


def building_boxes(model: TeachingModel) -> list[tuple[float, float]]:
    """Lower-left corners of the building squares of :func:`resident_layout`."""
    n_b = model.structure.n_buildings
    cols = max(1, math.ceil(math.sqrt(n_b)))
    pitch = 1.0 + BUILDING_GAP
    return [((b % cols) * pitch, -(b // cols) * pitch) for b in range(n_b)]


def draw_network(model: TeachingModel, colour_by: str = "participation",
                 size: tuple[float, float] | None = None, dpi: int = 90) -> Figure:
    """The residents' network as a matplotlib Figure (no pyplot: nothing to close)."""
    d = network_data(model, colour_by)
    n = len(d["pos"])
    if size is None:  # as tall as the buildings' block needs, plus the legend
        span = np.ptp(d["pos"], axis=0) + 0.2
        size = (6.0, float(np.clip(5.4 * span[1] / span[0] + 0.7, 2.5, 7.0)))
    fig = Figure(figsize=size, dpi=dpi, layout="constrained")
    ax = fig.subplots()
    for x, y in building_boxes(model):
        ax.add_patch(Rectangle((x - 0.04, y - 0.04), 1.08, 1.08, facecolor="#f7f8fa",
                               edgecolor="#d5dae0", linewidth=0.8, zorder=0))
    ax.add_collection(LineCollection(model.edge_segments, colors=EDGE_COLOUR, linewidths=0.3,
                                     alpha=0.15, zorder=1))
    dot = float(np.clip(8000.0 / max(n, 1), 4.0, 40.0))
    x, y = d["pos"][:, 0], d["pos"][:, 1]
    if colour_by == "participation":
        ax.scatter(x, y, s=dot, c=list(d["colours"]), linewidths=0.25, edgecolors="#6b7480",
                   zorder=2)
        handles = [
            Line2D([], [], marker="o", ls="", color=ACTIVE_COLOUR,
                   label=f"active in last {ACTIVE_WINDOW} days ({d['n_active']})"),
            Line2D([], [], marker="o", ls="", color=INACTIVE_COLOUR,
                   label=f"not active ({d['n_eligible'] - d['n_active']})"),
            Line2D([], [], marker="o", ls="", color=YOUTH_COLOUR, markeredgecolor="#6b7480",
                   label="under 18 (not counted)"),
        ]
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.01), ncol=3,
                  fontsize=8, frameon=False, handletextpad=0.2, columnspacing=0.8)
    else:
        thr = d["grievance_threshold"]
        g = d["values"]
        calm = g < GRIEVANCE_FLOOR * thr
        ax.scatter(x[calm], y[calm], s=dot, c=INACTIVE_COLOUR, linewidths=0.25,
                   edgecolors="#6b7480", zorder=2)
        order = np.flatnonzero(~calm)[np.argsort(g[~calm])]  # the angriest on top
        sc = ax.scatter(x[order], y[order], s=dot * 1.3, c=g[order], cmap="YlOrRd", vmin=0.0,
                        vmax=thr, linewidths=0.25, edgecolors="#6b7480", zorder=3)
        cb = fig.colorbar(sc, ax=ax, extend="max", shrink=0.7, pad=0.01)
        cb.set_label("grievance (top: incident threshold)", fontsize=8)
        cb.ax.tick_params(labelsize=7)
    ax.set_aspect("equal")
    ax.autoscale_view()
    ax.set_axis_off()
    return fig
