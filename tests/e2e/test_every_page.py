"""Every page each role opens, as a person at a 1366-wide office screen sees it: nothing runs off to the
right, no typed value is cut off in its field, and no English word of a library or of our code is on the
screen (file formats and key names people know — PDF, Excel, Enter — excepted)."""

import re

import pytest

from tests.e2e.conftest import DIGITISED, sign_in

pytestmark = pytest.mark.e2e

KNOWN = {"PDF", "Excel", "xlsx", "JPEG", "TIFF", "PNG", "Enter", "json", "manifest", "Code"}
KNOWN |= {"TOTP", "HMAC"}  # the second factor and the keyed digest, as the security page names them (等保 terms)
KNOWN |= {"rapidocr", "Tesseract"}  # the OCR engine that read the pages, by name (the copy's provenance)
WORD = re.compile(r"[A-Za-z]{4,}")

# The visible text outside code (档号, hashes and commands are shown in monospace).
SCREEN_TEXT = """(() => {
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const out = [];
  while (walk.nextNode()) {
    const el = walk.currentNode.parentElement;
    if (!el || el.closest('script, style, code, .mono') || !el.offsetParent) continue;
    out.push(walk.currentNode.textContent);
  }
  return out.join(' ');
})()"""
CLIPPED = """[...document.querySelectorAll('input:not([type=hidden]):not([type=checkbox]):not([type=radio])'
  + ':not([type=file]):not([type=date])')].filter(i => i.offsetParent && i.value && i.scrollWidth > i.clientWidth + 1)
  .map(i => i.name + '=' + i.value)"""

PAGES = {
    "archivist": ["/", "/dossiers", "dossier", "verification", "/transfers", "/transfers/campaign",
                  "/transfers/statistics", "/shelving", "room", "/planning", "/search?q=退休", "/requests", "/loans",
                  "/jobs", "/reports"],
    "clerk": ["/", "/transfers", "batch", "receiving", "/enterprises"],
    "approver": ["/", "/requests", "request"],
    "sibao": ["/requests", "/search?q=退休", "viewer"],
    "auditor": ["/audit", "/security"],
    "admin": ["/", "/planning", "/transfers/campaign", "/jobs"],
    "security": ["/security", "/users", "/account"],
}  # fmt: skip


def _sign_in(page, server, username):
    sign_in(page, server, username)


def _path(page, server, name: str) -> str:
    if name in ("dossier", "verification"):  # the digitised demo file: the fullest dossier page, its 校对与复核
        page.goto(f"{server}/dossiers?q={DIGITISED}")
        href = page.locator("table.grid tbody a").first.get_attribute("href") or ""
        return href + ("/verification" if name == "verification" else "")
    first_link = {  # the first of its kind listed on the page that lists them
        "room": ("/shelving", "a[href^='/shelving/rooms/']"),
        "batch": ("/transfers", "#batches a[href^='/transfers/']"),
        "request": ("/requests", "a[href^='/requests/']"),
    }
    if name in first_link:
        listing, selector = first_link[name]
        page.goto(f"{server}{listing}")
        return page.locator(selector).first.get_attribute("href") or ""
    if name == "receiving":
        return _path(page, server, "batch") + "/receive"
    if name == "viewer":  # the requester's approved request, opened
        page.goto(f"{server}/requests")
        for href in page.locator("a[href^='/requests/']").evaluate_all("links => links.map(a => a.href)"):
            page.goto(href)
            if page.locator("a[href$='/view']").count():
                return page.locator("a[href$='/view']").first.get_attribute("href") or ""
        return ""
    return name


@pytest.mark.parametrize("role", list(PAGES))
def test_every_page_reads_whole_and_in_chinese(page, server, role):
    _sign_in(page, server, role)
    found = []
    for name in PAGES[role]:
        path = _path(page, server, name)
        assert path, name
        response = page.goto(f"{server}{path}")
        assert response is not None and response.status == 200, (path, response and response.status)
        width = page.evaluate("document.documentElement.scrollWidth")
        clipped = page.evaluate(CLIPPED)
        english = sorted(set(WORD.findall(page.evaluate(SCREEN_TEXT))) - KNOWN)
        if width > 1366 or clipped or english:
            found.append((path, width, clipped, english))
    assert found == []
