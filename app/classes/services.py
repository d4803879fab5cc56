"""Class domain logic: join codes, membership, the roster CSV import and the demo class. No request objects."""

from __future__ import annotations

import csv
import io
import re
import secrets
from dataclasses import dataclass, field

import sqlalchemy as sa

from app.auth.passwords import password_problem
from app.extensions import db
from app.models.classes import JOIN_CODE_ALPHABET, ClassInvitation, Membership, SchoolClass, new_join_code
from app.models.users import ROLES, User

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,32}$")
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # noqa: S105 (an alphabet; no 0/o, 1/l/i on printed lists)
HEADER = ("学号", "姓名", "用户名", "初始密码")
MAX_ROWS = 2000  # a roster is one class; more is a wrong file
MAX_ERRORS_SHOWN = 50  # a broken 7 MB file must not become a 200 MB error page
DEMO_CLASS = "演示班级：客户关系管理"


def unique_join_code() -> str:
    while True:
        code = new_join_code()
        if not db.session.scalar(sa.select(SchoolClass.id).where(SchoolClass.join_code == code)):
            return code


def create_class(name: str, description: str, instructor: User) -> SchoolClass:
    school_class = SchoolClass(name=name, description=description, instructor_id=instructor.id,
                               join_code=unique_join_code())
    db.session.add(school_class)
    db.session.flush()
    return school_class


def regenerate_code(school_class: SchoolClass) -> str:
    school_class.join_code = unique_join_code()
    return school_class.join_code


def normalise_code(code: str) -> str:
    return re.sub(r"\s+", "", code or "").upper()


def join(user: User, code: str) -> tuple[SchoolClass | None, str]:
    """Add a user to the class with this code; return the class (None if refused) and a message."""
    code = normalise_code(code)
    if not code or any(ch not in JOIN_CODE_ALPHABET for ch in code):
        return None, "加入码不正确：请核对老师给的 6 位加入码"
    school_class = db.session.scalar(sa.select(SchoolClass).where(SchoolClass.join_code == code))
    if school_class is None:
        return None, "没有这个加入码的班级：请核对后重试（加入码可能已被老师更换）"
    if school_class.archived:
        return None, f"班级“{school_class.name}”已结课，不能再加入"
    if school_class.instructor_id == user.id:
        return school_class, "你是这个班级的教师"
    if school_class.has_member(user):
        return school_class, f"你已经在班级“{school_class.name}”中"
    db.session.add(Membership(class_id=school_class.id, user_id=user.id))
    db.session.flush()
    return school_class, f"已加入班级“{school_class.name}”"


def members(school_class: SchoolClass) -> list[Membership]:
    return list(db.session.scalars(
        sa.select(Membership).join(User, Membership.user_id == User.id).where(Membership.class_id == school_class.id)
        .order_by(Membership.student_number, User.username)))


def pending_invitations(user: User) -> list[ClassInvitation]:
    return list(db.session.scalars(sa.select(ClassInvitation).where(ClassInvitation.user_id == user.id)
                                   .order_by(ClassInvitation.id)))


def answer_invitation(user: User, invitation_id: int, accept: bool) -> tuple[SchoolClass | None, str]:
    """Accept (join the class with the roster's student number) or decline an invitation of this user."""
    invitation = db.session.scalar(sa.select(ClassInvitation).where(ClassInvitation.id == invitation_id,
                                                                   ClassInvitation.user_id == user.id))
    if invitation is None:
        return None, "邀请不存在或已处理"
    school_class = invitation.school_class
    db.session.delete(invitation)
    if not accept:
        return school_class, f"已拒绝班级“{school_class.name}”的邀请"
    if school_class.archived:
        return None, f"班级“{school_class.name}”已结课，不能再加入"
    if not school_class.has_member(user):
        db.session.add(Membership(class_id=school_class.id, user_id=user.id,
                                  student_number=invitation.student_number))
    db.session.flush()
    return school_class, f"已加入班级“{school_class.name}”"


def remove_member(school_class: SchoolClass, user_id: int) -> Membership | None:
    membership = db.session.scalar(sa.select(Membership).where(
        Membership.class_id == school_class.id, Membership.user_id == user_id))
    if membership is not None:
        db.session.delete(membership)
    return membership


# ---------------------------------------------------------------- roster CSV

@dataclass
class RosterRow:
    line: int
    student_number: str
    name: str
    username: str
    password: str


@dataclass
class RosterResult:
    created: list[tuple[RosterRow, str]] = field(default_factory=list)  # (row, initial password): shown once
    enrolled: list[RosterRow] = field(default_factory=list)  # unused: existing accounts are invited, not added
    invited: list[RosterRow] = field(default_factory=list)  # existing accounts asked to accept
    updated: list[RosterRow] = field(default_factory=list)  # already members: student number refreshed
    errors: list[str] = field(default_factory=list)


def generate_password(length: int = 8) -> str:
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))


