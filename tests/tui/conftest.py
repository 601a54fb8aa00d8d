"""Deterministic apps for Pilot tests and snapshots: the demo history, a fixed
clock, numbered ids and steady cursors."""

import itertools
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from cartui.demo import write_demo
from cartui.history import History
from cartui.projections.projector import Projector
from cartui.resources import load_catalog
from cartui.service import CartService
from cartui.store import EventStore
from cartui.tui.app import CartuiApp, open_app_store

# The demo week ends on Sunday 2026-01-11; "now" is the Monday after.
NOW = datetime(2026, 1, 12, 9, 0, tzinfo=timezone.utc)


class StepClock:
    """A clock one second further on each time it is read: distinct, repeatable times."""

    def __init__(self, start: datetime = NOW) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def numbered_ids():
    counter = itertools.count(1)
    return lambda: f"00000000-0000-4000-8000-{next(counter):012d}"


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """The demo history with its projections caught up (as `cartui demo` leaves it),
    written once per session; tests get a copy."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    with EventStore(path) as store:
        write_demo(store, load_catalog())
        Projector(store).catch_up()
    return path


@pytest.fixture
def demo_db(demo_template, tmp_path) -> Path:
    path = tmp_path / "cartui.db"
    shutil.copy(demo_template, path)
    return path


@pytest.fixture
def empty_db(tmp_path) -> Path:
    return tmp_path / "empty.db"


def make_app(db_path: Path, **options) -> CartuiApp:
    """The app on a database, with every source of variation pinned."""
    store = open_app_store(db_path, clock=StepClock(), synchronous="NORMAL")
    catalog = load_catalog()
    service = CartService(store, catalog, new_id=numbered_ids())
    options.setdefault("cursor_blink", False)
    options.setdefault("clock", lambda: NOW)
    return CartuiApp(store, service, History(store, service), catalog=catalog, **options)


@pytest.fixture
def cartui_app():
    """make_app, for tests that build apps with options."""
    return make_app


@pytest.fixture
def demo_app(demo_db) -> CartuiApp:
    app = make_app(demo_db)
    yield app
    app.store.close()


@pytest.fixture
def empty_app(empty_db) -> CartuiApp:
    app = make_app(empty_db)
    yield app
    app.store.close()
