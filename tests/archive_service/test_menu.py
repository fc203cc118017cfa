"""The menu bar by role: each role sees the entries of what it may do (web/menu.py reads auth/permissions.py),
in the bar's order, and an entry is lit on the pages under it."""

import re

import pytest

from tests.conftest import cookie_login

# What each demo account's bar showed when base.html still asked for role names (checked rule by rule when the
# menu moved to web/menu.py): the table of permissions now decides, and this is what it must keep giving.
EXPECTED = {
    "clerk": ["工作台", "档案", "移交接收", "移交单位", "库房", "检索", "查阅申请", "统计报表"],
    "archivist": ["工作台", "档案", "移交接收", "移交单位", "库房", "检索", "查阅申请", "借阅台", "统计报表",
                  "存量导入", "后台任务"],
    "approver": ["工作台", "档案", "检索", "查阅申请", "统计报表"],
    "sibao": ["工作台", "检索", "查阅申请"],
    "auditor": ["工作台", "档案", "移交接收", "库房", "检索", "查阅申请", "统计报表", "安全控制", "利用登记"],
    "admin": ["工作台", "移交接收", "移交单位", "库房", "统计报表", "存量导入", "后台任务"],
    "security": ["工作台", "用户", "安全控制"],
}  # fmt: skip


def _bar(html: str) -> list[tuple[str, bool]]:
    nav = html[html.index("<nav>") : html.index("</nav>")]
    return [(label, "on" in attrs) for attrs, label in re.findall(r"<a href=\"[^\"]+\"([^>]*)>([^<]+)</a>", nav)]


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # the bar, not SQL
@pytest.mark.parametrize("username", list(EXPECTED))
def test_each_role_sees_the_entries_of_what_it_may_do(client, username):
    cookie_login(client, username)
    bar = _bar(client.get("/").text)  # a requester's home is 查阅申请, the security officer's 安全控制
    assert [label for label, _ in bar] == EXPECTED[username]
    assert [label for label, lit in bar if lit] == [
        {"sibao": "查阅申请", "security": "安全控制"}.get(username, "工作台")
    ]


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_an_entry_is_lit_on_the_pages_under_it(client):
    cookie_login(client, "archivist")
    for path, entry in [("/reading", "借阅台"), ("/units", "库房"), ("/planning", "库房"), ("/disposal", "档案"),
                        ("/dossiers", "档案"), ("/transfers/fees", "移交接收")]:  # fmt: skip
        page = client.get(path)
        assert page.status_code == 200, (path, page.text[:200])
        assert [label for label, lit in _bar(page.text) if lit] == [entry], path
