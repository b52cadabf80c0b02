"""The README's SQL API tables are generated from the database: they must match it."""

from hotelcore_tools import docs


def test_readme_sections_match_the_database(fresh_db: str):
    text = docs.README.read_text()
    for name in docs.SECTIONS:
        assert f"<!-- {name}:start -->" in text and f"<!-- {name}:end -->" in text, name
    assert docs.render(fresh_db, text) == text, "README is out of date: run `make docs`"
