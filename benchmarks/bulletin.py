"""A province's bulletin: content, HTML and PDF for 5,000 canteens with twelve months of scorecards.

A province bureau with 10 cities of 10 counties each, 50 canteens a county, every canteen scored by the engine
against the reference standard for each of twelve months (60,000 scorecards). Times `build_content`,
`render_html` and `render_pdf` separately. Target: the three together within 30 s on a 2-core machine.

    python benchmarks/bulletin.py [--canteens 5000] [--only sqlite|postgresql] [--pdf FILE]
"""
import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import insert
from sqlmodel import Session

from canteen import db
from canteen.access import SYSTEM
from canteen.assessment.bulletins import content as bulletin_content
from canteen.assessment.bulletins.render import BulletinMeta, render_html
from canteen.assessment.models import AssessmentStandard, Scorecard
from canteen.assessment.periods import parse_period
from canteen.assessment.scoring import AssessmentInput, score
from canteen.assessment.standard import REFERENCE, ChecklistIndicator, reference_standard
from canteen.org.models import Bureau, BureauLevel, Canteen, OperatingMode, ServingMode
from canteen.web.pdf import render_pdf
from tests.support.pgserver import TemporaryPostgres

TARGET_SECONDS = 30.0
PERIOD = "2026-10"
CITIES = ["南昌市", "九江市", "景德镇市", "萍乡市", "新余市", "鹰潭市", "赣州市", "吉安市", "宜春市", "抚州市"]
COUNTIES = ["东湖", "西湖", "青云谱", "湾里", "青山湖", "新建", "红谷滩", "进贤", "安义", "修水", "武宁", "都昌",
            "湖口", "彭泽", "瑞昌", "庐山", "乐平", "浮梁", "莲花", "上栗", "芦溪", "分宜", "余江", "贵溪", "信丰",
            "大余", "上犹", "崇义", "安远", "龙南", "定南", "全南", "宁都", "于都", "兴国", "会昌", "寻乌", "石城",
            "瑞金", "吉水", "峡江", "新干", "永丰", "泰和", "遂川", "万安", "安福", "永新", "井冈山", "奉新", "万载",
            "上高", "宜丰", "靖安", "铜鼓", "丰城", "樟树", "高安", "南城", "黎川", "南丰", "崇仁", "乐安", "宜黄",
            "金溪", "资溪", "广昌", "玉山", "铅山", "横峰", "弋阳", "余干", "鄱阳", "万年", "婺源", "德兴", "昌江",
            "珠山", "湘东", "渝水", "月湖", "章贡", "南康", "赣县", "吉州", "青原", "袁州", "临川", "东乡", "信州",
            "广丰", "广信", "濂溪", "浔阳", "柴桑", "共青城", "德安", "永修", "星子", "安源"]
UNITS = ["人民政府", "发展和改革委员会", "教育局", "科学技术局", "工业和信息化局", "公安局", "民政局", "司法局",
         "财政局", "人力资源和社会保障局", "自然资源局", "生态环境局", "住房和城乡建设局", "交通运输局", "水利局",
         "农业农村局", "商务局", "文化广电新闻出版旅游局", "卫生健康委员会", "退役军人事务局", "应急管理局", "审计局",
         "市场监督管理局", "统计局", "医疗保障局", "林业局", "城市管理局", "行政审批局", "信访局", "机关事务管理中心",
         "人民法院", "人民检察院", "税务局", "档案馆", "党校", "第一中学", "第二中学", "实验小学", "人民医院", "中医院",
         "妇幼保健院", "疾病预防控制中心", "供销合作社", "融媒体中心", "图书馆", "体育中心", "气象局", "烟草专卖局",
         "邮政管理局", "总工会"]
# Per metric: its value for an exemplary canteen and for a poor one.
METRIC_RANGES = {"plate_waste_g_per_diner": (25.0, 110.0), "forecast_wape": (0.05, 0.5),
                 "small_portion_share": (0.7, 0.0), "surplus_food_g_per_diner": (5.0, 60.0),
                 "clean_plate_rate": (0.95, 0.5), "weighing_coverage": (1.0, 0.4),
                 "plate_waste_change_yoy_pct": (-25.0, 10.0), "kitchen_waste_g_per_diner": (60.0, 220.0)}


def answer(level: float, draw: float) -> str:
    return "met" if draw < level else "partly" if draw < level + 0.2 else "not_met"


def months_back(count: int) -> list[str]:
    period, names = parse_period(PERIOD), []
    for _ in range(count):
        names.insert(0, period.name)
        period = period.previous
    return names


