"""Who is calling, as every access rule sees it.

A ``Principal`` is resolved once per request (``core/security.py``) from a session cookie, an
API token or a department key, and handed to services; the rules of what each role may see live
in ``accounts/access.py`` and are applied where data is queried.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Roles, with their Chinese labels (GLOSSARY: administrator, department officer, department
# system, subject account, bank, incentive provider, public).
ROLE_LABELS: dict[str, str] = {
    "admin": "信用办管理员",
    "department_officer": "部门工作人员",
    "department_system": "部门系统",
    "subject": "信用主体账号",
    "bank": "金融机构",
    "provider": "激励服务机构",
    "public": "社会公众",
}
GOVERNMENT_ROLES = frozenset({"admin", "department_officer", "department_system"})
PEOPLE_ROLES = ("admin", "department_officer", "subject", "bank", "provider")
MACHINE_ROLES = ("department_system",)

# What a role may do at most; an API token narrows it further to its own scopes.
SCOPE_LABELS: dict[str, str] = {
    "records:write": "推送/上传信用记录，查看本部门批次",
    "profiles:read": "查看政务视图的信用档案与评价",
    "supervision": "管理本部门的监管企业库",
    "self:read": "查看本主体的完整档案与评价",
    "public:read": "查询公开信息",
    "admin": "平台管理",
}
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "admin": frozenset(SCOPE_LABELS),
    "department_officer": frozenset({"records:write", "profiles:read", "supervision",
                                     "public:read"}),
    "department_system": frozenset({"records:write", "profiles:read", "supervision",
                                    "public:read"}),
    "subject": frozenset({"self:read", "public:read"}),
    "bank": frozenset({"public:read"}),
    "provider": frozenset({"public:read"}),
    "public": frozenset({"public:read"}),
}
DEPARTMENT_KEY_SCOPES = ("records:write", "profiles:read", "supervision")


@dataclass(frozen=True)
class Principal:
    role: str = "public"
    account_id: int | None = None
    username: str | None = None
    display_name: str = "社会公众"
    department_id: int | None = None
    department_code: str | None = None
    department_name: str | None = None
    subject_id: int | None = None
    # None: every scope of the role (a person logged in); a token carries its own.
    token_scopes: frozenset[str] | None = None
    via: str = "anonymous"  # anonymous | session | token | operator | cli
    session_id: str | None = field(default=None, repr=False)

    @property
    def is_anonymous(self) -> bool:
        return self.role == "public"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin" and self.allows("admin")

    @property
    def is_government(self) -> bool:
        return self.role in GOVERNMENT_ROLES and self.allows("profiles:read")

    @property
    def is_department(self) -> bool:
        return self.role in ("department_officer", "department_system")

    @property
    def scopes(self) -> frozenset[str]:
        role = ROLE_SCOPES.get(self.role, frozenset())
        return role if self.token_scopes is None else role & self.token_scopes

    def allows(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def actor(self) -> str:
        """How the audit log names the caller."""
        if self.via in ("operator", "cli"):
            return self.via
        if self.role == "department_system" and self.department_code:
            return f"api:{self.department_code}"
        if self.username:
            return f"user:{self.username}"
        return "public"

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    # Compatibility with the department caller of the foundation's routes.
    @property
    def department_caller(self) -> bool:
        return self.department_id is not None


ANONYMOUS = Principal()
OPERATOR = Principal(role="admin", username="operator", display_name="平台运维令牌",
                     via="operator")
# Commands run by an operator on the server (``xinyong accounts ...``) act as the office.
CLI = Principal(role="admin", username="cli", display_name="命令行", via="cli")
