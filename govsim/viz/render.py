"""Fast pictures for the teaching app: the network and the charts as PNG bytes, updated in
place each simulated day instead of being redrawn (no Solara here, so it is testable headless).

* :class:`NetworkPicture` draws the static part (buildings, ties) once with matplotlib and
  keeps it as a pixel array; each day it only paints the residents' dots (a few pixels each,
  numpy fancy indexing) and encodes the PNG. The legend and the counts are HTML beside it.
* :class:`ChartsPicture` draws the axes once, with the x axis fixed to the whole run and the
  previous run (dashed) in the background, then per day restores that background and draws
  just the three lines (matplotlib blitting). An axis is redrawn only when a value leaves it.

At 1,500 households (about 4,400 residents) a day's pictures take a few tens of ms.
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, PercentFormatter

from govsim.fonts import apply_fonts
from govsim.outcomes import label

__all__ = ["CHART_SERIES", "ChartsPicture", "NetworkPicture", "encode_jpeg", "encode_png", "today"]

ACTIVE = "#1b9e77"
INACTIVE = "#b8bec6"
YOUTH = "#e3e7ec"
EDGE = "#8a96a3"
GRIEVANCE_FLOOR = 0.02

#: The charts: (key, colour).
CHART_SERIES = (("participation_rate", "#1b9e77"), ("resolution_rate", "#386cb0"),
                ("cost_per_resolved_case", "#d95f02"))


def encode_png(rgb: np.ndarray) -> bytes:
    """PNG bytes of an (h, w, 3) uint8 array (fast zlib level)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def encode_jpeg(rgb: np.ndarray) -> bytes:
    """JPEG bytes (quality 92, no chroma subsampling: small dots stay crisp); about ten
    times faster and smaller than PNG for the busy network picture."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=92, subsampling=0)
    return buf.getvalue()


def _rgb(colour: str) -> np.ndarray:
    return (np.array(to_rgb(colour)) * 255).round().astype(np.uint8)


def today(model) -> dict[str, float]:
    """The charts' values for the model's current day (cost NaN until a case is resolved)."""
    c = model.cases.counts
    resolved = c["resolved"]
    fiscal = model.ledger.spent_by("government")
    return {
        "day": int(model.day),
        "participation_rate": float(model.population.participation_rate(model.day - 1)),
        "resolution_rate": resolved / c["arisen"] if c["arisen"] else math.nan,
        "cost_per_resolved_case": fiscal / resolved if resolved else math.nan,
    }


class NetworkPicture:
    """The residents' network: static background once, dots painted per day."""

    def __init__(self, model, width: int = 620, height: int | None = None, dpi: int = 100):
        from govsim.viz.teaching import building_boxes

        pos = model.layout
        span = np.ptp(pos, axis=0) + 0.3
        if height is None:
            height = int(np.clip(width * span[1] / span[0], 320, 900))
        self.size = (width, height)
        fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
        canvas = FigureCanvasAgg(fig)
        ax = fig.add_axes((0.01, 0.01, 0.98, 0.98))
        for x, y in building_boxes(model):
            ax.add_patch(Rectangle((x - 0.04, y - 0.04), 1.08, 1.08, facecolor="#f7f8fa",
                                   edgecolor="#d5dae0", linewidth=0.8, zorder=0))
        ax.add_collection(LineCollection(model.edge_segments, colors=EDGE, linewidths=0.3,
                                         alpha=0.18, zorder=1))
        ax.set_xlim(pos[:, 0].min() - 0.15, pos[:, 0].max() + 0.15)
        ax.set_ylim(pos[:, 1].min() - 0.15, pos[:, 1].max() + 0.15)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_axis_off()
        canvas.draw()
        self.background = np.asarray(canvas.buffer_rgba())[..., :3].copy()
        h, w = self.background.shape[:2]
        xy = ax.transData.transform(pos)
        col = np.clip(np.round(xy[:, 0]).astype(int), 0, w - 1)
        row = np.clip(np.round(h - xy[:, 1]).astype(int), 0, h - 1)
        n = len(pos)
        r = int(np.clip(round(math.sqrt(w * h / max(n, 1)) / 5.0), 1, 5))
        dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
        disc = dx**2 + dy**2 <= r * r + 0.5
        ring = disc & (dx**2 + dy**2 > (r - 1) ** 2 + 0.5) if r >= 3 else np.zeros_like(disc)
        self.radius = r
        inner = disc & ~ring

        def offsets(mask):
            oy, ox = dy[mask], dx[mask]
            rr = np.clip(row[:, None] + oy[None, :], 0, h - 1)
            cc = np.clip(col[:, None] + ox[None, :], 0, w - 1)
            return rr, cc

        self._inner = offsets(inner)
        self._ring = offsets(ring) if ring.any() else None
        self.n = n

    def render(self, colours: np.ndarray, order: np.ndarray | None = None) -> bytes:
        """JPEG of the network with residents painted in ``colours`` ((n, 3) uint8), in
        ``order`` (later ones on top)."""
        img = self.background.copy()
        idx = np.arange(self.n) if order is None else order
        if self._ring is not None:
            rr, cc = self._ring
            img[rr[idx], cc[idx]] = (np.asarray(colours[idx], dtype=np.float32) * 0.6
                                     ).astype(np.uint8)[:, None, :]
        rr, cc = self._inner
        img[rr[idx], cc[idx]] = colours[idx][:, None, :]
        return encode_jpeg(img)

    @staticmethod
    def colours(model, colour_by: str = "participation") -> tuple[np.ndarray, np.ndarray | None,
                                                                   dict[str, Any]]:
        """Per-resident colours, painting order and counts for the legend."""
        from matplotlib import colormaps

        from govsim.viz.teaching import network_data

        d = network_data(model, colour_by)
        n = len(d["pos"])
        out = np.empty((n, 3), dtype=np.uint8)
        info = {"n_active": d["n_active"], "n_eligible": d["n_eligible"],
                "n_youth": int(d["youth"].sum())}
        if colour_by == "participation":
            out[:] = _rgb(INACTIVE)
            out[d["youth"]] = _rgb(YOUTH)
            out[d["active"]] = _rgb(ACTIVE)
            return out, None, info
        g = d["values"]
        thr = d["grievance_threshold"]
        calm = g < GRIEVANCE_FLOOR * thr
        rgba = colormaps["YlOrRd"](np.clip(g / thr, 0.0, 1.0))
        out[:] = (rgba[:, :3] * 255).astype(np.uint8)
        out[calm] = _rgb(INACTIVE)
        order = np.argsort(np.where(calm, -1.0, g), kind="stable")  # the angriest on top
        info["n_aggrieved"] = int((~calm).sum())
        return out, order, info