def seed(session: Session, canteens: int) -> int:
    """The province and its canteens, and twelve months of scorecards; returns the province's id."""
    rng = random.Random(20261023)
    standard = reference_standard()
    row = AssessmentStandard(code=standard.code, version=standard.version, title=standard.title,
                             content_hash=standard.content_hash, source=REFERENCE.read_text(encoding="utf-8"),
                             loaded_at=datetime(2026, 1, 1, tzinfo=UTC))
    province = Bureau(name="江西省机关事务管理局", level=BureauLevel.province)
    session.add_all([row, province])
    session.flush()
    province.path = f"/{province.id}/"
    counties = []
    for city_index, city_name in enumerate(CITIES):
        city = Bureau(name=f"{city_name}机关事务管理局", level=BureauLevel.city, parent_id=province.id)
        session.add(city)
        session.flush()
        city.path = f"{province.path}{city.id}/"
        for county_name in COUNTIES[city_index * 10:city_index * 10 + 10]:
            county = Bureau(name=f"{county_name}县机关事务服务中心", level=BureauLevel.county, parent_id=city.id)
            session.add(county)
            session.flush()
            county.path = f"{city.path}{county.id}/"
            counties.append((county, f"{county_name}县"))
    per_county = -(-canteens // len(counties))
    rows = [Canteen(bureau_id=county.id, name=f"{place}{unit}机关食堂", timezone="Asia/Shanghai",
                    operating_mode=rng.choice(list(OperatingMode)), serving_mode=rng.choice(list(ServingMode)))
            for county, place in counties for unit in UNITS[:per_county]][:canteens]
    session.add_all(rows)
    session.flush()
    checklist_ids = [indicator.id for _, indicator in standard.indicators()
                     if isinstance(indicator, ChecklistIndicator)]
    # Each canteen has its own level of anti-waste work (0 poor, 1 exemplary); months vary around it.
    levels = {canteen.id: rng.betavariate(10, 2) for canteen in rows}
    for name in months_back(bulletin_content.TREND_PERIODS):
        period = parse_period(name)
        cards = []
        for canteen in rows:
            level = min(max(levels[canteen.id] + rng.gauss(0, 0.05), 0.0), 1.0)
            values = {metric: round(bad + (good - bad) * min(max(level + rng.gauss(0, 0.15), 0.0), 1.0), 3)
                      for metric, (good, bad) in METRIC_RANGES.items()}
            values["diners"] = float(rng.randint(300, 20000))
            answers = {id_: answer(level, rng.random()) for id_ in checklist_ids}
            vetoes = ("V1",) if rng.random() < 0.002 else ()
            card = score(standard, AssessmentInput(period=name, metrics=values, checklist=answers, vetoes=vetoes))
            cards.append({"canteen_id": canteen.id, "kind": period.kind, "period": name, "starts": period.starts,
                          "ends": period.ends, "standard_id": row.id, "total": float(card.total), "grade": card.grade,
                          "vetoed": bool(card.vetoes), "computed_at": datetime(2026, 11, 1, tzinfo=UTC),
                          "body": card.to_dict() | {"metrics": {key: {"value": value, "basis": {}}
                                                                for key, value in values.items()}}})
        session.execute(insert(Scorecard), cards)
    return province.id


def measure(database_url: str, canteens: int, pdf_path: Path | None) -> float:
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    started = time.perf_counter()
    with db.session_scope(engine) as session:
        province = seed(session, canteens)
    months = bulletin_content.TREND_PERIODS
    print(f"  seeded {canteens} canteens x {months} months in {time.perf_counter() - started:.0f} s")
    with Session(engine) as session:
        started = time.perf_counter()
        content = bulletin_content.build_content(session, SYSTEM, province, PERIOD, issued_on=date(2026, 11, 23))
        content_s = time.perf_counter() - started
    meta = BulletinMeta(title=bulletin_content.default_title(parse_period(PERIOD)), issuer=content["bureau"]["name"],
                        version=1, issued_on=date(2026, 11, 23))
    started = time.perf_counter()
    html = render_html(content, {"opening": "现将评估情况通报如下。", "good_practices": "", "requirements": ""}, meta)
    html_s = time.perf_counter() - started
    started = time.perf_counter()
    pdf = render_pdf(html)
    pdf_s = time.perf_counter() - started
    engine.dispose()
    if pdf_path is not None:
        pdf_path.write_bytes(pdf)
    total = content_s + html_s + pdf_s
    print(f"  content {content_s:.1f} s ({len(content['ranking'])} canteens, {len(content['failing'])} failing), "
          f"html {html_s:.1f} s ({len(html) / 1e6:.1f} MB), pdf {pdf_s:.1f} s ({len(pdf) / 1e6:.1f} MB); "
          f"total {total:.1f} s (target {TARGET_SECONDS:.0f} s)")
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--canteens", type=int, default=5000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--pdf", type=Path, help="keep the PDF here")
    args = parser.parse_args()
    totals = []
    if args.only != "postgresql":
        print("sqlite")
        with tempfile.TemporaryDirectory() as folder:
            totals.append(measure(f"sqlite:///{folder}/bench.db", args.canteens, args.pdf))
    if args.only != "sqlite":
        print("postgresql")
        with TemporaryPostgres() as server:
            totals.append(measure(server.url, args.canteens, args.pdf))
    return 0 if all(total <= TARGET_SECONDS for total in totals) else 1


if __name__ == "__main__":
    sys.exit(main())
