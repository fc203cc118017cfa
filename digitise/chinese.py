"""Words a library would print in English, said in Chinese: pydantic's rule codes, and why a file could not
be read. Imported by the web service, so it imports no command-line library (that is `terminal.py`)."""

import errno
import json
import re

# Pydantic's generic rules; our own rules (codes with a dot) bring their own message.
RULES = {
    "missing": "必须填写",
    "string_too_short": "长度不足",
    "string_too_long": "长度超出上限",
    "string_pattern_mismatch": "格式不符合要求",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_parsing": "应为数",
    "greater_than": "数值过小",
    "greater_than_equal": "数值过小",
    "less_than": "数值过大",
    "less_than_equal": "数值过大",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）",
    "date_parsing": "应为日期（YYYY-MM-DD）",
    "datetime_parsing": "应为日期时间（YYYY-MM-DD HH:MM）",
    "datetime_from_date_parsing": "应为日期时间（YYYY-MM-DD HH:MM）",
    "enum": "不是可选值之一",
    "literal_error": "不是可选值之一",
    "bool_parsing": "应为是/否",
    "json_invalid": "请求体不是有效的 JSON",
    "model_attributes_type": "应为对象",
}


_OS_ERRORS = {
    errno.ENOENT: "不存在",
    errno.EACCES: "没有访问权限",
    errno.EPERM: "没有访问权限",
    errno.EISDIR: "是目录，应为文件",
    errno.ENOTDIR: "路径中有一段不是目录",
    errno.ENOSPC: "磁盘空间已满",
    errno.EROFS: "所在磁盘只读",
}


def reason(error: Exception) -> str:
    """Why reading a file or its content failed, as a person should read it (a library's English stays out)."""
    if isinstance(error, OSError):
        return _OS_ERRORS.get(error.errno or 0, f"无法访问（{errno.errorcode.get(error.errno or 0, '系统错误')}）")
    if isinstance(error, json.JSONDecodeError):
        return f"不是有效的 JSON（第 {error.lineno} 行第 {error.colno} 列）"
    if isinstance(error, KeyError):
        return f"缺少 {error.args[0]}"
    if re.search(r"[\u4e00-\u9fff]", str(error)):  # our own rules say why in Chinese
        return str(error)
    return "内容不符合要求"
