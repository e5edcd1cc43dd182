"""Solara's browser assets, for machines that cannot reach the public CDN.

A Solara page loads its front end (the Vuetify app bundle, RequireJS, Font Awesome) from
``/_solara/cdn/...``; the Solara server answers those requests from a cache directory and
fills the cache from a public CDN. Where that CDN is unreachable (a classroom behind a
firewall, CI with only package registries), the page stays blank.

:func:`prepare_assets` fills such a cache from the npm registry instead (``npm pack``, the
ordinary npm client), once, and returns the environment that points the Solara server at
it (``SOLARA_ASSETS_PROXY_CACHE_DIR``). The package versions are read from the installed
Solara's page template, so they follow Solara upgrades.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path

__all__ = ["default_cache_dir", "required_packages", "missing_packages", "prepare_assets"]

# "{{cdn}}/@scope/name@1.2.3/..." in the page template; "/name@1.2.3/..." in settings.
_TEMPLATE_REF = re.compile(r"\{\{\s*cdn\s*\}\}/((?:@[\w.-]+/)?[\w.-]+)@(\d[\w.+-]*)/")
_SETTINGS_REF = re.compile(r"fontawesome_path[^=]*=\s*\"/((?:@[\w.-]+/)?[\w.-]+)@(\d[\w.+-]*)/")
_VUE2_APP = "@widgetti/solara-vuetify-app"
_VUE3_APP = "@widgetti/solara-vuetify3-app"
_FALLBACK = [(_VUE3_APP, "5.2.0"), ("requirejs", "2.3.6"), ("font-awesome", "4.5.0")]


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "govsim" / "solara-cdn"


def _vue3() -> bool:
    """Whether Solara will serve its Vue 3 front end (it does with ipyvuetify 3)."""
    try:
        from importlib.metadata import version

        return int(version("ipyvuetify").split(".")[0]) >= 3
    except Exception:
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


def _package_dir(cache_dir: Path, name: str, version: str) -> Path:
    return cache_dir / f"{name}@{version}"


def missing_packages(cache_dir: Path, packages: list[tuple[str, str]] | None = None
                     ) -> list[tuple[str, str]]:
    packages = required_packages() if packages is None else packages
    return [(n, v) for n, v in packages
            if not (_package_dir(cache_dir, n, v) / "package.json").is_file()]


def _extract(tgz: Path, dest: Path) -> None:
    """Unpack an npm tarball (entries under ``package/``) into ``dest``, atomically."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=dest.parent))
    try:
        with tarfile.open(tgz) as tar:
            members = []
            for m in tar.getmembers():
                parts = Path(m.name).parts
                if len(parts) < 2:
                    continue
                m.name = str(Path(*parts[1:]))
                members.append(m)
            tar.extractall(tmp, members=members, filter="data")
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def fetch_packages(packages: list[tuple[str, str]], cache_dir: Path,
                   timeout: float = 300.0) -> None:
    """``npm pack`` the packages and unpack them as ``cache_dir/name@version/``."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed")
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="govsim-npm-") as work:
        specs = [f"{n}@{v}" for n, v in packages]
        res = subprocess.run(
            [npm, "pack", *specs, "--json", "--silent", "--pack-destination", work],
            capture_output=True, text=True, timeout=timeout, cwd=work,
        )
        if res.returncode != 0:
            lines = (res.stderr or res.stdout).strip().splitlines()
            raise RuntimeError(f"npm pack failed: {lines[-1] if lines else res.returncode}")
        packed = json.loads(res.stdout)
        for (name, ver), info in zip(packages, packed, strict=True):
            _extract(Path(work) / info["filename"], _package_dir(cache_dir, name, ver))


def prepare_assets(cache_dir: Path | None = None, fetch: bool = True,
                   log: Callable[[str], None] | None = None) -> dict[str, str]:
    """Make sure Solara's browser assets are cached; return the server's environment.

    Never raises: when the assets cannot be fetched, ``log`` says so and the Solara server
    falls back to the public CDN.
    """
    if cache_dir is None:
        preset = os.environ.get("SOLARA_ASSETS_PROXY_CACHE_DIR")
        cache_dir = Path(preset) if preset else default_cache_dir()
    cache_dir = Path(cache_dir)
    env = dict(os.environ)
    env["SOLARA_ASSETS_PROXY_CACHE_DIR"] = str(cache_dir)
    missing = missing_packages(cache_dir)
    if missing and fetch:
        names = ", ".join(f"{n}@{v}" for n, v in missing)
        if log:
            log(f"fetching Solara's browser assets from the npm registry into {cache_dir}: {names}")
        try:
            fetch_packages(missing, cache_dir)
        except (RuntimeError, OSError, subprocess.SubprocessError, ValueError, KeyError) as err:
            if log:
                log(f"could not fetch them ({err}); the page will need the public CDN")
    return env
