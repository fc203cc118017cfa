"""Finding a file in the browser: a phrase from the OCR text, its page, the logged click-through."""

import re
import time

import pytest

from tests.e2e.conftest import DIGITISED, shot
from tests.e2e.test_requests import sign_in

pytestmark = pytest.mark.e2e


def search(page, server, text: str) -> None:
    page.goto(f"{server}/search")
    page.get_by_label("检索词").fill(text)
    with page.expect_navigation():
        page.get_by_role("button", name="检索").click()


def search_until_found(page, server, text: str) -> None:
    # The server indexes the demo through its outbox in the background: give it a few seconds.
    for _ in range(50):
        search(page, server, text)
        if page.locator("li.hit").count():
            return
        time.sleep(0.2)


def first_page(hit) -> int:
    """The first page a hit lists (its links read 第 N 页)."""
    found = re.search(r"第 (\d+) 页", hit.inner_text())
    assert found, hit.inner_text()
    return int(found[1])


def test_phrase_search_finds_the_page_and_the_opening_is_logged(page, server):
    sign_in(page, server, "archivist")
    search_until_found(page, server, "担任班组长")
    # Forms are drawn with random sentences, so other digitised files may hold the phrase too.
    hit = page.locator("li.hit", has_text=DIGITISED).first
    assert hit.locator("mark").first.inner_text() == "担任班组长"
    n = first_page(hit)  # whichever of its pages holds it
    assert f"共 {page.locator('li.hit').count()} 份档案" in page.locator("h1").inner_text()
    assert page.locator(".facets").get_by_text("已数字化").count() == 1
    shot(page, "search-phrase")

    with page.expect_navigation():
        hit.get_by_role("link", name=f"第 {n} 页").click()
    assert "/dossiers/" in page.url and f"page={n}" in page.url
    assert f"检索命中：第 {n} 页" in page.inner_text("main")
    assert page.locator("iframe.pdf").get_attribute("src").endswith(f"copy.pdf#page={n}")
    shot(page, "search-opened-at-page")

    # A name search with a facet: the status facet narrows and counts.
    search(page, server, "")
    with page.expect_navigation():
        page.locator(".facets").get_by_role("link", name="借出").click()
    total = page.locator("h1 small").inner_text()
    rows = page.locator("li.hit").count()
    assert "份档案" in total and rows >= 1
    assert all("借出" in t for t in page.locator("li.hit .tag").all_inner_texts())

    sign_in(page, server, "auditor")
    page.goto(f"{server}/audit")
    assert "检索结果打开" in page.inner_text("main")


def test_another_bureau_finds_nothing_of_ours(page, server):
    sign_in(page, server, "dongcheng")
    search(page, server, "担任班组长")
    assert page.locator("li.hit").count() == 0
    assert "没有符合条件的档案" in page.inner_text("main")


def test_requester_finds_the_granted_file_and_opens_it_in_the_viewer(page, server):
    sign_in(page, server, "sibao")
    search_until_found(page, server, "担任班组长")
    hit = page.locator("li.hit").first
    assert DIGITISED in hit.inner_text()
    assert "只检索本单位已获批" in page.inner_text("main")
    n = first_page(hit)
    with page.expect_navigation():
        hit.get_by_role("link", name=f"第 {n} 页").click()
    assert "/requests/" in page.url and "/view" in page.url and f"page={n}" in page.url
    shot(page, "search-requester-viewer")
    # A file not granted to them is not found even by its full 档号.
    search(page, server, "J102-RS-000002")
    assert page.locator("li.hit").count() == 0
