"""SQLAlchemy 2 (psycopg 3 dialect) against `neuraldb serve`: Core DDL and
DML, reflection through the inspector, the ORM, and server-side prepared
statements for every statement.

Usage: python3 test_sqlalchemy.py PORT
Prints one line per test and a closing "N passed, M failed".
"""

import datetime
import decimal
import sys
import traceback
import uuid

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    create_engine,
    delete,
    func,
    inspect,
    insert,
    select,
    text,
    update,
)
from sqlalchemy import exc, types
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    joinedload,
    mapped_column,
    relationship,
    selectinload,
)

PORT = sys.argv[1]
URL = f"postgresql+psycopg://postgres@127.0.0.1:{PORT}/postgres"
TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def engine(**kw):
    return create_engine(URL, **kw)


def core_metadata():
    md = MetaData()
    Table(
        "sa_author",
        md,
        Column("id", Integer, primary_key=True),  # serial
        Column("name", String(50), nullable=False),
        Column("email", String(100)),
        Column("active", Boolean, nullable=False, server_default=text("true")),
        Column("created", DateTime(timezone=True), server_default=func.now()),
        UniqueConstraint("email", name="sa_author_email_key"),
        CheckConstraint("length(name) > 0", name="sa_author_name_check"),
    )
    Table(
        "sa_book",
        md,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("author_id", Integer, ForeignKey("sa_author.id", ondelete="CASCADE"), nullable=False),
        Column("title", Text, nullable=False),
        Column("price", Numeric(10, 2), server_default="9.99"),
        Column("meta", JSONB),
        Column("ratings", ARRAY(Integer)),
        Column("isbn", Uuid),
        Column("cover", LargeBinary),
        Index("ix_sa_book_title", "title"),
    )
    return md


@test
def core_create_all_and_dml():
    eng = engine()
    md = core_metadata()
    md.drop_all(eng)
    md.create_all(eng)
    author, book = md.tables["sa_author"], md.tables["sa_book"]
    try:
        with eng.begin() as c:
            aid = c.execute(
                insert(author).values(name="Ann", email="ann@example.com").returning(author.c.id)
            ).scalar_one()
            row = c.execute(select(author).where(author.c.id == aid)).one()
            assert row.name == "Ann" and row.active is True, row
            assert isinstance(row.created, datetime.datetime) and row.created.tzinfo is not None, row
            isbn = uuid.uuid4()
            ins = c.execute(
                insert(book)
                .values(
                    author_id=aid, title="First", meta={"tags": ["a", "b"], "n": 1},
                    ratings=[5, 4], isbn=isbn, cover=b"\x00\x01\xff",
                )
                .returning(book.c.id, book.c.price)
            ).one()
            assert ins.price == decimal.Decimal("9.99"), ins
            got = c.execute(select(book).where(book.c.id == ins.id)).one()
            assert got.meta == {"tags": ["a", "b"], "n": 1}, got
            assert got.ratings == [5, 4] and got.isbn == isbn and got.cover == b"\x00\x01\xff", got
            # executemany
            c.execute(
                insert(book),
                [{"author_id": aid, "title": f"T{i}", "price": decimal.Decimal(f"{i}.50")} for i in range(5)],
            )
            assert c.execute(select(func.count()).select_from(book)).scalar() == 6
            # JSONB and ARRAY operators with bound parameters
            assert c.execute(select(book.c.title).where(book.c.meta["n"].as_integer() == 1)).scalar() == "First"
            assert c.execute(select(book.c.title).where(book.c.ratings.contains([4]))).scalar() == "First"
            c.execute(update(book).where(book.c.title == "T1").values(price=book.c.price + 1))
            assert c.execute(select(book.c.price).where(book.c.title == "T1")).scalar() == decimal.Decimal("2.50")
            c.execute(delete(book).where(book.c.title.in_(["T2", "T3"])))
            assert c.execute(select(func.count()).select_from(book)).scalar() == 4
            # upsert
            stmt = postgresql.insert(author).values(id=aid, name="Ann B", email="ann@example.com")
            stmt = stmt.on_conflict_do_update(index_elements=[author.c.id], set_={"name": stmt.excluded.name})
            c.execute(stmt)
            stmt = postgresql.insert(author).values(name="Other", email="ann@example.com")
            stmt = stmt.on_conflict_do_update(
                constraint="sa_author_email_key", set_={"name": stmt.excluded.name + "!"}
            ).returning(author.c.id, author.c.name)
            assert c.execute(stmt).one() == (aid, "Other!")
            stmt = postgresql.insert(author).values(id=aid, name="X").on_conflict_do_nothing()
            c.execute(stmt)
            assert c.execute(select(author.c.name).where(author.c.id == aid)).scalar() == "Other!"
            # ON DELETE CASCADE
            c.execute(delete(author).where(author.c.id == aid))
            assert c.execute(select(func.count()).select_from(book)).scalar() == 0
        # An integrity error rolls the transaction back.
        try:
            with eng.begin() as c:
                c.execute(insert(author).values(name="A", email="dup@example.com"))
                c.execute(insert(author).values(name="B", email="dup@example.com"))
            raise AssertionError("no error")
        except exc.IntegrityError as e:
            assert e.orig.sqlstate == "23505", e
        with eng.connect() as c:
            assert c.execute(select(func.count()).select_from(author)).scalar() == 0
    finally:
        md.drop_all(eng)
        assert not inspect(eng).has_table("sa_book")
        eng.dispose()


