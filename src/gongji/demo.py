"""Demo data: about 20 families in the four regions, institutions of every level and kind, a year
of monthly credits and settlements up to today, and applications waiting for review (some past
their deadline). Everything goes through the service, so the demo database passes ``verify``."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from stdnum.cn import ric

from gongji.domain.errors import DomainError
from gongji.service import commands as c
from gongji.service import queries as q
from gongji.service import security
from gongji.service.clock import FixedClock
from gongji.service.facade import Service


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    counties: tuple[str, ...]
    relations: tuple[str, ...]


REGIONS = (
    Region("652800", "巴州", ("652801", "652822", "652827"), ("spouse", "parent", "child")),
    Region("532600", "文山", ("532601", "532622", "532623"), ("spouse", "parent", "child")),
    Region("370300", "淄博", ("370302", "370303", "370305"), ("spouse", "parent", "child", "sibling")),
    Region("532800", "西双版纳", ("532801", "532822", "532823"), ("spouse", "parent", "child")),
)
DEMO_PASSWORD = "gongji-demo"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ("建国", "秀英", "志强", "丽华", "海燕", "小明", "欣怡", "子涵", "国强", "桂兰", "文博", "雨桐")
# code, name, class, category, yuan, class-B self-pay share: what the cashier sends. The DEMO-
# codes are in the demo catalogue (demo_catalog.csv, not real NHSA codes), which classifies them
# at settlement (classified_by "catalog"); Y001 is not, so its class stays the cashier's.
ITEMS = (
    ("DEMO-X001", "血常规", "A", "exam", (20, 60), None),
    ("DEMO-X002", "彩超", "A", "exam", (120, 300), None),  # the catalogue: 乙类, capped at 180
    ("DEMO-D001", "阿莫西林胶囊", "A", "drug", (15, 60), None),
    ("DEMO-D002", "硝苯地平缓释片", "B", "drug", (40, 160), "0.10"),
    ("DEMO-D003", "二甲双胍片", "A", "drug", (20, 90), None),
    ("DEMO-D004", "人血白蛋白", "B", "drug", (300, 600), "0.20"),  # restricted: self-paid unapproved
    ("DEMO-T001", "针灸", "B", "tcm", (60, 200), "0.05"),
    ("DEMO-T002", "推拿", "B", "tcm", (50, 150), "0.05"),
    ("DEMO-C001", "营养补充剂", "C", "drug", (30, 120), None),
    ("DEMO-F001", "健身卡", "A", "fitness", (100, 300), None),
    ("Y001", "院内制剂", "B", "drug", (20, 80), "0.10"),
)
CATALOG_FILE = "demo_catalog.csv"


def catalog_csv() -> bytes:
    """The demo catalogue shipped in the package (演示用,非真实医保目录编码)."""
    from importlib.resources import files

    return files("gongji").joinpath(CATALOG_FILE).read_bytes()


def certno(rng: random.Random, county: str, born: date) -> str:
    """A valid number. stdnum checks that the birthplace code existed in the birth year (532601
    dates from 2010), so a code of the same prefecture is tried next, then a later birth year."""
    for year in range(born.year, born.year + 40):
        for place in [county] + [f"{county[:4]}{i:02d}" for i in range(1, 100)]:
            body = f"{place}{born.replace(year=year):%Y%m%d}{rng.randrange(100, 999)}"
            number = body + ric.calc_check_digit(body + "0")  # stdnum wants a placeholder digit
            try:
                return ric.validate(number)
            except Exception:  # stdnum's InvalidComponent, or KeyError for prefecture codes
                continue
    raise ValueError(f"no birthplace code known in {county[:4]}")


def load(svc: Service, clock: FixedClock, today: date, progress: Callable[[str], None] = lambda s: None,
         seed: int = 20251, days: int = 365, regions: tuple[Region, ...] = REGIONS) -> dict:
    """Fill an empty database. ``clock`` is moved day by day from ``days`` before ``today``.
    ``regions``: routed by province, each province's database gets its own regions."""
    rng = random.Random(seed)
    start = today - timedelta(days=days)
    clock.day = start
    counts = {"institutions": 0, "persons": 0, "families": 0, "settlements": 0, "pending": 0}
    counts["catalog"] = svc.import_catalog(catalog_csv(), actor="demo")["rows"]
    insts: dict[str, list[str]] = {}
    families = []
    for region in regions:
        codes = []
        for level, kind, label in ((1, "hospital", "社区卫生服务中心"), (2, "hospital", "人民医院"),
                                   (3, "hospital", "州医院"), (1, "pharmacy", "大药房")):
            code = f"H{region.code[:4]}{level}{'P' if kind == 'pharmacy' else 'H'}"
            svc.register_institution(c.RegisterInstitution(code=code, level=level, admdvs=region.counties[0],
                                                           kind=kind, name=f"{region.name}{label}"))
            codes.append(code)
            counts["institutions"] += 1
        insts[region.code] = codes
        for f in range(5):
            families.append(_family(svc, rng, region, f, counts))
    progress("families")
    day = start
    while day <= today:
        clock.day = day
        if day.day == 1:
            for fam in families:
                svc.credit(c.Credit(psn_no=fam["holder"], amount=rng.choice(["180.00", "236.50", "312.00", "405.80"])))
        for fam in families:
            if rng.random() < 0.07:
                _visit(svc, rng, fam, insts[fam["region"]], day, counts)
        day += timedelta(days=1)
        if day.day == 1:
            progress(day.strftime("%Y-%m"))
    _pending(svc, clock, rng, families, today, counts)
    if "532600" in insts:  # the cases are 文山's
        _suspicious(svc, clock, families, insts["532600"], today, counts)
    clock.day = today
    from gongji.service.supervise.engine import supervise
    counts["flags"] = supervise(svc.engine, today=today, by="demo")["new"]
    for role in security.ROLES:  # demo logins, printed by `gongji demo`; never in production
        svc.secure(security.add_staff, f"demo-{role}", role, password=DEMO_PASSWORD)  # the whole country
    for region in regions:  # a clerk of each prefecture's agency: its persons only
        svc.secure(security.add_staff, f"demo-clerk-{region.code}", "clerk", region.code[:4], password=DEMO_PASSWORD)
    counts["demo_holder"] = families[0]["holder"]
    counts["demo_persons"] = _person_logins(svc, families)
    counts["demo_cashier_at"] = insts.get("652800", insts[regions[0].code])[1]  # a level-2 hospital, 巴州's
    svc.secure(security.add_cashier, "demo-cashier", counts["demo_cashier_at"], password=DEMO_PASSWORD)
    return counts


