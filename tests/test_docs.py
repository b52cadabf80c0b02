"""The SQL API page's tables are generated from the database: they must match it."""

import re

from hotelcore_tools import docs


def test_sql_api_page_matches_the_database(fresh_db: str):
    text = docs.PAGE.read_text()
    for name in docs.SECTIONS:
        assert f"<!-- {name}:start -->" in text and f"<!-- {name}:end -->" in text, name
    assert docs.render(fresh_db, text) == text, "docs/sql-api.md is out of date: run `make docs`"


def test_every_relative_link_of_the_readme_and_the_pages_exists():
    root = docs.PAGE.parent.parent
    for page in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links {target}, which does not exist"