class ChartsPicture:
    """Three small time-series charts; the x axis is the day, fixed to the whole run."""

    def __init__(self, days: int, previous: dict[str, np.ndarray] | None = None,
                 lang: str = "en", width: int = 520, height: int = 620, dpi: int = 100):
        self.days = max(int(days), 10)
        self.previous = previous
        self.lang = lang
        self.fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, layout="constrained")
        self.canvas = FigureCanvasAgg(self.fig)
        self.axes = self.fig.subplots(len(CHART_SERIES), 1, sharex=True)
        self.lines = {}
        self.top = {"cost_per_resolved_case": 100.0}
        self._fitted = False
        for ax, (key, colour) in zip(self.axes, CHART_SERIES, strict=True):
            title = label(key, lang)
            ax.set_title(title, fontsize=12, loc="left")
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=10)
            ax.set_xlim(0, self.days)
            if key == "cost_per_resolved_case":
                ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
                ax.set_ylim(0, self.top[key])
            else:
                ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
                ax.set_ylim(0, 1.0)
            if previous is not None and key in previous:
                ax.plot(previous["day"], previous[key], color="#777777", lw=1.4, ls="--",
                        label="previous run" if lang == "en" else "上一次运行")
            (line,) = ax.plot([], [], color=colour, lw=2.2, animated=True,
                              label="this run" if lang == "en" else "本次运行")
            self.lines[key] = line
        self.axes[-1].set_xlabel(label("day", lang), fontsize=11)
        if previous is not None:
            self.axes[0].legend(fontsize=11, loc="upper right", frameon=False)
        if previous is not None and "cost_per_resolved_case" in previous:
            self._fit_cost(previous["cost_per_resolved_case"])
            self._fitted = False
        apply_fonts(self.fig, lang)
        self._background = None
        self.full_draws = 0

    def _fit_cost(self, values) -> bool:
        """Fit the cost axis to the typical level, not to an early spike (the first days,
        with few cases resolved, give wild ratios); True if the axis changed."""
        v = np.asarray(values, dtype=float)
        v = v[np.isfinite(v)]
        if not v.size or (v.size < 10 and self._fitted):
            return False  # do not chase the wild first days
        recent = v[len(v) // 2:]
        level = max(float(np.percentile(recent, 90)), 1.0)
        top = self.top["cost_per_resolved_case"]
        self._fitted = True
        if top / 4 <= level <= top:
            return False
        unit = 10 ** math.floor(math.log10(level * 1.3))
        new = max(100.0, math.ceil(level * 1.3 / unit) * unit)
        if new == top:
            return False
        self.top["cost_per_resolved_case"] = new
        self.axes[-1].set_ylim(0, new)
        return True

    def render(self, series: dict[str, np.ndarray]) -> bytes:
        """PNG of the charts with ``series`` (``day`` and the CHART_SERIES keys)."""
        if self._fit_cost(series.get("cost_per_resolved_case", [])) or self._background is None:
            self.canvas.draw()
            self._background = self.canvas.copy_from_bbox(self.fig.bbox)
            self.full_draws += 1
        self.canvas.restore_region(self._background)
        day = series["day"]
        for ax, (key, _) in zip(self.axes, CHART_SERIES, strict=True):
            line = self.lines[key]
            line.set_data(day, series[key])
            ax.draw_artist(line)
        return encode_png(np.asarray(self.canvas.buffer_rgba())[..., :3])
