"""The dashboard in headless Chromium: it loads, every chart has data and names its snapshot, the filters change
the charts, suppressed cells read "secret statistique" (never 0). Screenshots go to tests/artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from connector.testing import watch_page

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CARDS = ["occupancy", "on_the_books", "regions", "pace", "country_mix", "stay_lead"]

pytestmark = pytest.mark.browser


@pytest.fixture
def page(chromium: Any, space: Any, landed: dict[str, Any]) -> Iterator[Any]:
    ctx = chromium.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
    pg = ctx.new_page()
    errors, outside = watch_page(pg, space.nodes["hub"].url)
    pg.errors, pg.outside = errors, outside
    yield pg
    ctx.close()
    assert not errors, errors
    assert not outside, f"the page fetched outside the hub: {outside}"  # no CDN, nothing from elsewhere


def _sign_in(pg: Any, space: Any) -> None:
    hub = space.nodes["hub"]
    pg.goto(hub.url + "/barometre")
    assert pg.locator("input[name=jeton]").count() == 1  # operators only
    pg.fill("input[name=jeton]", "wrong")
    pg.click("button[type=submit]")
    assert "Jeton incorrect" in pg.inner_text("#erreur")
    pg.fill("input[name=jeton]", hub.node.admin_token)
    pg.click("button[type=submit]")
    _ready(pg)


def _ready(pg: Any) -> None:
    pg.wait_for_selector("body[data-state=ready]", timeout=20000)


def _choose(pg: Any, select: str, value: str) -> None:
    pg.evaluate("document.body.setAttribute('data-state', 'changing')")
    pg.select_option(select, value)
    _ready(pg)


def _chart(pg: Any, card: str) -> str:
    return pg.inner_html(f"#c-{card} .graphe")


def test_every_chart_has_data_and_names_its_snapshot(page: Any, space: Any, landed: dict[str, Any]) -> None:
    _sign_in(page, space)
    for card in CARDS:
        el = page.locator(f"#c-{card}")
        assert int(el.get_attribute("data-points")) > 0, card
        assert el.get_attribute("data-snapshot") == "2026-06-15", card
        foot = page.inner_text(f"#c-{card} footer")
        assert "Instantané du 15/06/2026" in foot and f"calcul n° {landed['id']}" in foot and len(foot) > 80, card
        assert page.locator(f"#c-{card} h2").inner_text().strip()
    assert page.locator("#c-occupancy svg path").count() >= 3  # N realised, N on the books, N-1
    assert "%" in page.inner_text("#kpi-to")
    page.wait_for_selector("#table-calculs")
    runs = page.inner_text("#table-calculs")
    assert f"n° {landed['id']} (affiché)" in runs and "terminé" in runs and "REG-76 v" in runs
    assert landed["inputs"]["bookings"]["sha256"][:10] in runs
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "barometre-france.png"), full_page=True)
    with page.expect_download() as dl:
        page.click("a[href='/api/barometre/tables/pace.csv']")
    assert dl.value.suggested_filename == "pace-2026-06-15.csv"


def test_filters_change_the_charts(page: Any, space: Any) -> None:
    _sign_in(page, space)
    before = {c: _chart(page, c) for c in CARDS}
    title = page.inner_text("#c-occupancy h2")
    _choose(page, "#f-region", "REG-76")
    assert "Occitanie" in page.inner_text("#c-occupancy h2") and page.inner_text("#c-occupancy h2") != title
    for card in ("occupancy", "on_the_books", "pace"):
        assert _chart(page, card) != before[card], card
    assert page.locator("#table-rythme tr.niv1").first.inner_text().startswith("Occitanie")
    assert "region=REG-76" in page.url
    after_region = {c: _chart(page, c) for c in CARDS}
    _choose(page, "#f-unit", "RENTAL")
    assert "Locatifs" in page.inner_text("#c-occupancy h2")
    assert _chart(page, "occupancy") != after_region["occupancy"]
    _choose(page, "#f-week", "2026-W30")
    assert "S30" in page.inner_text("#c-regions h2") and "S30" in page.inner_text("#c-pace h2")
    assert _chart(page, "regions") != after_region["regions"]
    assert _chart(page, "stay_lead") != after_region["stay_lead"]
    for card in ("occupancy", "on_the_books", "regions", "pace"):
        assert int(page.locator(f"#c-{card}").get_attribute("data-points")) > 0, card
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "barometre-occitanie.png"), full_page=True)


def test_a_suppressed_cell_shows_as_suppressed(page: Any, space: Any) -> None:
    _sign_in(page, space)
    hidden = page.locator("#table-rythme [data-cell=suppressed]")
    assert hidden.count() > 0
    for i in range(min(hidden.count(), 20)):
        assert hidden.nth(i).inner_text() == "secret statistique"
        assert hidden.nth(i).get_attribute("title").startswith("Secret statistique")
    # a département row fully suppressed: no digit anywhere in its cells
    rows = page.locator("#table-rythme tr.niv2")
    texts = [rows.nth(i).inner_text() for i in range(rows.count())]
    secret_rows = [t for t in texts if t.count("secret statistique") == 5]
    assert secret_rows and not any(ch.isdigit() for t in secret_rows for ch in t.split("\t", 1)[1])
    assert int(page.locator("#c-regions").get_attribute("data-suppressed")) > 0
    assert page.locator("#c-regions .secret-barre").count() > 0
    assert page.locator("#c-regions text.secret-lib").first.text_content() == "secret statistique"
