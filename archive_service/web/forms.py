"""What a person typed, kept when a page is shown again after a refused form.

One rule for every page: a router dependency keeps the submitted text fields on the request,
and templates fill each field through `submitted(action)` — the typed value when this page answers
that form, the page's usual default otherwise. A page with several forms only refills the one that
was sent (the form's action is the key), so a value never jumps into a neighbouring form.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from jinja2 import pass_context
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from archive_service.errors import ArchiveError
from archive_service.values import ValueRuleError, check_visible

# What each page parameter is called on the page, for refusals shown away from their form (the error page,
# a rule of the request's own shape): a person reads 检索词, not `q`. Every page route's parameter is here
# (tests/archive_service/test_error_page.py); an API caller gets the key in `field` as well.
FIELD_LABELS = {
    "accepts": "接收离休人员档案",
    "action": "操作",
    "active": "启用或停用",
    "allow_download": "允许下载",
    "allow_print": "允许打印",
    "annotation": "档案员注记",
    "approval_reference": "人社部门批准文号",
    "approve": "审批意见",
    "archival_code": "档号",
    "archival_codes": "档号",
    "applied_on": "转入申请日期",
    "application_scan": "转入申请扫描件",
    "at": "测量时间",
    "basis": "依据",
    "batch_id": "移交批次",
    "below": "置信度低于",
    "born_from": "出生日期起",
    "born_to": "出生日期止",
    "capacity_per_layer": "每层容量",
    "certificate": "证明材料",
    "class_code": "类号",
    "closes_on": "截止日期",
    "closes_central": "央属企业截止日期",
    "closes_provincial": "省属企业截止日期",
    "closes_city": "市属企业截止日期",
    "closes_district": "区属企业截止日期",
    "closes_other": "其他企业截止日期",
    "by_level": "隶属层级截止日期",
    "code": "编号",
    "columns": "列数",
    "complete": "核对结果",
    "contact_person": "联系人",
    "contact_phone": "联系电话",
    "credit_code": "统一社会信用代码",
    "current_password": "当前密码",
    "decision": "审核意见",
    "description": "说明",
    "document": "申请文书",
    "digitisation": "数字化状态",
    "display_name": "姓名",
    "dossier": "档案",
    "due_months": "退休后移交期限（月）",
    "dossier_id": "档案",
    "dossier_ids": "档案",
    "drop_entry": "删除目录条目",
    "ended_at": "结束时间",
    "enterprise": "移交单位",
    "enterprise_id": "移交单位",
    "error": "错误",
    "expected": "核准移交人数",
    "expires_on": "有效期至",
    "file": "文件",
    "financial": "金融企业",
    "final_on": "最终期限",
    "first": "本次分配的第一条记录",
    "humidity_pct": "相对湿度",
    "import_id": "台账导入",
    "issued_by": "出具单位",
    "item_id": "名册行",
    "issued_on": "发证日期",
    "job_id": "后台任务",
    "key": "档号或公民身份号码",
    "kind": "类别",
    "last": "本次分配的最后一条记录",
    "layers": "每节层数",
    "level": "隶属层级",
    "managing_reason": "代为移交原因",
    "managing_unit": "现管理单位",
    "material_class": "材料类别",
    "material_classes": "材料类别",
    "materials": "实收材料份数",
    "missing_id": "缺失材料",
    "mode": "利用方式",
    "name": "名称",
    "new_password": "新密码",
    "next": "跳转页面",
    "note": "备注",
    "number": "证书编号",
    "occurred_on": "发生日期",
    "opens_on": "开始日期",
    "organisation_id": "单位",
    "outcome": "核对结果",
    "page": "页码",
    "pages": "页数",
    "paper_reason": "未数字化原因",
    "parent_id": "所属街道（乡镇）",
    "password": "密码",
    "period": "报表期间",
    "preset": "政策预设",
    "profile_id": "档案盒规格",
    "purpose": "利用目的",
    "purpose_detail": "目的说明",
    "q": "检索词",
    "qualification": "档案管理资质",
    "reader_citizen_id": "查阅人公民身份号码",
    "reading_id": "阅档登记",
    "reading_staff": "阅档在场工作人员人数",
    "reader_name": "查阅人姓名",
    "reason": "理由",
    "recovery_code": "恢复码",
    "ref": "校对项",
    "region_code": "迁入地行政区划代码",
    "relationship": "与档案本人关系",
    "repeat_password": "再次输入新密码",
    "request_id": "查阅申请",
    "required": "持证上岗要求",
    "result": "结果",
    "retired_from": "退休日期起",
    "retired_to": "退休日期止",
    "retirees": "退休人数",
    "role": "角色",
    "room_id": "库房",
    "rows": "名册内容",
    "rule": "接收范围规则",
    "starts_on": "常态化移交起始日期",
    "scan": "回执扫描件",
    "scans": "扫描件",
    "secrecy": "密级",
    "sections": "每列节数",
    "sender_name": "移交方经办人",
    "session_id": "会话",
    "sheet_index": "工作表",
    "side": "确认方",
    "sides": "面数",
    "signed_on": "签收日期",
    "signer": "签收人",
    "since": "起始日期",
    "slot_code": "架位编号",
    "staff": "在场工作人员",
    "slot_ids": "架位",
    "source_document": "依据文件",
    "start_at": "起始标签",
    "state": "状态",
    "status": "状态",
    "supplement_id": "补充材料",
    "temperature_c": "温度",
    "thickness_mm": "厚度",
    "title": "证书名称",
    "to_org_id": "接收馆",
    "unit_id": "密集架",
    "until": "截止日期",
    "usable_area_m2": "可用面积",
    "usable_width_mm": "可用宽度",
    "user_id": "账户",
    "username": "用户名",
    "valid_from": "有效期起",
    "valid_until": "有效期止",
    "value": "取值",
    "version": "版本号",
    "volumes": "实收卷数",
    "why": "登录页提示",
    "work_from": "参加工作时间起",
    "work_to": "参加工作时间止",
    "year": "年份",
    "years": "保管期限（年）",
    "list_id": "销毁清册",
    "opinion": "签批意见",
    "handover_fee": "移交费用（元／人）",
    "management_fee": "社会化管理费（元／人·年）",
    "amount": "缴纳金额（元）",
    "paid_on": "缴纳日期",
    "voucher": "凭证号",
}


def field_label(field: str | None) -> str | None:
    """The label a person knows the field by, or None when it has none (an API body's nested key)."""
    return FIELD_LABELS.get(field) if field else None


class PageRefused(Exception):
    """A refused form's page, already rendered; the app answers with it (app.py)."""

    def __init__(self, response: Response) -> None:
        self.response = response


@contextmanager
def refusal_shows(session: Session, page: Callable[[ArchiveError], Response]) -> Iterator[None]:
    """Run a form's service calls; when a rule refuses them, undo everything and answer with `page(error)`:
    the same page again with the error beside the form and what was typed kept. Every page form does this.

        with refusal_shows(session, lambda error: _list_page(request, session, user, error)):
            batch = intake.import_register(...)
        return RedirectResponse(...)
    """
    try:
        refuse_invisible_text()
        yield
    except ArchiveError as error:
        session.rollback()
        raise PageRefused(page(error)) from None


# A page form's field that holds a character nobody can see (values.check_visible), found when the form is
# read (keep_submitted_form) and refused where every page form meets its refusals — the page comes back with
# the field named and everything typed kept. Set per request, in the request's own context.
_invisible_field: ContextVar[ArchiveError | None] = ContextVar("invisible_field", default=None)


def refuse_invisible_text() -> None:
    error = _invisible_field.get()
    if error is not None:
        raise error


async def keep_submitted_form(request: Request) -> None:
    """Router dependency: remembers the text fields of a POSTed form (files are never kept)."""
    if request.method != "POST":
        return
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return
    form = await request.form()  # parsed once: FastAPI's Form parameters read the same cached form
    typed = {key: [v for v in form.getlist(key) if not isinstance(v, UploadFile)] for key in form.keys()}
    request.state.submitted_form = (request.url.path, typed)
    _invisible_field.set(None)
    for key, values in typed.items():
        for value in values:
            try:
                check_visible(value)
            except ValueRuleError as e:
                _invisible_field.set(ArchiveError(e.code, e.message, key, 422))
                return


def submitted_text(request: Request) -> dict[str, str]:
    """A POSTed page form's text fields, each as its first value (for a route whose fields are a list it
    owns, read in one loop instead of one parameter each)."""
    kept = getattr(request.state, "submitted_form", None)
    return {key: values[0] for key, values in kept[1].items() if values} if kept else {}


class Submitted:
    """A form's values as sent, or the page's defaults when this page does not answer that form."""

    def __init__(self, values: dict[str, list[str]] | None) -> None:
        self._values = values

    def __bool__(self) -> bool:
        return self._values is not None

    def get(self, name: str, default: Any = "") -> Any:
        if self._values is None or name not in self._values:
            return "" if default is None else default
        return self._values[name][0] if self._values[name] else ""

    def selected(self, name: str, value: Any, default: Any = None) -> str:
        """' selected' for the option that was chosen (or, on a fresh page, the default one)."""
        chosen = self.get(name, default) if self._values is not None else default
        return " selected" if chosen is not None and str(chosen) == str(value) else ""

    def checked(self, name: str, value: Any, default: bool = False) -> str:
        if self._values is None:
            return " checked" if default else ""
        return " checked" if str(value) in self._values.get(name, []) else ""


@pass_context
def submitted(context: Any, action: str) -> Submitted:
    """The values sent to `action` if this page is its answer; otherwise an empty `Submitted`."""
    request = context.get("request")
    kept = getattr(request.state, "submitted_form", None) if request is not None else None
    if kept is None or kept[0] != action:
        return Submitted(None)
    return Submitted(kept[1])
