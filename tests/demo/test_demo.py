"""The demo: a short season (one hotel, a week) through the api, its invariants, its HTML report
as a browser shows it, and the same figures for the same seed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from hotelcore_tools import demo

# One hotel, a week of nights after a week and a half of sales: small enough for the suite.
SHORT = demo.DemoSpec(hotels=1, days=7, seed=7, rooms=24, room_types=5, members=150, presale_days=10)
TINY = demo.DemoSpec(hotels=1, days=3, seed=11, rooms=12, room_types=4, members=60, presale_days=6)

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def short_season(server_url: str, template_db: str, tmp_path_factory: pytest.TempPathFactory):
    """The short demo, run once for the module on its own database cloned from the template."""
    from tests.conftest import create_database, drop_database

    name = f"{template_db}_demo"
    url = create_database(server_url, name, template=template_db)
    try:
        result = demo.run(url, SHORT)
    finally:
        drop_database(server_url, name)
    result.html_path = demo.write_html(result, tmp_path_factory.mktemp("demo") / "demo-report.html")
    return result


def test_short_season_keeps_every_invariant(short_season: demo.DemoResult):
    inv = short_season.invariants
    assert short_season.ok, inv
    for name in ("oversold_nights", "drifted_nights", "overlapping_stays", "unbalanced_closed_folios"):
        assert inv[name] == 0, name
    assert inv["nights_checked"] > 0 and inv["folios_checked"] > 0


def test_short_season_did_the_whole_day(short_season: demo.DemoResult):
    counts = short_season.counts
    for what in (
        "bookings",
        "check-ins",
        "check-outs",
        "night audits",
        "rooms cleaned",
        "stays earning points",
        "service orders",
        "service orders delivered",
    ):
        assert counts.get(what, 0) > 0, what
    kpi = short_season.reports["kpi"][0]
    assert 0 < kpi["occupancy"] <= 1
    assert kpi["room_revenue"] > 0 and kpi["adr"] > 0 and kpi["revpar"] > 0
    assert sum(r["members"] for r in short_season.reports["ranks"]) == SHORT.member_count


def test_the_report_opens_offline(short_season: demo.DemoResult):
    html = Path(short_season.html_path).read_text()
    assert html.count("<svg") == 4
    for chart in ('id="heatmap"', 'id="tape"', 'id="revenue"', 'id="ranks"'):
        assert chart in html
    # nothing is fetched: no script, no stylesheet or image from elsewhere
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html


def test_the_season_orders_room_service_and_spa_and_the_report_shows_service_revenue(
    short_season: demo.DemoResult,
):
    by_category = {r["category"]: r for r in short_season.reports["service_revenue"]}
    assert set(by_category) == {"room_service", "spa"}
    assert all(
        r["orders"] > 0 and r["gross"] > 0 and r["gross"] == r["net"] + r["tax"] for r in by_category.values()
    )
    html = Path(short_season.html_path).read_text()
    assert "service revenue per hotel and category" in html
    assert html.count('<tr><td class="l">') >= 2 and ">room_service<" in html and ">spa<" in html


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _near(pixel: tuple[int, ...], colour: str, tolerance: int = 3) -> bool:
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], rgb, strict=True))


def test_the_report_charts_are_drawn_in_a_browser(short_season: demo.DemoResult, tmp_path: Path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium found (install Debian's chromium package to run this test)")
    image = pytest.importorskip("PIL.Image", reason="Pillow (dev extra) decodes the screenshot")
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1280,2000",
            Path(short_season.html_path).resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    with image.open(shot) as img:
        pixels = img.convert("RGB")
        colours = pixels.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50, "the screenshot is nearly blank"

    def count(colour: str) -> int:
        return sum(n for n, px in colours if _near(px, colour))

    # the tape chart: bars in at least three origin colours
    drawn = [k for k, c in demo.ORIGIN_COLOURS.items() if k != "block" and count(c) > 50]
    assert len(drawn) >= 3, drawn
    # the heatmap: cells in the colours of the nights' occupancy
    heat = {demo._heat(d["sold"] / d["available"]) for d in short_season.reports["daily"] if d["available"]}
    assert sum(count(c) for c in heat) > 500
    # revenue bars (first hotel's colour) and the rank bars
    assert count(demo.HOTEL_COLOURS[0]) > 1000
    assert count(demo.RANK_COLOURS["bronze"]) > 300


def test_same_seed_same_figures(server_url: str, template_db: str):
    from tests.conftest import create_database, drop_database

    figures = []
    for n in range(2):
        name = f"{template_db}_demo_seed{n}"
        url = create_database(server_url, name, template=template_db)
        try:
            result = demo.run(url, TINY)
        finally:
            drop_database(server_url, name)
        assert result.ok, result.invariants
        rep = result.reports
        figures.append(
            (result.counts, result.refusals, rep["kpi"], rep["revenue"], rep["ranks"], rep["cancellations"])
        )
    assert figures[0] == figures[1]
