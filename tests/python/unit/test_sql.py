"""The one quoting function: any text is read back as exactly one literal or name."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xdr_warehouse.sql import quote_identifier, quote_literal

HOSTILE = [
    "o'neil; drop table x.csv",
    "a'); copy (select 42 as x) to 'pwned.csv'; --.csv",
    "back\\slash\\'",
    "semi;colon -- comment /* block */",
    "new\nline\r\nand\ttab",
    "Société Générale ☎ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "''''",
    '"double" quotes',
]
TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)))


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_one_literal(con: duckdb.DuckDBPyConnection, text: str) -> None:
    assert con.execute(f"select {quote_literal(text)}").fetchall() == [(text,)]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_name_is_one_identifier(con: duckdb.DuckDBPyConnection, name: str) -> None:
    cursor = con.execute(f"select 1 as {quote_identifier(name)}")
    assert [d[0] for d in cursor.description] == [name]


@settings(max_examples=300, deadline=None)
@given(text=TEXT)
def test_any_text_is_read_back_exactly(text: str) -> None:
    with duckdb.connect() as con:
        assert con.execute(f"select {quote_literal(text)} as value").fetchall() == [(text,)]
        if text:
            cursor = con.execute(f"select 1 as {quote_identifier(text)}")
            assert cursor.description[0][0] == text


def test_nul_is_refused() -> None:
    with pytest.raises(ValueError, match="NUL"):
        quote_literal("a\x00b")
    with pytest.raises(ValueError, match="NUL"):
        quote_identifier("a\x00b")
