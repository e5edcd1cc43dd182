"""Figures for docs/ODD.md (structure only, no simulation results).

    /tmp/venv/bin/python docs/figures/make_figures.py

writes, next to this file:

* ``network_subarea.png``  the generated social network of one sub-area (4 courtyards x
  3 buildings x 30 households) of ``scenarios/hybrid.toml`` with more migrants and relocated
  households than the file (so all three tenures show), coloured by tenure; courtyards and
  buildings show as clusters;
* ``chains.png``           the escalation chain of each triage class under each regime, and
  how each pilot feature rewrites the hybrid regime's chains.

Both are drawn from the code (``govsim.network.build_structure`` via ``GovernanceModel``,
``govsim.regimes.compile_institutions``), so they follow the code when it changes.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402

from govsim import GovernanceModel, load_scenario  # noqa: E402
from govsim.network import TENURES  # noqa: E402
from govsim.regimes import CLASSES, LEVELS, compile_institutions  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
LEVEL_COLOURS = {
    "residents": "#8dd3c7", "grid": "#ffffb3", "ngo": "#bebada", "committee": "#80b1d3",
    "council": "#fdb462", "centre": "#b3de69", "company": "#fccde5", "agency": "#bc80bd",
    "street": "#fb8072", "district": "#d9d9d9",
}


def network_figure(path: Path) -> None:
    sc = load_scenario(ROOT / "scenarios" / "hybrid.toml", overrides={"population.migrant_share": 0.3,
                                                                             "population.relocated_share": 0.2})
    m = GovernanceModel(scenario=sc, collect=False)
    s = m.structure
    nodes = np.flatnonzero(s.subarea == 0)
    sub = s.adjacency[nodes][:, nodes]
    g = nx.from_scipy_sparse_array(sub)
    # Layout seeded by building so the nesting shows.
    pos = nx.spring_layout(g, seed=1, k=0.12, iterations=60, weight="weight")
    colours = {0: "#1f78b4", 1: "#33a02c", 2: "#e31a1c"}
    fig, ax = plt.subplots(figsize=(5.6, 4.8), dpi=80)
    w = np.array([d["weight"] for _, _, d in g.edges(data=True)])
    nx.draw_networkx_edges(g, pos, ax=ax, width=0.3 + 1.2 * w, alpha=0.2, edge_color="#555555")
    nx.draw_networkx_nodes(g, pos, ax=ax, node_size=9,
                           node_color=[colours[int(s.tenure[nodes[i]])] for i in g.nodes])
    for t, c in colours.items():
        ax.scatter([], [], c=c, s=20, label=TENURES[t])
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.set_title(f"One sub-area: {len(nodes)} residents, {len(np.unique(s.building[nodes]))} buildings, "
                 f"{len(np.unique(s.courtyard[nodes]))} courtyards\n(hybrid.toml with migrant_share=0.3, relocated_share=0.2; "
                 "edge width = tie weight)", fontsize=9)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=80, pil_kwargs={"optimize": True})
    plt.close(fig)


def chains_figure(path: Path) -> None:
    rows = [(name, {}) for name in ("self_governing", "government_led", "hybrid")]
    rows += [(f"hybrid + {p}", {p: True}) for p in ("grid_management", "ngo_outsourcing", "deliberation_council")]
    fig, axes = plt.subplots(len(rows), 1, figsize=(7.5, 1.15 * len(rows) + 0.4), dpi=90)
    for ax, (label, pilots) in zip(axes, rows, strict=True):
        regime = label.split(" +")[0]
        inst = compile_institutions(regime, None, pilots)
        for ci, cls in enumerate(CLASSES):
            y = len(CLASSES) - 1 - ci
            ax.text(-0.1, y, cls, ha="right", va="center", fontsize=7)
            for k, lv in enumerate(inst.data.chains[cls]):
                bold = cls == "approval"
                ax.add_patch(plt.Rectangle((k * 1.1, y - 0.38), 1.0, 0.76, color=LEVEL_COLOURS[lv],
                                           ec="black" if bold else "none", lw=1.0))
                ax.text(k * 1.1 + 0.5, y, lv, ha="center", va="center", fontsize=6.5,
                        weight="bold" if bold else "normal")
        ax.set_xlim(-1.6, 6 * 1.1)
        ax.set_ylim(-0.6, len(CLASSES) - 0.4)
        ax.set_title(label, fontsize=8, loc="left")
        ax.axis("off")
    fig.suptitle("Escalation chains (left = entry level); approval: every bold box signs off in turn", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    _ = LEVELS


if __name__ == "__main__":
    network_figure(HERE / "network_subarea.png")
    chains_figure(HERE / "chains.png")
    for p in sorted(HERE.glob("*.png")):
        print(f"{p.name}: {p.stat().st_size / 1024:.0f} KB")
