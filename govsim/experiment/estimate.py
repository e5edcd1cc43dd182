"""Size a job before starting it: run count, rough memory and time; refuse huge ones.

The figures are deliberately rough (measured on a 2-core machine: about 0.7 KB of memory per
resident and 0.2-0.7 microseconds per resident-day, plus a fixed cost per run and per worker
process). They exist so that a typo (``samples = 1000000``, ``households = 5000000``) is
caught with a one-line message instead of a hung machine: past :data:`MAX_RUNS` runs or
:data:`MAX_MEMORY` bytes the command refuses unless ``--yes`` is given.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

from govsim.scenario import ScenarioError

BYTES_PER_RESIDENT = 1024       # measured ~650-830 B per resident in a running model
BYTES_PER_WORKER = 250 * 2**20  # a worker process with numpy, pandas, mesa imported
BYTES_PER_RUN = 2048            # a run's spec, its row in the table and its file entry
SECONDS_PER_RESIDENT_DAY = 5e-7
SECONDS_PER_RUN = 0.05
MAX_RUNS = 100_000
MAX_MEMORY = 8 * 2**30


@dataclass(frozen=True)
class Estimate:
    runs: int
    residents: int       # of the largest run
    days: int
    workers: int
    memory: int          # bytes, peak

    @property
    def seconds(self) -> float:
        per_run = SECONDS_PER_RUN + self.residents * self.days * SECONDS_PER_RESIDENT_DAY
        return self.runs * per_run / max(1, self.workers)

    def text(self, lang: str = "en") -> str:
        if lang == "zh":
            return (f"{self.runs:,} 次运行，每次最多 {self.residents:,} 名居民 x {self.days:,} 天，"
                    f"{self.workers} 个工作进程：约需内存 {_bytes(self.memory)}，"
                    f"用时约 {_duration(self.seconds, 'zh')}")
        return (f"{self.runs:,} run{'s' if self.runs != 1 else ''} of up to {self.residents:,} residents x "
                f"{self.days:,} days on {self.workers} worker{'s' if self.workers != 1 else ''}: "
                f"about {_bytes(self.memory)} of memory and {_duration(self.seconds)}")

    def too_big(self) -> str:
        """Why the job is past the limits ('' if it is not)."""
        why = []
        if self.runs > MAX_RUNS:
            why.append(f"more than {MAX_RUNS:,} runs")
        if self.memory > MAX_MEMORY:
            why.append(f"more than {_bytes(MAX_MEMORY)} of memory")
        return " and ".join(why)


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def _duration(s: float, lang: str = "en") -> str:
    zh = lang == "zh"
    if s < 120:
        return f"{s:,.0f} {'秒' if zh else 's'}"
    if s < 7200:
        return f"{s / 60:,.0f} {'分钟' if zh else 'min'}"
    if s < 172_800:
        return f"{s / 3600:,.1f} {'小时' if zh else 'h'}"
    return f"{s / 86_400:,.0f} {'天' if zh else 'days'}"


def residents(data: dict[str, Any]) -> int:
    """Residents a scenario (raw dict) builds, from its declared sizes (no model is built)."""
    pop = data.get("population") or {}
    size = float(pop.get("household_size", 2.9))
    listed = data.get("communities") or []
    if listed:
        total = 0
        for c in listed:
            hh = int(c.get("households", 1412))
            total += int(c.get("people") or hh * size)
        return total
    hh = int(pop.get("households", 1412))
    return int(pop.get("people") or hh * size)


def workers_of(backend: str, workers: int | None) -> int:
    if backend == "serial":
        return 1
    return workers or os.cpu_count() or 1


def estimate(runs: int, largest: dict[str, Any], *, backend: str = "serial", workers: int | None = None) -> Estimate:
    w = min(workers_of(backend, workers), max(runs, 1))
    n = residents(largest)
    memory = BYTES_PER_WORKER * (w + (backend != "serial")) + w * n * BYTES_PER_RESIDENT + runs * BYTES_PER_RUN
    return Estimate(runs=runs, residents=n, days=int(largest.get("steps", 365)), workers=w, memory=memory)


def largest_scenario(base: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    """The base scenario with every varied population size at its largest value."""
    import copy

    data = copy.deepcopy(base)
    for key, values in parameters.items():
        if key in ("population.households", "population.people", "steps"):
            top = max(values) if isinstance(values, tuple | list) else values.max
            section, _, name = key.rpartition(".")
            (data.setdefault(section, {}) if section else data)[name] = int(top)
    return data


def guard(est: Estimate, yes: bool, where: str, fewer: str, quiet: bool = False) -> None:
    """Print the estimate; refuse (one line) past the limits unless ``--yes``."""
    if not quiet:
        from govsim.outcomes import get_language

        if get_language() == "zh":
            print(f"govsim: 预计：{est.text('zh')}", file=sys.stderr)
        else:
            print(f"govsim: estimate: {est.text()}", file=sys.stderr)
    why = est.too_big()
    if why and not yes:
        raise ScenarioError(f"{where}: {est.text()}: {why}; allowed: --yes to run it anyway, or {fewer}")