def parse_roster(data: bytes) -> tuple[list[RosterRow], list[str]]:
    """Read 学号,姓名,用户名[,初始密码] rows (UTF-8, with or without BOM; a header row is optional)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], ["文件不是 UTF-8 编码：在 Excel 中请“另存为 → CSV UTF-8（逗号分隔）”"]
    if "\x00" in text:
        return [], ["文件中含有空字符（\\0），不是花名册 CSV：请在 Excel 中“另存为 → CSV UTF-8（逗号分隔）”"]
    rows: list[RosterRow] = []
    errors: list[str] = []
    seen_usernames: dict[str, int] = {}
    seen_numbers: dict[str, int] = {}
    reader = csv.reader(io.StringIO(text, newline=""))
    first = True
    try:
        for cells in reader:
            line = reader.line_num
            cells = [c.strip() for c in cells]
            if not any(cells):
                continue
            if first and cells[0].lstrip("\ufeff") == HEADER[0]:
                first = False
                continue
            first = False
            if len(cells) < 3:
                errors.append(f"第 {line} 行：需要 学号、姓名、用户名 三列（可选第四列 初始密码），这一行只有 {len(cells)} 列")
                continue
            if any(cells[4:]):
                errors.append(f"第 {line} 行：多出第 {len(cells)} 列；只应有 学号、姓名、用户名、初始密码 四列")
                continue
            row = RosterRow(line, cells[0], cells[1], cells[2], cells[3] if len(cells) > 3 else "")
            problems = []
            if not row.student_number:
                problems.append("学号：不能为空")
            elif len(row.student_number) > 40:
                problems.append("学号：最多 40 个字符")
            if not row.name:
                problems.append("姓名：不能为空")
            elif len(row.name) > 64:
                problems.append("姓名：最多 64 个字符")
            if not USERNAME_RE.match(row.username):
                problems.append(f"用户名：“{row.username}”无效（3–32 个字母、数字、下划线、点或连字符）")
            elif row.username.lower() in seen_usernames:
                problems.append(f"用户名：“{row.username}”与第 {seen_usernames[row.username.lower()]} 行重复")
            if row.student_number and row.student_number in seen_numbers:
                problems.append(f"学号：“{row.student_number}”与第 {seen_numbers[row.student_number]} 行重复")
            if row.password and (problem := password_problem(row.password, row.username)):
                problems.append(f"初始密码：{problem}")
            seen_usernames.setdefault(row.username.lower(), line)
            seen_numbers.setdefault(row.student_number, line)
            errors += [f"第 {line} 行，{p}" for p in problems]
            rows.append(row)
            if len(rows) > MAX_ROWS:
                errors.append(f"花名册超过 {MAX_ROWS} 行：一份花名册只应包含一个班级的学生")
                break
    except csv.Error as exc:
        errors.append(f"第 {reader.line_num} 行：CSV 格式错误（{exc}）")
    if len(errors) > MAX_ERRORS_SHOWN:
        errors = errors[:MAX_ERRORS_SHOWN] + [f"……还有 {len(errors) - MAX_ERRORS_SHOWN} 个问题未列出；请先改正以上问题"]
    if not rows and not errors:
        errors.append("文件里没有学生：每行应为 学号，姓名，用户名[，初始密码]")
    return rows, errors


def import_roster(school_class: SchoolClass, data: bytes, invited_by: User | None = None) -> RosterResult:
    """Create missing student accounts and enrol them; invite existing accounts (they join only by accepting).

    A row naming an account that already exists is never attached silently: whoever registered that username
    first may not be the student on the roster. Any bad row means nothing is written.
    """
    result = RosterResult()
    rows, result.errors = parse_roster(data)
    if result.errors:
        return result
    existing = {u.username.lower(): u for u in db.session.scalars(
        sa.select(User).where(sa.func.lower(User.username).in_([r.username.lower() for r in rows])))}
    for row in rows:
        user = existing.get(row.username.lower())
        if user is not None and user.role != "student":
            result.errors.append(f"第 {row.line} 行，用户名：“{row.username}”是{ROLES[user.role]}账号，不能作为学生加入")
    if result.errors:
        return result
    memberships = {m.user_id: m for m in db.session.scalars(
        sa.select(Membership).where(Membership.class_id == school_class.id))}
    invitations = {i.user_id: i for i in db.session.scalars(
        sa.select(ClassInvitation).where(ClassInvitation.class_id == school_class.id))}
    for row in rows:
        user = existing.get(row.username.lower())
        if user is None:
            password = row.password or generate_password()
            user = User(username=row.username, display_name=row.name, role="student")
            user.set_password(password)
            db.session.add(user)
            db.session.flush()
            result.created.append((row, password))
            db.session.add(Membership(class_id=school_class.id, user_id=user.id, student_number=row.student_number))
            continue
        membership = memberships.get(user.id)
        if membership is not None:
            membership.student_number = row.student_number
            result.updated.append(row)
            continue
        invitation = invitations.get(user.id)
        if invitation is None:
            invitation = ClassInvitation(class_id=school_class.id, user_id=user.id,
                                         invited_by_id=invited_by.id if invited_by else None)
            db.session.add(invitation)
            invitations[user.id] = invitation
        invitation.student_number, invitation.name = row.student_number, row.name
        result.invited.append(row)
    db.session.flush()
    return result


# ---------------------------------------------------------------- demo data

def create_demo_class(instructor: User, student: User) -> list[str]:
    """``flask setup`` hook: a class for the demo instructor with the demo student in it."""
    school_class = create_class(DEMO_CLASS, "演示用班级：学生可用加入码加入，教师可在这里布置作业、查看成绩。", instructor)
    db.session.add(Membership(class_id=school_class.id, user_id=student.id, student_number="2024001"))
    db.session.flush()
    return [f"  班级：{school_class.name}，加入码 {school_class.join_code}（演示学生已在班级中）"]
