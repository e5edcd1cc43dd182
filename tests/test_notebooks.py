"""The notebooks in ``notebooks/``: stored clean, and each runs top to bottom without error.

Each notebook is executed with nbclient in fast mode (``GOVSIM_NB_FAST=1``: tiny runs, same
code path) with its own directory as working directory, and writes its results under a
temporary directory (``GOVSIM_NB_OUT``). The kernel is this interpreter: a throw-away
kernelspec in a temporary directory points at ``sys.executable``, so neither a globally
registered ``python3`` kernel nor any other Python on the machine can be picked up.
"""

import json
import sys
from pathlib import Path

import pytest

from conftest import ROOT

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
KERNEL = "govsim-test-kernel"
CELL_TIMEOUT = 300  # seconds per cell


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory) -> Path:
    """A kernelspec directory holding one kernel that runs this very interpreter."""
    root = tmp_path_factory.mktemp("kernels")
    spec = root / KERNEL
    spec.mkdir()
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "govsim tests",
        "language": "python",
    }))
    return root


@pytest.fixture
def fast_env(monkeypatch, tmp_path):
    monkeypatch.setenv("GOVSIM_NB_FAST", "1")
    monkeypatch.setenv("GOVSIM_NB_OUT", str(tmp_path / "out"))
    return tmp_path


def execute(nb, cwd: Path, kernel_dir: Path):
    """Run every cell of ``nb`` in place (raises CellExecutionError on the first error)."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    km = AsyncKernelManager(kernel_name=KERNEL,
                            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dir)]))
    client = nbclient.NotebookClient(nb, km=km, timeout=CELL_TIMEOUT, allow_errors=False,
                                     resources={"metadata": {"path": str(cwd)}})
    client.execute(cleanup_kc=True)  # shut the kernel down afterwards although we made its manager
    return nb


def test_there_are_notebooks():
    names = [p.name for p in NOTEBOOKS]
    assert {"01_compare_regimes.ipynb", "02_scenario_sweep.ipynb", "03_teaching.ipynb",
            "04_policy_rollout.ipynb", "05_discovery_calibration.ipynb"} <= set(names)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_clean(path):
    """Notebooks are committed without outputs or execution counts."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: cell {i} has stored outputs"
            assert cell.execution_count is None, f"{path.name}: cell {i} has an execution count"
    assert "widgets" not in nb.metadata, f"{path.name}: stored widget state"


def test_kernel_is_this_interpreter(kernel_dir, fast_env):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os, sys\nprint(sys.executable)\nprint(sys.prefix)\nprint(os.environ.get('GOVSIM_NB_FAST'))"
    )])
    execute(nb, fast_env, kernel_dir)
    executable, prefix, fast = nb.cells[0].outputs[0]["text"].split()
    assert Path(executable).resolve() == Path(sys.executable).resolve()
    assert prefix == sys.prefix
    assert fast == "1"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, kernel_dir, fast_env):
    nb = nbformat.read(path, as_version=4)
    execute(nb, path.parent, kernel_dir)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
                 for o in c.outputs)
    assert images >= 2, f"{path.name}: expected figures in the outputs, got {images}"