@test
def reflection():
    eng = engine()
    md = core_metadata()
    md.drop_all(eng)
    md.create_all(eng)
    try:
        insp = inspect(eng)
        names = insp.get_table_names()
        assert "sa_author" in names and "sa_book" in names, names
        assert insp.has_table("sa_author") and not insp.has_table("sa_nope")
        assert "public" in insp.get_schema_names() and insp.default_schema_name == "public"

        cols = {c["name"]: c for c in insp.get_columns("sa_author")}
        assert list(cols) == ["id", "name", "email", "active", "created"], list(cols)
        assert isinstance(cols["id"]["type"], types.INTEGER) and cols["id"]["autoincrement"] is True, cols["id"]
        assert "nextval" in cols["id"]["default"], cols["id"]
        assert isinstance(cols["name"]["type"], types.VARCHAR) and cols["name"]["type"].length == 50
        assert cols["name"]["nullable"] is False and cols["email"]["nullable"] is True
        assert cols["active"]["default"] == "true", cols["active"]
        assert isinstance(cols["created"]["type"], types.TIMESTAMP) and cols["created"]["type"].timezone is True
        assert cols["created"]["default"] == "now()", cols["created"]

        bcols = {c["name"]: c for c in insp.get_columns("sa_book")}
        assert isinstance(bcols["id"]["type"], types.BIGINT) and bcols["id"]["autoincrement"] is True
        assert "identity" in bcols["id"] and bcols["id"]["identity"]["always"] is False, bcols["id"]
        assert isinstance(bcols["title"]["type"], types.TEXT)
        price = bcols["price"]
        assert isinstance(price["type"], types.NUMERIC) and (price["type"].precision, price["type"].scale) == (10, 2)
        assert price["default"] == "9.99", price
        assert isinstance(bcols["meta"]["type"], JSONB), bcols["meta"]
        assert isinstance(bcols["ratings"]["type"], postgresql.ARRAY), bcols["ratings"]
        assert isinstance(bcols["ratings"]["type"].item_type, types.INTEGER)
        assert isinstance(bcols["isbn"]["type"], types.UUID), bcols["isbn"]
        assert isinstance(bcols["cover"]["type"], postgresql.BYTEA), bcols["cover"]
        assert isinstance(cols["active"]["type"], types.BOOLEAN)

        pk = insp.get_pk_constraint("sa_author")
        assert (pk["name"], pk["constrained_columns"]) == ("sa_author_pkey", ["id"]), pk
        fks = insp.get_foreign_keys("sa_book")
        assert len(fks) == 1, fks
        fk = fks[0]
        assert fk["constrained_columns"] == ["author_id"] and fk["referred_table"] == "sa_author", fk
        assert fk["referred_columns"] == ["id"] and fk["name"] == "sa_book_author_id_fkey", fk
        assert fk["options"].get("ondelete") == "CASCADE", fk
        idx = insp.get_indexes("sa_book")
        assert [(i["name"], i["column_names"], i["unique"]) for i in idx] == [
            ("ix_sa_book_title", ["title"], False)
        ], idx
        uqs = insp.get_unique_constraints("sa_author")
        assert [(u["name"], u["column_names"]) for u in uqs] == [("sa_author_email_key", ["email"])], uqs
        # The unique constraint's index is reported as such.
        aidx = insp.get_indexes("sa_author")
        assert [(i["name"], i["unique"], i.get("duplicates_constraint")) for i in aidx] == [
            ("sa_author_email_key", True, "sa_author_email_key")
        ], aidx
        checks = insp.get_check_constraints("sa_author")
        assert [c["name"] for c in checks] == ["sa_author_name_check"], checks
        assert "length" in checks[0]["sqltext"], checks

        # MetaData.reflect rebuilds equivalent tables.
        md2 = MetaData()
        md2.reflect(eng, only=["sa_author", "sa_book"])
        a2, b2 = md2.tables["sa_author"], md2.tables["sa_book"]
        assert [c.name for c in a2.primary_key] == ["id"]
        assert [c.name for c in b2.primary_key] == ["id"]
        fk2 = list(b2.foreign_keys)
        assert len(fk2) == 1 and fk2[0].column is a2.c.id and fk2[0].ondelete == "CASCADE"
        assert {i.name for i in b2.indexes} == {"ix_sa_book_title"}
        assert b2.c.title.nullable is False and isinstance(b2.c.meta.type, JSONB)
        # A reflected table is usable.
        with eng.begin() as c:
            aid = c.execute(insert(a2).values(name="R").returning(a2.c.id)).scalar_one()
            c.execute(insert(b2).values(author_id=aid, title="Reflected"))
            assert c.execute(select(b2.c.title, b2.c.price)).one() == ("Reflected", decimal.Decimal("9.99"))
    finally:
        md.drop_all(eng)
        eng.dispose()