DEMO_BENEFICIARIES = ((0, 2), (5, 1))  # (family, how many of its bound members): 巴州's first, 文山's first


def _person_logins(svc: Service, families: list[dict]) -> list[dict]:
    """Portal logins: the first family's holder, and bound members (spouse, a resident child) of
    the first families of 巴州 and 文山. Each with the full name the demo holds, for the summary."""
    chosen = [(families[0]["holder"], None, None)]
    for f, n in DEMO_BENEFICIARIES:
        if f >= len(families):  # routed: a province without that region
            continue
        fam = families[f]
        chosen += [(no, fam["relations"][no], fam["holder"]) for no in fam["members"][:n]]
    logins = []
    for no, relation, holder in chosen:
        svc.secure(security.set_person_password, no, password=DEMO_PASSWORD)
        name = svc.read(q.person_view, no, unmasked=True)["name"]
        logins.append({"psn_no": no, "name": name, "relation": relation, "holder": holder})
    return logins


def _person(svc: Service, rng: random.Random, region: Region, no: str, insutype: str,
            born: date, balance: str = "0.00") -> str:
    county = rng.choice(region.counties)
    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
    svc.register_person(c.RegisterPerson(
        psn_no=no, insutype=insutype, insu_admdvs=county, balance=balance if insutype == "310" else "0",
        name=name, certno=certno(rng, county, born), phone=f"139{rng.randrange(10**7, 10**8)}"))
    return no


def _family(svc: Service, rng: random.Random, region: Region, f: int, counts: dict) -> dict:
    prefix = f"{region.code[:4]}{f:02d}"
    holder = _person(svc, rng, region, f"{prefix}01", "310", date(rng.randrange(1970, 1990), 5, 17),
                     f"{rng.randrange(1500, 6000)}.00")
    members = [(f"{prefix}02", rng.choice(["310", "390"]), "spouse", date(1978, 3, 9)),
               (f"{prefix}03", "390", "child", date(2012, 8, 1))]
    if f % 2 == 0:
        members.append((f"{prefix}04", "390", "parent", date(1950, 1, 20)))
    if "sibling" in region.relations and f % 3 == 0:
        members.append((f"{prefix}05", "390", "sibling", date(1982, 6, 6)))
    bound = []
    for no, insutype, relation, born in members:
        _person(svc, rng, region, no, insutype, born, f"{rng.randrange(0, 800)}.00")
        channel = rng.choice(["online", "offline"])
        try:
            applied = svc.apply(c.Apply(holder=holder, beneficiary=no, relation=relation, channel=channel,
                                        e_commitment=channel == "online", face_check=channel == "online"))
            svc.review(c.Review(binding_id=applied["id"], decision="approve"), actor="demo-clerk")
            bound.append(no)
        except DomainError:
            pass
    counts["persons"] += 1 + len(members)
    counts["families"] += 1
    return {"region": region.code, "holder": holder, "members": bound,
            "relations": {no: relation for no, _, relation, _ in members}}


