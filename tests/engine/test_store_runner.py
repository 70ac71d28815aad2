"""The store's runner: prebuilt statements on the driver's cursor give what SQLAlchemy's
own execution gives (defaults, bind processing, the same rows, as plain tuples), others
go through SQLAlchemy, and driver errors leave as SQLAlchemy's errors. On SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from gitsync.engine.store.runner import Bound, Runner

metadata = sa.MetaData()
items = sa.Table(
    "items",
    metadata,
    sa.Column("name", sa.String, primary_key=True),
    sa.Column("size", sa.Double, nullable=False),
    sa.Column("data", sa.LargeBinary),
    sa.Column("count", sa.Integer, nullable=False, server_default="0"),
)
add = items.insert().values(name=sa.bindparam("p_name"), size=sa.bindparam("p_size"))
add_raw = items.insert()
bump = items.update().values(count=items.c.count + 1).where(items.c.name == sa.bindparam("p_name"))
by_name = sa.select(items.c.name, items.c.size, items.c.count).where(
    items.c.name == sa.bindparam("p_name")
)
names = sa.select(items.c.name).order_by(items.c.name)
data_of = sa.select(items.c.data).where(items.c.name == sa.bindparam("p_name"))


@pytest.fixture
def conn(tmp_path: Path, store_url: str | None) -> Iterator[sa.Connection]:
    if store_url is None:
        url = f"sqlite:///{tmp_path / 'runner.db'}"
    else:
        url = store_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    metadata.create_all(engine)
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def test_prebuilt_statements_give_what_sqlalchemy_gives(conn: sa.Connection) -> None:
    runner = Runner(conn.dialect, [add, add_raw, bump, by_name, names, data_of])
    bound = Bound(conn, runner)
    with conn.begin():
        bound.execute(add, {"p_name": "a", "p_size": 3})  # an int, stored as a double
        bound.execute(
            add_raw,
            [
                {"name": "b", "size": 1.5, "data": b"\x00\xff"},
                {"name": "c", "size": 2.0, "data": None},
            ],
        )
        assert bound.execute(bump, {"p_name": "a"}).rowcount == 1
    row = bound.execute(by_name, {"p_name": "a"}).first()
    assert row == conn.execute(by_name, {"p_name": "a"}).first()
    assert tuple(row) == ("a", 3.0, 1)
    assert isinstance(row[1], float)
    assert bound.execute(names).scalars().all() == ["a", "b", "c"]
    assert bytes(bound.execute(data_of, {"p_name": "b"}).scalar_one()) == b"\x00\xff"
    assert bound.execute(by_name, {"p_name": "zz"}).scalar() is None


def test_statements_built_for_one_call_go_through_sqlalchemy(conn: sa.Connection) -> None:
    bound = Bound(conn, Runner(conn.dialect, [names]))
    with conn.begin():
        bound.execute(add_raw, {"name": "x", "size": 1.0})
    result = bound.execute(sa.select(items.c.name))
    assert isinstance(result, sa.CursorResult)
    assert result.scalars().all() == ["x"]


def test_a_driver_error_is_raised_as_sqlalchemy_raises_it(conn: sa.Connection) -> None:
    bound = Bound(conn, Runner(conn.dialect, [add]))
    with conn.begin():
        bound.execute(add, {"p_name": "a", "p_size": 1.0})
    with pytest.raises(sa.exc.IntegrityError) as caught, conn.begin():
        bound.execute(add, {"p_name": "a", "p_size": 2.0})
    assert isinstance(caught.value.orig, conn.dialect.loaded_dbapi.Error)
    assert not conn.invalidated  # a refused statement is not a lost connection
    assert bound.execute(by_name, {"p_name": "a"}).first()[1] == 1.0