class Base(DeclarativeBase):
    pass


class Parent(Base):
    __tablename__ = "sa_parent"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    children: Mapped[list["Child"]] = relationship(
        back_populates="parent", cascade="all, delete-orphan", order_by="Child.id"
    )


class Child(Base):
    __tablename__ = "sa_child"
    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("sa_parent.id"))
    name: Mapped[str]
    parent: Mapped[Parent] = relationship(back_populates="children")


def orm_round_trip(eng):
    Base.metadata.drop_all(eng)
    Base.metadata.create_all(eng)
    try:
        with Session(eng) as s:
            p = Parent(name="p1", children=[Child(name="c1"), Child(name="c2")])
            s.add_all([p, Parent(name="p2", children=[Child(name="c3")])])
            s.commit()
            pid = p.id
            assert [c.name for c in p.children] == ["c1", "c2"]
        with Session(eng) as s:
            ps = s.scalars(select(Parent).options(joinedload(Parent.children)).order_by(Parent.id)).unique().all()
            assert [(x.name, [c.name for c in x.children]) for x in ps] == [("p1", ["c1", "c2"]), ("p2", ["c3"])]
            ps = s.scalars(select(Parent).options(selectinload(Parent.children)).where(Parent.name == "p2")).all()
            assert [c.parent.name for c in ps[0].children] == ["p2"]
            # delete-orphan: removing a child from the collection deletes it.
            p1 = s.get(Parent, pid)
            p1.children.pop(0)
            s.commit()
            assert s.scalar(select(func.count()).select_from(Child)) == 2
            # IntegrityError, rollback, then the same session goes on.
            s.add(Parent(name="p1"))
            try:
                s.commit()
                raise AssertionError("no error")
            except exc.IntegrityError as e:
                assert e.orig.sqlstate == "23505", e
            s.rollback()
            s.add(Parent(name="p3", children=[Child(name="c4")]))
            s.commit()
            # merge: an existing row is updated, a new one inserted.
            merged = s.merge(Parent(id=pid, name="p1-merged"))
            s.merge(Parent(id=1000, name="p1000"))
            s.commit()
            assert merged.name == "p1-merged"
            names = s.scalars(select(Parent.name).order_by(Parent.id)).all()
            assert names == ["p1-merged", "p2", "p3", "p1000"], names
            # cascade: deleting a parent deletes its children.
            s.delete(s.get(Parent, pid))
            s.commit()
            assert s.scalars(select(Child.name).order_by(Child.id)).all() == ["c3", "c4"]
            joined = s.execute(
                select(Parent.name, func.count(Child.id)).join(Parent.children).group_by(Parent.name).order_by(Parent.name)
            ).all()
            assert joined == [("p2", 1), ("p3", 1)], joined
    finally:
        Base.metadata.drop_all(eng)


