"""The interactive teaching app (a Solara page in the browser; the model is a Mesa model).

``govsim app`` serves it (``govsim.viz.app:page``); :class:`TeachingModel` is the model it
drives, importable without Solara.
"""

from govsim.viz.teaching import TeachingModel, draw_network, key_figures, teaching_scenario

__all__ = ["TeachingModel", "draw_network", "key_figures", "teaching_scenario"]