def _visit(svc: Service, rng: random.Random, fam: dict, insts: list[str], day: date, counts: dict) -> None:
    patient = rng.choice(fam["members"] or [fam["holder"]])
    inst = rng.choice(insts)
    pharmacy = inst.endswith("P")
    med_type = "41" if pharmacy else rng.choice(["11", "11", "11", "14"])
    chosen = rng.sample([i for i in ITEMS if not pharmacy or i[3] == "drug"], k=rng.randint(1, 3))
    items = [{"code": code, "name": name, "list_class": cls, "category": cat,
              "amount": f"{rng.randint(*yuan)}.{rng.randrange(100):02d}",
              **({"selfpay_prop": share} if share else {})}
             for code, name, cls, cat, yuan, share in chosen]
    visit = c.VisitRef(psn_no=patient, fixmedins=inst, med_type=med_type,
                       dise_codg=rng.choice(["I10.x00", "E11.900"]) if med_type == "14" else "J06.900",
                       external_rx=pharmacy and rng.random() < 0.7, items=items)
    key = f"demo-{day:%Y%m%d}-{patient}-{counts['settlements']}"
    out = svc.settle(key, visit, by_catalog=True)  # as the cashier page and REST do
    counts["settlements"] += 1
    if rng.random() < 0.02:
        svc.reverse(out["setl_id"], key=f"rev-{key}")


def _suspicious(svc: Service, clock: FixedClock, families: list[dict], insts: list[str], today: date,
                counts: dict) -> None:
    """Three cases in 文山 for the supervision desk to find (演示): a relative buying at four
    pharmacies in a week (多店购药), a holder's bill split in two on one day (拆分结算), and six
    pharmacy purchases in ten days (高频购药)."""
    shops = [insts[3]]
    for k, name in enumerate(("仁和药店", "同济堂药店", "百姓药房"), 2):
        code = f"H5326P{k}"
        svc.register_institution(c.RegisterInstitution(code=code, level=1, admdvs="532601", kind="pharmacy",
                                                       name=f"文山{name}"))
        shops.append(code)
        counts["institutions"] += 1
    wenshan = [f for f in families if f["region"] == "532600"]

    def buy(psn: str, inst: str, days_ago: int, amount: str, med_type: str = "41") -> None:
        clock.day = today - timedelta(days=days_ago)
        svc.settle(f"demo-case-{psn}-{inst}-{days_ago}-{amount}", c.VisitRef(
            psn_no=psn, fixmedins=inst, med_type=med_type, dise_codg="J06.900",
            items=[{"code": "DEMO-D001", "name": "阿莫西林胶囊", "list_class": "A", "category": "drug",
                    "amount": amount}]), by_catalog=True)
        counts["settlements"] += 1
    hopper = (wenshan[1]["members"] or [wenshan[1]["holder"]])[0]
    for days_ago, shop in zip((20, 18, 16, 14), shops, strict=True):
        buy(hopper, shop, days_ago, "48.50")
    for amount in ("820.00", "790.00"):
        buy(wenshan[2]["holder"], insts[0], 10, amount, med_type="11")
    frequent = (wenshan[3]["members"] or [wenshan[3]["holder"]])[0]
    for days_ago in (9, 8, 6, 5, 3, 1):
        buy(frequent, shops[days_ago % 2], days_ago, "36.00")


def _pending(svc: Service, clock: FixedClock, rng: random.Random, families: list[dict], today: date,
             counts: dict) -> None:
    """New family members applying in the last two weeks; nobody has reviewed them yet."""
    for i, fam in enumerate(families[::3]):
        clock.day = today - timedelta(days=(i * 3) % 14)
        region = next(r for r in REGIONS if r.code == fam["region"])
        no = f"{fam['holder'][:6]}09"
        _person(svc, rng, region, no, "390", date(2016, 2, 2))
        svc.apply(c.Apply(holder=fam["holder"], beneficiary=no, relation="child", channel="offline",
                          materials=[]))
        counts["pending"] += 1
