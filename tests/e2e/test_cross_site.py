"""Issue 22.7 in a real browser: a page on another port of the same host (same site, so the SameSite=Strict
cookie goes along) auto-submits an approval form with the approver's session. The request stays
undecided; the same approval from our own page goes through."""

import functools
import http.server
import threading
from datetime import timedelta

import pytest

from archive_service.db import bureau_today
from tests.archive_service.test_requests import READER
from tests.e2e.conftest import DIGITISED, _free_port, shot
from tests.e2e.test_requests import sign_in

pytestmark = pytest.mark.e2e


def test_an_approval_posted_from_another_port_is_refused(page, server, tmp_path):
    sign_in(page, server, "sibao")
    today = bureau_today()
    made = page.request.post(
        f"{server}/api/requests",
        data={"dossier": DIGITISED, "purpose": "benefit_change", "purpose_detail": "跨站测试", "material_classes": [1],
              "mode": "online_view", "valid_from": today.isoformat(),
              "valid_until": (today + timedelta(days=5)).isoformat(), "reader_name": "李社保",
              "reader_citizen_id": READER, "relationship": "none"},
    )  # fmt: skip
    assert made.status == 201, made.text()
    request_id = made.json()["id"]

    (tmp_path / "evil.html").write_text(
        f"""<!doctype html><meta charset="utf-8"><title>领奖</title>
<form id="f" method="post" action="{server}/requests/{request_id}/decide">
<input type="hidden" name="approve" value="yes"><input type="hidden" name="material_classes" value="1"></form>
<script>document.getElementById('f').submit()</script>""",
        encoding="utf-8",
    )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    evil = http.server.ThreadingHTTPServer(("127.0.0.1", _free_port()), handler)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        sign_in(page, server, "approver")
        page.goto(f"http://127.0.0.1:{evil.server_address[1]}/evil.html")
        page.wait_for_url(f"{server}/requests/{request_id}/decide")
        assert "request.cross_site" in page.inner_text("body")
        shot(page, "cross-site-refused")
    finally:
        evil.shutdown()
    state = page.request.get(f"{server}/api/requests/{request_id}")
    assert state.json()["status"] == "submitted"  # nothing was decided

    page.goto(f"{server}/requests/{request_id}")  # our own page: the approval goes through
    with page.expect_navigation():
        page.get_by_role("button", name="批准").click()
    assert page.request.get(f"{server}/api/requests/{request_id}").json()["status"] == "approved"