@test
def orm_session():
    eng = engine()
    try:
        orm_round_trip(eng)
    finally:
        eng.dispose()


@test
def prepared_statements_for_everything():
    # prepare_threshold=0: psycopg prepares every statement on the server.
    eng = engine(connect_args={"prepare_threshold": 0})
    md = core_metadata()
    try:
        md.drop_all(eng)
        md.create_all(eng)
        author = md.tables["sa_author"]
        with eng.begin() as c:
            for i in range(3):
                c.execute(insert(author).values(name=f"n{i}", email=f"{i}@x"))
            got = c.execute(select(author.c.name).where(author.c.email == "1@x")).scalar()
            assert got == "n1"
            # psycopg prepares (Parse with a name) every statement it sends.
            raw = c.connection.dbapi_connection
            assert raw.prepare_threshold == 0 and raw._prepared._names, raw._prepared
        insp = inspect(eng)
        assert [c["name"] for c in insp.get_columns("sa_author")][:2] == ["id", "name"]
        assert insp.get_foreign_keys("sa_book")[0]["referred_table"] == "sa_author"
        md.drop_all(eng)
        orm_round_trip(eng)
    finally:
        md.drop_all(eng)
        eng.dispose()


@test
def schemas_and_temp_tables():
    # Tables in a schema of their own (MetaData(schema=...)), reflected by
    # schema; search_path; a temporary table private to its connection.
    eng = engine()
    md = MetaData(schema="sa_app")
    Table("sa_owner", md, Column("id", Integer, primary_key=True), Column("name", Text))
    Table(
        "sa_pet",
        md,
        Column("id", Integer, primary_key=True),
        Column("owner_id", ForeignKey("sa_app.sa_owner.id")),
        Column("name", Text, nullable=False),
    )
    try:
        with eng.begin() as c:
            c.execute(text("DROP SCHEMA IF EXISTS sa_app CASCADE"))
            c.execute(text("CREATE SCHEMA sa_app"))
        md.create_all(eng)
        owner, pet = md.tables["sa_app.sa_owner"], md.tables["sa_app.sa_pet"]
        with eng.begin() as c:
            c.execute(insert(owner).values(id=1, name="Ada"))
            c.execute(insert(pet).values(id=1, owner_id=1, name="Rex"))
            got = c.execute(select(pet.c.name, owner.c.name).join(owner)).all()
            assert got == [("Rex", "Ada")], got
        insp = inspect(eng)
        assert "sa_app" in insp.get_schema_names()
        assert insp.get_table_names(schema="sa_app") == ["sa_owner", "sa_pet"]
        assert "sa_owner" not in insp.get_table_names()
        fk = insp.get_foreign_keys("sa_pet", schema="sa_app")[0]
        assert (fk["referred_schema"], fk["referred_table"]) == ("sa_app", "sa_owner"), fk
        reflected = MetaData()
        reflected.reflect(eng, schema="sa_app")
        assert sorted(reflected.tables) == ["sa_app.sa_owner", "sa_app.sa_pet"]
        with eng.connect() as c:
            c.execute(text("SET search_path TO sa_app, public"))
            assert c.execute(text("SELECT name FROM sa_pet")).scalar() == "Rex"
            assert c.execute(text("SELECT current_schema()")).scalar() == "sa_app"
            c.execute(text("CREATE TEMP TABLE sa_scratch (x int)"))
            c.execute(text("INSERT INTO sa_scratch VALUES (1)"))
            c.commit()
            with eng.connect() as other:
                try:
                    other.execute(text("SELECT * FROM sa_scratch"))
                    raise AssertionError("another connection sees the temporary table")
                except exc.ProgrammingError as e:
                    assert e.orig.sqlstate == "42P01", e
            assert c.execute(text("SELECT count(*) FROM sa_scratch")).scalar() == 1
    finally:
        with eng.begin() as c:
            c.execute(text("DROP SCHEMA IF EXISTS sa_app CASCADE"))
        eng.dispose()


def main():
    passed = failed = 0
    for fn in TESTS:
        try:
            fn()
            passed += 1
            print(f"ok   {fn.__name__}")
        except Exception:
            failed += 1
            print(f"FAIL {fn.__name__}")
            traceback.print_exc()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


main()
