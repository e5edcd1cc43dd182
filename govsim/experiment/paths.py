"""Where files may be written: only inside the output folder chosen on the command line.

Input files (scenarios, experiments, calibrations) name things, not places. A name becomes a
folder or file name only through :func:`safe_name`; a path an input file gives (the
calibration's ``output``) is accepted only as a plain relative name inside the output folder
(:func:`inside`). Existing files are overwritten only when the command line says ``--force``
(:func:`refuse_overwrite`), and every write replaces the file atomically, so a symbolic link
planted in the output folder is replaced, never followed (:func:`atomic_write_bytes`).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

from govsim.scenario import ScenarioError

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$")


def safe_name(name: str, default: str = "unnamed") -> str:
    """A name as a single, harmless folder or file name: letters, digits, ``._-`` only;
    no leading dot, no separators, at most 100 characters (``../../x`` -> ``x``)."""
    text = _UNSAFE.sub("_", str(name)).strip("._-")
    text = re.sub(r"\.{2,}", ".", text)[:100].strip("._-")
    return text or default


def inside(root: str | Path, rel: str, *, where: str, field: str) -> Path:
    """``root / rel`` if ``rel`` is a plain relative path that stays inside ``root``."""
    allowed = "allowed: a relative file name inside the output folder (letters, digits, ._-; no '..')"
    text = str(rel)
    parts = PurePosixPath(text).parts
    if (not text.strip() or text.startswith(("/", "\\", "~")) or "\\" in text or ":" in text
            or not parts or not all(_PART.match(p) for p in parts)):
        raise ScenarioError(f"{where}: {field} = {text!r} leaves or misnames the output folder; {allowed}")
    root = Path(root)
    target = root.joinpath(*parts)
    real_root = root.resolve()
    if not target.resolve().is_relative_to(real_root):  # a planted symbolic link
        raise ScenarioError(f"{where}: {field} = {text!r} resolves outside {root}; {allowed}")
    return target


def refuse_overwrite(paths: Iterable[Path], force: bool, what: str = "--force to overwrite") -> None:
    """One-line error if any of ``paths`` exists and ``--force`` was not given."""
    if force:
        return
    existing = [p for p in paths if p.exists() or p.is_symlink()]
    if existing:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise ScenarioError(f"{existing[0]}: exists{more}; allowed: {what}, or another --out")


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place.

    The temporary file is removed if anything fails (full disk, interruption), so no
    ``.tmp`` file is left behind; the rename replaces a symbolic link instead of following it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: Path, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def check_writable(out: Path, flag: str = "--out") -> None:
    """Fail before any work if ``out`` cannot be made a folder or written into."""
    if out.exists() and not out.is_dir():
        raise ScenarioError(f"{flag} {out}: exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ScenarioError(f"{flag} {out}: cannot create directory ({err.strerror})") from None
    try:
        fd, name = tempfile.mkstemp(prefix=".govsim-write-test.", suffix=".tmp", dir=out)
        os.close(fd)
        os.unlink(name)
    except OSError as err:
        raise ScenarioError(f"{flag} {out}: cannot write here ({err.strerror})") from None
