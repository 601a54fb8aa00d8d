"""A regular (non-editable) install works: the wheel carries the catalog, every
module and every stylesheet, and the installed package finds its catalog.

Builds one wheel, offline, with the venv's own setuptools (about a second).
Runs in CI like every other test; `-m "not packaging"` leaves it out locally.
"""

import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A copy of what the build reads, so that building never writes into the
    working tree (build/, *.egg-info) that other runs share."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for name in ("cartui", "data"):
        shutil.copytree(ROOT / name, src / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return src


@pytest.fixture(scope="module")
def wheel(source, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "-q", "-w", str(out), str(source)],
        capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, f"the wheel did not build:\n{build.stdout}\n{build.stderr}"
    [built] = out.glob("cartui-*.whl")
    return built


@pytest.fixture(scope="module")
def names(wheel) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_the_wheel_ships_a_valid_catalog(wheel, names):
    assert "cartui/data/catalog.json" in names
    with zipfile.ZipFile(wheel) as archive:
        products = json.loads(archive.read("cartui/data/catalog.json"))
    assert len(products) >= 30
    assert len({p["category"] for p in products}) >= 5
    for p in products:
        assert {"sku", "name", "price_cents", "category"} <= set(p), p
        assert isinstance(p["sku"], str) and p["sku"].strip() == p["sku"] != "", p
        assert isinstance(p["name"], str) and p["name"].strip(), p
        assert type(p["price_cents"]) is int and p["price_cents"] > 0, p
        assert isinstance(p["category"], str) and p["category"].strip(), p
    assert len({p["sku"] for p in products}) == len(products), "a sku is listed twice"


def test_the_wheel_ships_every_module_and_stylesheet(source, names):
    # A subpackage missing from [tool.setuptools] packages, or a .tcss missing
    # from package-data, works in the editable checkout and breaks on install.
    shipped = {path.relative_to(source).as_posix()
               for pattern in ("*.py", "*.tcss") for path in (source / "cartui").rglob(pattern)}
    assert shipped - names == set()


def test_the_console_script_points_into_the_wheel(wheel, names):
    [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    with zipfile.ZipFile(wheel) as archive:
        scripts = dict(line.replace(" ", "").split("=") for line in
                       archive.read(entry_points).decode().splitlines() if "=" in line)
    module = scripts["cartui"].split(":")[0].replace(".", "/")
    assert {f"{module}.py", f"{module}/__init__.py"} & names, f"`cartui` runs {module}, not in the wheel"


def test_an_installed_wheel_finds_its_catalog(wheel, tmp_path):
    installed = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(installed)  # what pip puts in site-packages for a pure wheel
    # -S: no site.py, so no .pth file and no editable-install finder pointing
    # back at the checkout; dependencies come from the venv's site-packages.
    script = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
        "import cartui, cartui.resources as r\n"
        "assert cartui.__file__.startswith(sys.argv[1]), cartui.__file__\n"
        "catalog = r.load_catalog()\n"
        "print(len(catalog), len(catalog.categories()))\n"
    )
    run = subprocess.run([sys.executable, "-S", "-c", script, str(installed),
                          sysconfig.get_paths()["purelib"]],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    products, categories = map(int, run.stdout.split())
    assert products >= 30 and categories >= 5
