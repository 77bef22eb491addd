"""What the live server of the browser tests holds: departments, subjects, records, accounts.

The codes are computed, not typed: GB 32100 (USCC check character) over a GB 11714
organisation code with its own check character, so every subject is "verified".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from stdnum.cn import uscc as stdnum_uscc

from xinyong.subjects.uscc import org_code_check_char

TODAY = dt.date(2026, 4, 1)


def make_uscc(region: str, org_body: str) -> str:
    """A valid code for a legal person (91) of a region (GB/T 2260) and organisation body."""
    head = "91" + region + org_body + org_code_check_char(org_body)
    return head + stdnum_uscc.calc_check_digit(head)


@dataclass(frozen=True)
class Company:
    uscc: str
    name: str
    address: str


HUANAN = Company(make_uscc("440300", "52601815"), "深圳市华南精密制造有限公司",
                 "深圳市宝安区福海街道展城社区福园一路 18 号")
PENGCHENG = Company(make_uscc("440305", "67512093"), "深圳市南山区鹏城餐饮管理有限公司",
                    "深圳市南山区粤海街道科技园南区 3 栋 101")
JINSUI = Company(make_uscc("440106", "73418826"), "广州市天河区金穗贸易有限公司",
                 "广州市天河区天河路 385 号 1208 室")
XIHU = Company(make_uscc("330106", "90830166"), "杭州西湖数码科技有限公司",
               "杭州市西湖区文三路 90 号")
DONGFANG = Company(make_uscc("310115", "13186091"), "上海浦东新区东方物流有限公司",
                   "上海市浦东新区张杨路 500 号")
BOYUAN = Company(make_uscc("110108", "39099603"), "北京海淀区博远软件有限公司",
                 "北京市海淀区中关村大街 27 号")
SHUXIANG = Company(make_uscc("510104", "08246281"), "成都锦江区蜀香食品有限公司",
                   "成都市锦江区春熙路 16 号")
COMPANIES = (HUANAN, PENGCHENG, JINSUI, XIHU, DONGFANG, BOYUAN, SHUXIANG)

DEPARTMENTS = (
    ("market", "深圳市市场监督管理局"),
    ("tax", "国家税务总局深圳市税务局"),
    ("water", "深圳市水务局"),
)

# Public penalties (doc number → who): shown to everyone inside their publicity period.
HUANAN_PENALTY = "深市监罚〔2026〕12号"
PENGCHENG_PENALTY = "深市监罚〔2026〕27号"
JINSUI_PENALTY = "深税罚〔2026〕3号"
# A restricted record (有限公开): the subject and government see it, the public never does.
HUANAN_ARREARS_SUPPLIER = "深圳市水务（集团）有限公司"


def penalty(company: Company, doc: str, authority: str, **extra: str) -> dict[str, str]:
    """One row of an administrative penalty, in the catalog's field names."""
    row = {
        "subject_name": company.name, "uscc": company.uscc, "doc_number": doc,
        "penalty_kinds": "警告;罚款", "fine_amount": "30000", "decided_on": "2026-03-02",
        "authority": authority, "violation_type": "产品质量违法",
        "facts": "生产销售不符合保障人体健康和人身、财产安全的国家标准的产品",
        "basis": "《中华人民共和国产品质量法》第四十九条",
        "content": "警告，并处罚款人民币叁万元整",
    }
    row.update(extra)
    return row


@dataclass(frozen=True)
class User:
    username: str
    role: str
    display_name: str
    department: str | None = None
    subject: Company | None = None


ADMIN = User("office-admin", "admin", "信用办管理员")
OFFICER = User("market-officer", "department_officer", "市场监管局信用科", department="market")
ENTERPRISE = User("huanan", "subject", HUANAN.name, subject=HUANAN)
BANK = User("qianhai-bank", "bank", "深圳前海示范银行股份有限公司")
PROVIDER = User("sz-library", "provider", "深圳市示范图书馆")
# Only the lock-out test uses it: locking it disturbs no other test.
LOCKED = User("lock-target", "bank", "锁定测试银行股份有限公司")
USERS = (ADMIN, OFFICER, ENTERPRISE, BANK, PROVIDER, LOCKED)
# A registration waiting for the office's decision (made through the public service).
PENDING = User("shuxiang", "subject", SHUXIANG.name, subject=SHUXIANG)
