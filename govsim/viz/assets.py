"""Solara's browser assets, served offline from the installed ``solara-assets`` package.

A Solara page loads its front end (the Vuetify app bundle, RequireJS, Font Awesome) from
``/_solara/cdn/...``; the Solara server answers those requests from a directory of npm
packages and, for a file missing there, fetches it from a public CDN. The PyPI package
``solara-assets`` (MIT; the npm packages it holds are MIT, ISC, BSD-3-Clause, Apache-2.0 and,
for Font Awesome, OFL-1.1 and MIT; the page uses the MIT ones and Font Awesome) installs them
as ``share/solara/cdn`` of the Python environment, which is where the Solara server looks by
default. govsim's ``viz`` and ``dev`` extras pin
``solara[assets]`` to the same version, so the app starts and renders without any network
access: a classroom behind a firewall, CI with only package registries.

:func:`prepare_assets` finds that directory, checks that it holds every package the
installed Solara's page template asks for, says plainly what is missing and how to install
it, and returns the environment that points the Solara server at it
(``SOLARA_ASSETS_PROXY_CACHE_DIR``). It never downloads anything.
"""

from __future__ import annotations

import os
import re
import site
import sys
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path

__all__ = ["asset_dir", "install_hint", "required_packages", "missing_packages",
           "missing_message", "prepare_assets"]

# "{{cdn}}/@scope/name@1.2.3/..." in the page template; "/name@1.2.3/..." in settings.
_TEMPLATE_REF = re.compile(r"\{\{\s*cdn\s*\}\}/((?:@[\w.-]+/)?[\w.-]+)@(\d[\w.+-]*)/")
_SETTINGS_REF = re.compile(r"fontawesome_path[^=]*=\s*\"/((?:@[\w.-]+/)?[\w.-]+)@(\d[\w.+-]*)/")
_VUE2_APP = "@widgetti/solara-vuetify-app"
_VUE3_APP = "@widgetti/solara-vuetify3-app"
_FALLBACK = [(_VUE3_APP, "5.1.1"), ("requirejs", "2.3.6"), ("font-awesome", "4.5.0")]


def _version(dist: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:
        return None


def install_hint() -> str:
    """The pip command that installs the assets matching the installed Solara."""
    ver = _version("solara")
    pin = f"=={ver}" if ver else ""
    return f'pip install "solara[assets]{pin}"  (or: pip install -e ".[viz]")'


def _installed_assets_dir() -> Path | None:
    """Where the ``solara-assets`` distribution put its ``share/solara/cdn`` folder."""
    try:
        from importlib.metadata import PackageNotFoundError, distribution

        dist = distribution("solara-assets")
    except (ImportError, PackageNotFoundError):
        return None
    for f in dist.files or ():
        parts = f.parts
        for i in range(len(parts) - 2):
            if parts[i:i + 3] == ("share", "solara", "cdn"):
                return Path(os.path.normpath(dist.locate_file(Path(*parts[:i + 3]))))
    return None


def asset_dir() -> Path:
    """The folder the Solara server serves ``/_solara/cdn/`` from.

    ``SOLARA_ASSETS_PROXY_CACHE_DIR`` when set; else where ``solara-assets`` is installed;
    else Solara's own default (``share/solara/cdn`` under the environment's prefix).
    """
    preset = os.environ.get("SOLARA_ASSETS_PROXY_CACHE_DIR")
    if preset:
        return Path(preset)
    found = _installed_assets_dir()
    if found is not None:
        return found
    spec = find_spec("solara")
    userbase = site.getuserbase()
    if spec and spec.origin and userbase and spec.origin.startswith(userbase):
        return Path(userbase) / "share" / "solara" / "cdn"
    return Path(sys.prefix) / "share" / "solara" / "cdn"


def _vue3() -> bool:
    """Whether Solara will serve its Vue 3 front end (it does with ipyvuetify 3)."""
    ver = _version("ipyvuetify")
    try:
        return ver is None or int(ver.split(".")[0]) >= 3
    except ValueError:
        return True


def required_packages() -> list[tuple[str, str]]:
    """(npm name, version) of every asset package the installed Solara's page loads."""
    spec = find_spec("solara")
    if spec is None or spec.origin is None:
        return list(_FALLBACK)
    root = Path(spec.origin).parent
    found: list[tuple[str, str]] = []
    try:
        found += _TEMPLATE_REF.findall((root / "server/templates/solara.html.j2").read_text())
        found += _SETTINGS_REF.findall((root / "server/settings.py").read_text())
    except OSError:
        return list(_FALLBACK)
    other_app = _VUE2_APP if _vue3() else _VUE3_APP
    out = []
    for name, ver in found:
        if name != other_app and (name, ver) not in out:
            out.append((name, ver))
    return out or list(_FALLBACK)


def missing_packages(cache_dir: Path | None = None,
                     packages: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    """The required packages that ``cache_dir`` (default :func:`asset_dir`) lacks."""
    cache_dir = asset_dir() if cache_dir is None else Path(cache_dir)
    packages = required_packages() if packages is None else packages
    return [(n, v) for n, v in packages
            if not (cache_dir / f"{n}@{v}" / "package.json").is_file()]


def missing_message(cache_dir: Path, missing: list[tuple[str, str]]) -> str:
    names = ", ".join(f"{n}@{v}" for n, v in missing)
    return (f"Solara's browser assets are not installed ({names} missing in {cache_dir}). "
            f"Install them with: {install_hint()}. Until then the page loads them from "
            "the public CDN, which needs internet access; without it the page stays blank.")


def prepare_assets(cache_dir: Path | None = None,
                   log: Callable[[str], None] | None = None) -> dict[str, str]:
    """Check Solara's installed browser assets; return the Solara server's environment.

    Never downloads and never raises: when assets are missing, ``log`` says which and how
    to install them, and the Solara server falls back to the public CDN.
    """
    cache_dir = asset_dir() if cache_dir is None else Path(cache_dir)
    env = dict(os.environ)
    env["SOLARA_ASSETS_PROXY_CACHE_DIR"] = str(cache_dir)
    missing = missing_packages(cache_dir)
    if missing and log:
        log(missing_message(cache_dir, missing))
    return env
