"""The second factor (GB/T 22239-2019 8.1.4.1 d: 两种或两种以上组合的鉴别技术，且其中一种鉴别技术至少应使用密码技术):
a time-based one-time code (TOTP, RFC 6238, HMAC-SHA1, 6 digits, 30 s — what every authenticator app reads from a
QR code), and ten one-time recovery codes for a lost phone.

A code is good once: the time step it matched is kept, and a code of that step or an earlier one is refused as
replayed. The secret is kept encrypted (protection.Protected). Enrolment shows the QR code and asks for a code
from the app before the secret counts, so a mistyped scan never locks anyone out.
"""

import hashlib
import io
import secrets
import time

import pyotp
import segno
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from archive_service.auth.models import RecoveryCode, User
from archive_service.db import utcnow
from archive_service.errors import ArchiveError

ISSUER = "档案托管系统"
STEP_SECONDS = 30
DRIFT_STEPS = 1  # a phone's clock half a minute either way
RECOVERY_CODES = 10


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=6, interval=STEP_SECONDS)


def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits


def provisioning_uri(user: User, secret: str) -> str:
    return _totp(secret).provisioning_uri(name=f"{user.username}@{user.organisation.name}", issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The enrolment QR code as inline SVG (no image file, nothing fetched)."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(
        out, kind="svg", scale=5, border=2, xmldecl=False, svgns=True, title="动态验证码二维码"
    )
    return out.getvalue().decode()


def grouped(secret: str) -> str:
    """The secret for typing into an app by hand, in groups of four."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    code = code.strip().replace(" ", "")
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = _totp(secret)
    current = int((now if now is not None else time.time()) // STEP_SECONDS)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if secrets.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def check_code(user: User, code: str, secret: str | None = None) -> None:
    """A code from the app: right, and not used before. Raises with the reason (wrong, replayed)."""
    secret = secret or user.totp_secret
    if not code.strip():
        raise ArchiveError("two_factor.code_required", "请输入手机验证器上的 6 位动态验证码", "code", 401)
    if secret is None:
        raise ArchiveError("two_factor.not_enrolled", "该账户尚未绑定动态验证码", "code", 403)
    step = _matching_step(secret, code)
    if step is None:
        raise ArchiveError(
            "two_factor.invalid", "动态验证码错误或已过期：请输入验证器上当前显示的 6 位数字", "code", 401
        )
    if user.totp_last_step is not None and step <= user.totp_last_step:
        raise ArchiveError(
            "two_factor.replayed",
            "该动态验证码已经用过（每个验证码只能用一次），请等验证器显示下一个验证码",
            "code",
            401,
        )
    user.totp_last_step = step


def _code_digest(code: str) -> str:
    return hashlib.sha256(code.strip().replace("-", "").replace(" ", "").lower().encode()).hexdigest()


def new_recovery_codes(session: Session, user: User) -> list[str]:
    """Ten fresh recovery codes (the old ones stop working); shown once, only their digests kept."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = secrets.token_hex(10)  # 80 bits
        codes.append("-".join(raw[i : i + 5] for i in range(0, 20, 5)))
        session.add(RecoveryCode(user_id=user.id, code_sha256=_code_digest(raw)))
    session.flush()
    return codes


def use_recovery_code(session: Session, user: User, code: str) -> int:
    """Spend one recovery code; returns how many are left. Raises when it is not one of the account's unused codes."""
    row = session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_sha256 == _code_digest(code),
            RecoveryCode.used_at.is_(None),
        )
    )
    if row is None:
        raise ArchiveError("two_factor.recovery_invalid", "恢复码不正确或已经用过", "recovery_code", 401)
    row.used_at = utcnow()
    session.flush()
    return recovery_codes_left(session, user)


def recovery_codes_left(session: Session, user: User) -> int:
    return len(
        session.scalars(
            select(RecoveryCode.id).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        ).all()
    )


def start_enrolment(user: User) -> str:
    """A new secret waiting for its first code (the account's present one, if any, keeps working until then)."""
    user.totp_pending_secret = new_secret()
    return user.totp_pending_secret


def confirm_enrolment(session: Session, user: User, code: str) -> list[str]:
    """The first code from the app confirms the pending secret; returns the new recovery codes."""
    if user.totp_pending_secret is None:
        raise ArchiveError("two_factor.no_enrolment", "请先打开绑定页面扫描二维码", "code", 409)
    user.totp_last_step = None  # a new secret starts its own count
    check_code(user, code, user.totp_pending_secret)
    user.totp_secret, user.totp_pending_secret = user.totp_pending_secret, None
    user.totp_enrolled_at = utcnow()
    return new_recovery_codes(session, user)


def clear(session: Session, user: User) -> None:
    """The security officer resets a lost authenticator: the person enrols again at the next login."""
    user.totp_secret = user.totp_pending_secret = None
    user.totp_enrolled_at = None
    user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
