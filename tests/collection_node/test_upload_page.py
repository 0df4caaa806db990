"""The upload page in headless Chromium: a person signs in, uploads an .xlsx with two bad rows, reads the report
(row, column, value, what is wrong, in French), fixes the file, uploads it again and sees the new version published.
Screenshots go to tests/artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from connector.testing import watch_page

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

pytestmark = pytest.mark.browser


@pytest.fixture
def page(provider: Any, chromium: Any) -> Iterator[Any]:
    ctx = chromium.new_context(viewport={"width": 1280, "height": 1000}, locale="fr-FR")
    pg = ctx.new_page()
    errors, outside = watch_page(pg, provider.url)
    yield pg
    ctx.close()
    assert not errors, errors
    assert not outside, f"the page fetched outside the node: {outside}"


def test_upload_fix_and_publish(page: Any, provider: Any, kit: Any, tmp_path: Path) -> None:
    pg = page
    ARTIFACTS.mkdir(exist_ok=True)
    pg.goto(provider.url + "/depot")
    pg.fill("input[name=jeton]", "faux")
    pg.click("button[type=submit]")
    assert "Jeton incorrect" in pg.inner_text("[role=alert]")
    pg.fill("input[name=jeton]", provider.node.admin_token)
    pg.click("button[type=submit]")
    assert "Réservations hebdomadaires des campings" in pg.inner_text("table")
    pg.screenshot(path=str(ARTIFACTS / "collection-depot-liste.png"), full_page=True)
    pg.click(f"a[href='/depot/{kit.DATASET}']")
    assert "Réservations hebdomadaires des campings" in pg.inner_text("h1")

    # an export typed by hand, with two bad rows: a night count that does not match the dates, an unknown country
    rows = kit.good_rows()
    bad = kit.write_xlsx(tmp_path / "export-semaine-25.xlsx", rows,
                         raw={(1, "nights"): 5, (4, "country_code"): "XX"})
    pg.set_input_files("#fichier", str(bad))
    pg.click("#envoyer")
    pg.wait_for_selector("#resultat")
    assert "Fichier refusé : rien n'a été publié." in pg.inner_text("#resultat")
    report = pg.inner_text("#rapport")
    assert "nombre de nuits différent des dates" in report and "code hors de la liste" in report
    cells = [[c.strip() for c in r.split("\t")] for r in pg.locator("#rapport table tr").all_inner_texts()[1:]]
    assert [(c[0], c[1], c[2]) for c in cells] == [("3", "nights", "5"), ("6", "country_code", "XX")]
    pg.screenshot(path=str(ARTIFACTS / "collection-depot-refus.png"), full_page=True)
    assert provider.app.config["CATALOG"].catalogue().datasets.get(kit.DATASET) is None

    # fixed: published as version 1, shown in the history
    fixed = kit.write_xlsx(tmp_path / "export-semaine-25-corrige.xlsx", rows)
    pg.set_input_files("#fichier", str(fixed))
    pg.click("#envoyer")
    pg.wait_for_selector("#resultat.ok")
    assert "Version 1 publiée." in pg.inner_text("#resultat") and "6 lignes vérifiées" in pg.inner_text("#resultat")
    assert pg.inner_text("#version-courante") == "1"
    history = pg.locator("#historique tr").all_inner_texts()[1:]
    assert "Publié" in history[0] and "export-semaine-25-corrige.xlsx" in history[0]
    assert "Refusé" in history[1] and "2 problèmes" in history[1]
    pg.screenshot(path=str(ARTIFACTS / "collection-depot-publie.png"), full_page=True)
    ds = provider.app.config["CATALOG"].catalogue().datasets[kit.DATASET]
    assert ds.version == 1 and ds.distributions[0].file_type == "PARQUET"


def test_page_refuses_a_too_large_file_in_french(page: Any, provider: Any, kit: Any, tmp_path: Path) -> None:
    pg = page
    pg.goto(provider.url + "/depot")
    pg.fill("input[name=jeton]", provider.node.admin_token)
    pg.click("button[type=submit]")
    pg.goto(provider.url + f"/depot/{kit.DATASET}")
    big = tmp_path / "tres-gros.csv"
    big.write_bytes(b"x" * (300 * 1024))  # the test config's limit is 256 KiB
    pg.set_input_files("#fichier", str(big))
    pg.click("#envoyer")
    pg.wait_for_selector("[role=alert]")
    assert "moins de 256 Kio" in pg.inner_text("[role=alert]")
    assert provider.app.config["CATALOG"].catalogue().datasets.get(kit.DATASET) is None
