"""Files cartui ships and where it keeps its default database."""

import json
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path

from platformdirs import user_data_path

from .domain import Catalog

DB_ENV_VAR = "CARTUI_DB"


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """The product catalog shipped in data/catalog.json (package data cartui.data)."""
    return Catalog.from_records(json.loads(read_data_file("catalog.json")))


def read_data_file(name: str) -> str:
    """A file of data/: package data when installed, the checkout's data/ when
    cartui is imported straight from a source tree."""
    try:
        return resources.files("cartui.data").joinpath(name).read_text(encoding="utf-8")
    except ModuleNotFoundError:
        return (Path(__file__).resolve().parent.parent / "data" / name).read_text(encoding="utf-8")


def default_db_path() -> Path:
    """`$CARTUI_DB`, else cartui.db in the user's data directory
    (~/.local/share/cartui on Linux, ~/Library/Application Support/cartui on macOS)."""
    return Path(os.environ.get(DB_ENV_VAR) or user_data_path("cartui") / "cartui.db")


def builtin_default_db_path() -> Path:
    return user_data_path("cartui") / "cartui.db"
