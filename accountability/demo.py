"""The deterministic demo province (江南省): a realistic dataset in the contract's CSV form.

``generate(out, scale, seed)`` writes one UTF-8 CSV per table into ``out`` and returns the row counts.
The output depends only on ``(scale, seed, today)``: every random choice comes from ``random.Random``
streams seeded from ``seed``, ``today`` defaults to the fixed :data:`TODAY`, and nothing is iterated in
an order Python does not fix — two runs write byte-identical files.

The structure fits the reference rules, gaps included, so the tracing engine has something to find:

* a jurisdiction tree province → city → county (区/县/县级市) → township (镇/乡/街道) → a few villages;
* at every province, city and county a party committee, a government, a safety committee, the
  emergency-management department (comprehensive supervision, also regulating chemicals, mining and
  industry/trade) and sector departments; townships have only a party committee and a government;
  some counties have a development zone (park committee) that a share of their enterprises belong to;
* deliberate gaps: ~10% of counties have no forestry bureau (forest fire walks up to the city), ~10% a
  housing bureau that does not cover self-built housing; water traffic has no regulator at the province
  nor anywhere in the last city's subtree (``no_regulator``); a few governments leave one industry out
  of every deputy's portfolio (``no_portfolio``); ~1% of enterprises have no principal
  (``no_principal``); some posts are vacant today or were vacant for a stretch (``vacant_post``);
* tenures with rotations, acting holders, vacancies and cadres moving between posts; the safety
  committee's director is the government head (the same person holds both posts);
* portfolios (分管) that move from one deputy to another mid-period;
* hazards streamed to disk (millions at province scale) with events, and a few incidents on and
  around the thresholds of 国务院令第493号.

The records of conduct that the v2 rules judge (DESIGN.md, "Dataset contract v2"):


* group enterprises (集团) at city level, each with a principal, controlling ~4% of the enterprises of their
  city (``controlled_by``); ~3% of enterprises have an actual controller (实际控制人) besides the registered
  principal — E000002's took over 12 days before today (no conditions to perform yet);
* hazards that are also another industry, read from their description (a gas main or a cylinder is also
  special equipment, an amusement ride too, a dangerous-goods lorry also hazardous chemicals); ~8% whose
  condition is later established to predate their finding (``existed_since``); ~3% of enterprise hazards
  that a neighbouring unit (landlord, lessor) also answers for (``other_organization_ids``);
* inspections led by the regulating department's head or its deputy, 0.7 a year per enterprise on
  average (more for chemicals, mining and gas): ~28% of enterprise hazards are found by one
  (hazards_found, order_issued, penalty, suspension; a bare finding is often followed by a written
  ``order_issued`` event), and every inspection records its unit's hazards registered and open that day.
  What it cannot record is a hazard not yet found: about a third of those that existed before their
  finding had such a visit (missed, rule 10); a major hazard found without an order is "found and not
  handled";
* look-backs (回头看): ~3% of closed hazards (half the major ones) re-inspected months later, the sign-off
  on record; 15% have relapsed (rule 11); regulators' written orders on most major hazards;
* designations: a county or city deputy head (the one in charge of the industry) supervising most major
  hazards (包保/挂牌督办), a township's safety officer (安监站站长) as grid inspector for ~25% of the
  enterprises in townships; in ~60% of city and county departments the deputy head has a portfolio (the
  department's work safety overall, or one of its industries);
* incidents with the time of day, further industries where the accident kind implies them, the first
  large accident investigated by the province (提级调查), and the outcomes a real report decides: the
  enterprise's principal, safety manager and actual controller, the regulators' heads and deputies, the
  leaders in charge and the township, heavier for graver accidents, and interviews (约谈) for the leaders
  above.

They come from random streams of their own: they add rows and fill v2's columns, and every row the
generator wrote before them stays as it was, for every seed.

Scales: ``small`` (tests, < 1 s), ``county`` and ``province`` (21 cities, 120 counties, 1,600
townships, 300,000 enterprises, 2,000,000 hazards of which over 500,000 unresolved).

``provinces=N`` writes N such provinces side by side (江南省, 江北省, …; every id prefixed ``JN-``, ``JB-``, …):
a regional office's data, for the batch in parts (``accountability.batch``).
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from array import array
from dataclasses import dataclass
from pathlib import Path

from accountability.memory import gc_paused
from accountability.progress import Progress
from graph_schema import SCHEMA

TODAY = "2026-11-28"

# the columns the generator fills, in the contract's order (v1's, then v2's); a column or table the contract
# gains later is written empty, so that the files always carry the whole contract's headers
FILLED: dict[str, tuple[str, ...]] = {
    "jurisdictions": ("id", "name", "level", "parent_id"),
    "organizations": ("id", "name", "kind", "jurisdiction_id", "parent_id", "industries", "supervision",
                      "controlled_by"),
    "posts": ("id", "title", "organization_id", "role"),
    "people": ("id", "name"),
    "tenures": ("person_id", "post_id", "start", "end", "acting"),
    "portfolios": ("post_id", "industry", "organization_id", "start", "end"),
    "hazards": ("id", "description", "industry", "level", "jurisdiction_id", "organization_id", "found_on",
                "deadline", "status", "closed_on", "also_industries", "existed_since", "other_organization_ids"),
    "incidents": ("id", "title", "occurred_on", "jurisdiction_id", "organization_id", "industry", "deaths",
                  "serious_injuries", "direct_loss_yuan", "hazard_ids", "also_industries", "occurred_at",
                  "investigating_level"),
    "events": ("hazard_id", "on", "kind", "post_id", "deadline", "note", "outcome"),
    "inspections": ("id", "organization_id", "on", "post_id", "campaign_id", "hazard_ids", "outcome", "note"),
    "designations": ("post_id", "kind", "target_id", "start", "end"),
    "outcomes": ("person_id", "incident_id", "form", "decided_on", "source"),
    "duty_shifts": ("jurisdiction_id", "post_id", "person_id", "role", "start", "end"),
    "incident_reports": ("incident_id", "from_organization_id", "to_organization_id", "at", "post_id", "kind"),
    "campaigns": ("id", "title", "kind", "jurisdiction_id", "start", "end", "industries"),
    "measures": ("id", "title", "source", "parent_id", "industries", "deadline"),
    "measure_assignments": ("measure_id", "organization_id", "role", "deadline"),
    "measure_reports": ("measure_id", "organization_id", "on", "status", "note"),
}
TABLES: dict[str, tuple[str, ...]] = {t: SCHEMA.tables[t].names for t in SCHEMA.tables if t != "industries"}


def _check_filled() -> None:
    """A row is written as its filled columns followed by empty ones, so the filled columns must lead."""
    for table, columns in FILLED.items():
        if TABLES.get(table, ())[:len(columns)] != columns:
            raise RuntimeError(f"demo: the contract's {table} columns {TABLES.get(table)} do not begin with "
                               f"{columns}")


_check_filled()


@dataclass(frozen=True)
class Scale:
    cities: int
    counties: int  # in total, spread over the cities
    townships: int  # in total, spread over the counties
    max_villages: int  # villages per township: 0..max_villages
    enterprises: int
    hazards: int
    incidents: int


SCALES: dict[str, Scale] = {
    "small": Scale(cities=2, counties=4, townships=12, max_villages=2, enterprises=200, hazards=2_000, incidents=5),
    "county": Scale(cities=3, counties=12, townships=144, max_villages=2, enterprises=10_000, hazards=60_000,
                    incidents=10),
    "province": Scale(cities=21, counties=120, townships=1_600, max_villages=2, enterprises=300_000,
                      hazards=2_000_000, incidents=50),
}

# -- tunables ------------------------------------------------------------------------------------------------

CHUNK = 5_000  # rows of a table written at once

HISTORY_DAYS = 3 * 365  # hazards are found over the last three years
# issue #16: a comprehensive inspection 150 to 60 days before today, a look-back over the last 120 days, and the
# province's 65 measures beside the national 15 (deadline about 30 days ago: some overdue, some done, some silent)
CAMPAIGN_ID, LOOKBACK_ID = "CAMP-DJC", "CAMP-HTK"
CAMPAIGN_DAYS = (150, 60)
LOOKBACK_DAYS = 120
PROVINCE_MEASURES = 65
MEASURE_DEADLINE_DAYS = 30
MEASURE_SILENT, MEASURE_DONE = 0.15, 0.55  # assignments without any report; with a report of done
STEPS = 6  # steps that progress hears of: places, governments, enterprises, hazards, conduct, the rest
LOCAL_MEASURES = 4  # of the province's measures, passed down to each city and county, led by one of its departments
MEASURE_TOPICS = ("压实党政领导责任", "落实部门监管责任", "企业主要负责人履职", "危险化学品安全整治", "矿山安全整治",
                  "城镇燃气安全整治", "自建房安全整治", "道路交通安全整治", "消防安全整治", "建筑施工安全整治",
                  "特种设备安全整治", "打非治违专项行动", "隐患举报奖励", "执法队伍建设", "事故报告核查")
DUTY_DAYS = 27  # duty rosters cover the last four weeks (and the days around each incident)
DUTY_AHEAD = 7  # and the week ahead: a roster is planned before it is kept
UNCOVERED_NIGHTS = 0.03  # share of a jurisdiction's days whose leader on duty leaves at 20:00
LATE_REPORTS = 0.12  # share of required report steps made late (迟报)
ORIGIN_DAYS = 5 * 365  # tenure timelines are built from about five years before today
UNRESOLVED = 0.256  # share of hazards open or rectifying today
MAJOR = 0.007  # share of major hazards
NO_ORG = 0.08  # share of hazards without an organization (roads, self-built houses, forests, slopes)
ESCALATED = 0.85  # share of major hazards with an `escalated` event
PARK_COUNTIES = 0.35  # counties with a development zone
PARK_ENTERPRISES = 0.10  # share of all enterprises that belong to a development zone
NO_PRINCIPAL = 0.01
COUNTY_NO_FORESTRY = 0.10
COUNTY_NO_SELF_BUILT = 0.10
JURISDICTION_NO_PORTFOLIO = 0.08
PORTFOLIO_MOVES = 0.5  # governments where 1-3 portfolio items pass to another deputy
SHOWCASE = 5  # enterprises E000001-E000005 show the gaps (see _enterprises); their first hazards are unresolved
CADRE_MOVES = 0.30  # a new holder of a government post is a cadre coming from another post

# the records of conduct (contract v2), drawn from streams of their own
GROUP_SIZE = 500  # a city has a group enterprise (集团) per this many enterprises, and at least one
CONTROLLED = 0.04  # share of enterprises controlled by a group enterprise of their city
ACTUAL_CONTROLLER = 0.03  # enterprises with an actual controller (实际控制人) besides the registered principal
EXISTED_BEFORE = 0.08  # hazards whose condition is later established to predate their finding
MISSED_BEFORE = 0.35  # ... of which (at an enterprise) a regulator inspected the unit meanwhile and recorded nothing
OTHER_UNIT = 0.03  # enterprise hazards that a neighbouring unit (landlord, lessor) also answers for
SELF_FOUND = 0.3  # hazards the enterprise reported itself (a `found` event by its safety manager)
FOUND_BY_INSPECTION = 0.4  # ... of the others at an enterprise: found by a regulator's inspection
ORDER_AFTER_FINDING = 0.5  # a bare finding followed by a written order (an `order_issued` event)
MAJOR_ORDER = 0.6  # major hazards not found by an inspection that the regulator orders rectified in writing
HEAD_LEADS = 0.4  # inspections led by the department head (else its deputy)
ROUTINE = 0.12  # inspections that record nothing, per enterprise and year (more for the riskier industries)
ROUTINE_WEIGHT = {"hazardous_chemicals": 3.0, "mining": 3.0, "urban_gas": 2.0}
REINSPECTED, REINSPECTED_MAJOR = 0.04, 0.5  # closed hazards re-inspected in a look-back (回头看)
RELAPSED = 0.15  # ... found relapsed
SUPERVISED = 0.85  # major hazards with a supervising leader (包保/挂牌督办领导)
SUPERVISED_BY_CITY = 0.3  # ... a city's deputy head rather than the county's
GRID = 0.25  # enterprises in a township with a grid inspector (网格员)
DEPUTY_PORTFOLIO = 0.6  # city and county departments whose deputy head has a portfolio
DEPUTY_OVERALL = 0.4  # ... the department's work safety overall (`*`) rather than one of its industries
SHOWCASE_CONTROLLER = 1  # E000002 (index 1): an actual controller who took over days ago (no_conditions)
NEW_CONTROLLER_DAYS = 12

# -- names -----------------------------------------------------------------------------------------------------

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
            "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
# the most common surnames come first and are weighted more
SURNAME_POOL = SURNAMES[:10] * 4 + SURNAMES[:30] * 2 + SURNAMES
GIVEN = ("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红志建国海文辉鹏斌宇浩凯丹婷雪琳晨欣博宁林峰俊亮成东旭兵"
         "松新春梅云飞振永德荣庆虹慧颖佳思雨晓立增长昊天宏卫利民光耀诚岩冰彤蕾薇倩楠航帆毅锋")
PLACE_A = "临青云江清东西南北安平永宁长新德华金龙凤白石桃梅松柳黄红阳明秀丰兴文望双河湖山溪泉川峰远鹤雁翠碧绿宝玉"
PLACE_B = "江州山阳安宁源泉河湖川城口关桥林田坪溪原谷丰平水岗塘湾庄岭海浦陵丘滩洲沙峪"
ZIHAO_A = "鑫华恒盛泰宏瑞源达通利昌隆丰祥茂嘉和润远海天金永信安康兴宇晟腾飞佳诚富"
ZIHAO_B = "源盛达通利昌隆丰祥茂嘉和润远海泰华宇兴业发顺成鼎辉晖峰锦"

# -- departments -----------------------------------------------------------------------------------------------

# code, province name, city/county name, industries, supervision
DEPARTMENTS: tuple[tuple[str, str, str, tuple[str, ...], str], ...] = (
    ("EM", "应急管理厅", "应急管理局", ("hazardous_chemicals", "mining", "industry_trade"), "comprehensive"),
    ("JT", "交通运输厅", "交通运输局", ("road_traffic", "water_traffic"), "sector"),
    ("WL", "文化和旅游厅", "文化和旅游局", ("tourism",), "sector"),
    ("ZJ", "住房和城乡建设厅", "住房和城乡建设局", ("urban_gas", "construction", "self_built_housing"), "sector"),
    ("XF", "消防救援总队", "消防救援支队", ("fire",), "sector"),
    ("LY", "林业局", "林业局", ("forest_fire",), "sector"),
    ("SJ", "市场监督管理局", "市场监督管理局", ("special_equipment",), "sector"),
    ("SL", "水利厅", "水利局", ("natural_disaster",), "sector"),
    ("ZR", "自然资源厅", "自然资源局", ("natural_disaster",), "sector"),
)
# the vocabulary's industries, in its order (random draws follow it); "*" is a portfolio's "every industry"
INDUSTRIES = tuple(code for code in SCHEMA.vocabularies["industries"] if code != "*")
# industries a government sometimes leaves out of every deputy's portfolio
RARELY_ASSIGNED = ("tourism", "special_equipment", "forest_fire", "natural_disaster", "water_traffic")
# the industry without a regulator at the province and in the last city's subtree
UNREGULATED = "water_traffic"

# -- enterprises and hazards ------------------------------------------------------------------------------------

ENTERPRISE_MIX: tuple[tuple[str, float], ...] = (
    ("industry_trade", 34), ("construction", 16), ("fire", 11), ("road_traffic", 8), ("hazardous_chemicals", 7),
    ("special_equipment", 6), ("tourism", 5), ("urban_gas", 4), ("water_traffic", 2.5), ("mining", 1.5),
    ("forest_fire", 1.5), ("self_built_housing", 1.5),
)
ENTERPRISE_SUFFIXES: dict[str, tuple[str, ...]] = {
    "hazardous_chemicals": ("化工有限公司", "石化有限公司", "危险化学品仓储有限公司", "新材料科技有限公司", "加油站",
                            "精细化工有限公司"),
    "mining": ("矿业有限公司", "煤矿", "石料厂", "非煤矿山有限公司"),
    "industry_trade": ("机械制造有限公司", "食品有限公司", "纺织有限公司", "金属制品有限公司", "木业有限公司", "铝业有限公司",
                       "粮油加工厂", "冷链物流有限公司", "家具有限公司", "饲料有限公司"),
    "construction": ("建筑工程有限公司", "建设集团有限公司", "路桥工程有限公司", "市政工程有限公司", "建筑劳务有限公司"),
    "urban_gas": ("燃气有限公司", "天然气有限公司", "液化气站", "燃气供应站"),
    "road_traffic": ("客运有限公司", "物流有限公司", "汽车运输有限公司", "公共交通有限公司", "危货运输有限公司"),
    "water_traffic": ("航运有限公司", "轮渡公司", "船务有限公司", "码头有限公司"),
    "tourism": ("旅游景区", "旅游开发有限公司", "游乐园", "漂流景区", "玻璃栈道景区"),
    "fire": ("大酒店", "商贸城", "购物广场", "养老院", "歌舞娱乐有限公司", "宾馆", "电动车充电站"),
    "special_equipment": ("电梯工程有限公司", "锅炉有限公司", "起重设备安装有限公司", "气瓶充装站", "压力容器有限公司"),
    "forest_fire": ("林场", "林业开发有限公司", "苗木种植专业合作社"),
    "self_built_housing": ("民宿", "出租公寓", "农家乐"),
}
NO_ORG_MIX: tuple[tuple[str, float], ...] = (
    ("self_built_housing", 4), ("road_traffic", 3), ("natural_disaster", 3), ("forest_fire", 2),
)
AREAS: dict[str, tuple[str, ...]] = {
    "hazardous_chemicals": ("罐区", "1号生产车间", "危化品仓库", "装卸站台", "中控室", "反应釜区域", ""),
    "mining": ("井下采区", "主斜井", "排土场", "尾矿库", "炸药库", ""),
    "industry_trade": ("生产车间", "粉尘作业区", "有限空间作业点", "配电室", "成品仓库", "冷库", ""),
    "construction": ("施工现场", "基坑", "塔吊作业区", "脚手架", "临时用电线路", "高支模区域", ""),
    "urban_gas": ("调压站", "瓶装液化气供应站", "餐饮用户", "中压管网", "门站", ""),
    "road_traffic": ("客运车辆", "危货运输车辆", "急弯陡坡路段", "临水临崖路段", "停车场", ""),
    "water_traffic": ("渡口", "渡船", "码头", "客运船舶", ""),
    "tourism": ("游览步道", "游乐设施", "漂流河段", "观景平台", "游船码头", ""),
    "fire": ("疏散通道", "消防控制室", "厨房", "电动车停放区", "仓库", ""),
    "forest_fire": ("林区", "防火隔离带", "林区入口", "坟山祭扫区", ""),
    "self_built_housing": ("经营性自建房", "出租屋", "加层改建房屋", ""),
    "special_equipment": ("电梯", "锅炉房", "起重机械", "压力管道", "气瓶充装区", ""),
    "natural_disaster": ("地质灾害隐患点", "山洪沟", "河道堤防", "小型水库", ""),
}
PROBLEMS: dict[str, tuple[str, ...]] = {
    "hazardous_chemicals": ("可燃气体报警装置失效", "静电接地设施损坏", "安全阀未按期校验", "防爆电气设备不防爆",
                            "危险化学品混存", "作业人员未持证上岗", "应急物资配备不足", "动火作业审批不规范"),
    "mining": ("通风设施不完善", "安全出口不畅通", "监测监控系统故障", "顶板支护不规范", "排水设施能力不足",
               "特种作业人员无证上岗"),
    "industry_trade": ("除尘系统未设置泄爆装置", "有限空间作业未执行先通风再检测后作业", "设备防护罩缺失",
                       "配电箱无漏电保护", "叉车司机无证作业", "液氨管道腐蚀", "安全警示标志缺失"),
    "construction": ("脚手架未按规定设置连墙件", "基坑临边防护缺失", "塔吊限位装置失灵", "高处作业未系安全带",
                     "临时用电未做到一机一闸一漏", "深基坑未按方案支护", "模板支撑体系未经验收"),
    "urban_gas": ("燃气管道被占压", "餐饮场所未安装燃气泄漏报警装置", "液化气钢瓶超期未检", "调压设备锈蚀",
                  "使用不合格连接软管", "燃气设施与电气设备间距不足"),
    "road_traffic": ("车辆动态监控装置故障", "驾驶员疲劳驾驶", "临水临崖路段缺少防护栏", "车辆超载超限",
                     "急弯路段缺少警示标志", "客车安全锤缺失"),
    "water_traffic": ("渡船救生衣配备不足", "船舶超载", "码头缺少安全护栏", "船员无证驾驶", "恶劣天气仍冒险航行"),
    "tourism": ("游乐设施未定期检验", "游览步道护栏松动", "景区高峰期未限流", "漂流河段安全员不足", "应急救援预案未演练"),
    "fire": ("消防通道堵塞", "安全出口锁闭", "消防设施未保持完好有效", "电动车违规停放充电", "电气线路私拉乱接",
             "消防控制室人员无证上岗", "疏散指示标志损坏"),
    "forest_fire": ("防火隔离带未清理", "林区违规用火", "扑火物资储备不足", "护林员巡护不到位", "林区输电线路下可燃物未清理"),
    "self_built_housing": ("房屋承重墙开裂", "违规加层改建", "擅自改变房屋用途", "结构安全鉴定为C级仍在使用",
                           "拆改承重结构"),
    "special_equipment": ("电梯超期未检", "锅炉安全附件失效", "起重机械限位器失灵", "压力容器未登记使用",
                          "气瓶充装记录不全", "作业人员无证操作"),
    "natural_disaster": ("地质灾害隐患点监测不到位", "山洪沟道行洪不畅", "堤防存在渗漏", "水库溢洪道堵塞",
                         "危险区域群众转移预案缺失"),
}
MAJOR_PROBLEMS: dict[str, tuple[str, ...]] = {
    "hazardous_chemicals": ("涉及重点监管危险化工工艺的装置未实现自动化控制", "构成一级二级重大危险源的装置未实现紧急切断功能",
                            "外部安全防护距离不符合国家标准要求"),
    "mining": ("超层越界开采", "未按规定建立和使用瓦斯抽采系统", "水文地质条件复杂未采取探放水措施"),
    "industry_trade": ("粉尘爆炸危险场所设置在非框架结构建筑物内", "涉氨制冷企业包装间内作业人员超过9人",
                       "有限空间作业未辨识并设置警示标识"),
    "construction": ("超过一定规模的危大工程未组织专家论证", "建筑起重机械安装拆卸无专项方案", "深基坑出现明显变形未停工"),
    "urban_gas": ("燃气管道穿越密闭空间未采取防护措施", "在地下室使用瓶装液化石油气", "燃气场站安全间距不足"),
    "road_traffic": ("长下坡路段未设置避险车道", "客运车辆未安装动态监控装置仍运营"),
    "water_traffic": ("客渡船无有效检验证书仍载客运营",),
    "tourism": ("大型游乐设施存在严重安全缺陷仍运营",),
    "fire": ("人员密集场所未按规定设置自动喷水灭火系统", "疏散楼梯数量不足", "建筑物外墙使用易燃可燃保温材料"),
    "forest_fire": ("重点林区无防火隔离带",),
    "self_built_housing": ("经营性自建房经鉴定为D级危房仍在使用",),
    "special_equipment": ("电梯制动器失效仍投入使用", "锅炉缺少水位保护装置"),
    "natural_disaster": ("威胁百人以上的地质灾害隐患点未落实监测预警",),
}
ACCIDENT_KINDS: dict[str, tuple[str, ...]] = {
    "hazardous_chemicals": ("爆炸", "火灾", "中毒窒息", "泄漏爆炸"),
    "mining": ("透水", "瓦斯爆炸", "冒顶片帮", "坍塌"),
    "industry_trade": ("粉尘爆炸", "机械伤害", "有限空间中毒窒息", "火灾", "液氨泄漏"),
    "construction": ("坍塌", "高处坠落", "起重伤害", "脚手架坍塌"),
    "urban_gas": ("燃气爆炸",),
    "road_traffic": ("道路交通", "客车侧翻"),
    "water_traffic": ("沉船", "渡船翻沉"),
    "tourism": ("游乐设施", "游船侧翻"),
    "fire": ("火灾",),
    "forest_fire": ("森林火灾",),
    "self_built_housing": ("居民自建房倒塌",),
    "special_equipment": ("电梯", "锅炉爆炸", "起重机械倒塌"),
    "natural_disaster": ("山体滑坡",),
}

# (deaths, serious_injuries, direct_loss_yuan, industries that fit)
_G = ("industry_trade", "construction", "fire", "special_equipment", "road_traffic", "urban_gas")
_L = ("construction", "industry_trade", "hazardous_chemicals", "urban_gas", "road_traffic", "fire", "water_traffic")
_M = ("hazardous_chemicals", "urban_gas", "mining", "fire", "road_traffic", "tourism")
_E = ("hazardous_chemicals", "fire", "self_built_housing", "mining")
GENERAL = ((1, 0, 850_000, _G), (0, 2, 1_200_000, _G), (2, 9, 9_999_999, _G), (0, 0, 3_500_000, _G),
           (1, 3, 2_300_000, _G), (2, 1, 4_100_000, _G))
LARGE = ((3, 1, 4_600_000, _L), (0, 10, 2_000_000, _L), (1, 4, 10_000_000, _L), (6, 12, 21_000_000, _L),
         (9, 49, 49_999_999, _L), (4, 7, 8_800_000, _L))
MAJOR_ACC = ((10, 5, 38_000_000, _M), (4, 50, 30_000_000, _M), (2, 8, 50_000_000, _M), (17, 23, 96_000_000, _M),
             (29, 99, 99_999_999, _M))
ESPECIALLY = ((30, 41, 180_000_000, _E), (8, 100, 62_000_000, _E), (5, 20, 100_000_000, _E),
              (54, 9, 90_770_000, ("self_built_housing",)), (78, 617, 1_986_000_000, ("hazardous_chemicals",)))


# -- records of conduct (v2) ----------------------------------------------------------------------------------

# group enterprises: (name suffix, industry); a city's first group is a diversified holding
GROUP_KINDS: tuple[tuple[str, str], ...] = (
    ("控股集团有限公司", "industry_trade"), ("建设集团有限公司", "construction"), ("化工集团有限公司", "hazardous_chemicals"),
    ("交通投资集团有限公司", "road_traffic"), ("燃气集团有限公司", "urban_gas"), ("文化旅游集团有限公司", "tourism"),
    ("矿业集团有限公司", "mining"), ("商业集团有限公司", "fire"),
)
# a hazard is also of another industry when its description says so: (industry, words, the other industry)
ALSO: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("urban_gas", ("中压管网", "燃气管道", "钢瓶"), "special_equipment"),  # pressure pipelines, gas cylinders
    ("tourism", ("游乐设施",), "special_equipment"),  # amusement rides are special equipment
    ("road_traffic", ("危货",), "hazardous_chemicals"),  # dangerous goods on the road
)
# an accident of this (industry, kind) is also of another industry
INCIDENT_ALSO: dict[tuple[str, str], str] = {
    ("urban_gas", "燃气爆炸"): "special_equipment", ("tourism", "游乐设施"): "special_equipment",
    ("hazardous_chemicals", "火灾"): "fire", ("hazardous_chemicals", "泄漏爆炸"): "fire",
}
FOUND_OUTCOMES = (("hazards_found", 0.45), ("order_issued", 0.45), ("penalty", 0.08), ("suspension", 0.02))
FOUND_OUTCOMES_MAJOR = (("hazards_found", 0.1), ("order_issued", 0.5), ("penalty", 0.25), ("suspension", 0.15))
# what an investigation decides, by accident level: (who, forms to choose from); `interview` (约谈) is not a
# sanction. Who: the enterprise's posts; at R (the regulator's jurisdiction) the departments' heads and deputies
# and the deputy head in charge; the county's, the city's and the province's leaders; the township's head.
OUTCOMES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "general": (("principal", ("criminal", "demerit")), ("safety_manager", ("demerit",)),
                ("regulator_head", ("criticism", "written_self_criticism")),
                ("deputy_in_charge", ("written_self_criticism",)), ("township_head", ("criticism",)),
                ("county_head", ("interview",))),
    "large": (("principal", ("criminal",)), ("safety_manager", ("criminal",)), ("controller", ("criminal",)),
              ("regulator_head", ("demerit", "party_warning")), ("regulator_deputy", ("admonishment",)),
              ("em_head", ("admonishment",)), ("township_head", ("demerit",)),
              ("deputy_in_charge", ("admonishment", "party_warning")), ("county_head", ("interview",)),
              ("city_deputy", ("interview",))),
    "major": (("principal", ("criminal",)), ("safety_manager", ("criminal",)), ("controller", ("criminal",)),
              ("regulator_head", ("major_demerit", "removal")), ("regulator_deputy", ("demerit",)),
              ("em_head", ("demerit",)), ("township_head", ("demotion", "removal")),
              ("deputy_in_charge", ("major_demerit",)), ("county_head", ("party_serious_warning", "demerit")),
              ("county_secretary", ("party_warning",)), ("city_regulator_head", ("demerit",)),
              ("city_deputy", ("admonishment",)), ("city_head", ("interview",))),
    "especially_major": (("principal", ("criminal",)), ("safety_manager", ("criminal",)),
                         ("controller", ("criminal",)), ("regulator_head", ("criminal", "removal")),
                         ("regulator_deputy", ("removal",)), ("em_head", ("major_demerit",)),
                         ("township_head", ("removal",)), ("deputy_in_charge", ("demotion", "removal")),
                         ("county_head", ("removal",)), ("county_secretary", ("party_serious_warning",)),
                         ("city_regulator_head", ("major_demerit",)), ("city_deputy", ("major_demerit",)),
                         ("city_head", ("party_serious_warning",)), ("city_secretary", ("interview",)),
                         ("province_regulator_head", ("demerit",)), ("province_deputy", ("demerit",))),
}

# [low, high) of each measure (deaths, serious injuries, direct loss) within a level
BANDS = {
    "general": ((0, 3), (0, 10), (50_000, 10_000_000)),
    "large": ((3, 10), (10, 50), (10_000_000, 50_000_000)),
    "major": ((10, 30), (50, 100), (50_000_000, 100_000_000)),
}


def accident_level(deaths: int, injuries: int, loss: int) -> str:
    """The grade of 国务院令第493号 Art. 3 (the ``accident_levels`` vocabulary, gravest first): the gravest
    that any of the three measures reaches."""
    measured = {"deaths": deaths, "serious_injuries": injuries, "direct_loss_yuan": loss}
    for code, term in SCHEMA.vocab("accident_levels").items():
        if all(term.extra[m] == 0 for m in measured) or any(0 < term.extra[m] <= v for m, v in measured.items()):
            return code
    raise AssertionError("the accident_levels vocabulary has no floor level")


def _described(industry: str, text: str) -> tuple[str, str]:
    """A hazard's description and the further industry it names (``ALSO``), or ""."""
    for ind, words, other in ALSO:
        if ind == industry and any(w in text for w in words):
            return text, other
    return text, ""


def _cumulative(shares: tuple[tuple[str, float], ...]) -> tuple[tuple[str, float], ...]:
    """(choice, share) → (choice, running total), the last total 1 whatever rounding did."""
    out, total = [], 0.0
    for choice, share in shares:
        total += share
        out.append((choice, total))
    out[-1] = (out[-1][0], 1.0)
    return tuple(out)


def _random_profile(rng: random.Random, level: str) -> tuple[int, int, int, tuple[str, ...]]:
    """An accident of ``level``: one measure (deaths most often) reaches it, the others stay below its top."""
    bands = BANDS[level]
    decisive = rng.choices((0, 1, 2), weights=(6, 1.5, 2.5))[0]
    values = []
    for k, (lo, hi) in enumerate(bands):
        low = lo if k == decisive or level == "general" else 0
        if k == 2:
            values.append(rng.randrange(max(low, 10_000) // 10_000, hi // 10_000) * 10_000)
        else:
            values.append(rng.randrange(low, hi))
    fits = {"general": _G, "large": _L, "major": _M}[level]
    return values[0], values[1], values[2], fits


# -- the generator ------------------------------------------------------------------------------------------------


def generate(out: str | Path, scale: str = "small", seed: int = 1, today: str | None = None,
             progress: Progress | None = None, provinces: int = 1) -> dict[str, int]:
    """Write the demo dataset for ``scale`` as CSV files into ``out``; return the row count of each table.
    ``progress`` (``accountability.progress``) hears of each step done (:data:`STEPS` of them, per province).

    ``provinces`` > 1: that many provinces side by side (:func:`generate_provinces`)."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale '{scale}' (expected one of {', '.join(SCALES)})")
    if not 1 <= provinces <= len(PROVINCES):
        raise ValueError(f"provinces: {provinces} is not between 1 and {len(PROVINCES)}")
    day = dt.date.fromisoformat(today or TODAY)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if provinces > 1:
        return generate_provinces(out, SCALES[scale], int(seed), day, provinces, progress)
    with gc_paused(freeze=False):  # millions of rows and no reference cycles: reference counting frees them
        return _Generator(out, SCALES[scale], int(seed), day, progress).run()


# -- many provinces ---------------------------------------------------------------------------------------------------

# the provinces of a multi-province demo, in order: (name without 省, the prefix of every id generated for it)
PROVINCES = (("江南", "JN"), ("江北", "JB"), ("河东", "HD"), ("河西", "HX"), ("岭南", "LN"), ("岭北", "LB"),
             ("云中", "YZ"), ("关西", "GX"))


def _id_columns(table: str) -> tuple[int, ...]:
    """The positions of ``table``'s columns that hold ids (its own, references, lists of references)."""
    types = {c.name: c.type.removeprefix("list:") for c in SCHEMA.tables[table].columns}
    return tuple(i for i, name in enumerate(TABLES[table]) if types[name] == "id" or types[name].startswith("ref:"))


def generate_provinces(out: Path, scale: Scale, seed: int, today: dt.date, provinces: int,
                       progress: Progress | None = None) -> dict[str, int]:
    """``provinces`` demo provinces side by side in ``out``: province k is the one-province demo of seed
    ``seed + k`` named ``PROVINCES[k]``, every id it generates prefixed with its code (``JN-H0000001``), its
    cities named apart from the earlier provinces' — so the first province is the one-province demo of the
    same seed, prefixed. The built-in national measures (SC15-01 …) are shared; each province assigns them to
    its own departments. Each province is generated into a folder of its own, then appended here."""
    import shutil
    import tempfile

    from graph_schema.measures import BUILTIN_IDS

    columns = {t: _id_columns(t) for t in TABLES}
    counts = {t: 0 for t in TABLES}
    files = {t: (out / f"{t}.csv").open("w", encoding="utf-8", newline="") for t in TABLES}
    used_cities: set[str] = set()
    try:
        writers = {t: csv.writer(fh, lineterminator="\n") for t, fh in files.items()}
        for t, header in TABLES.items():
            writers[t].writerow(header)
        for k in range(provinces):
            stem, code = PROVINCES[k]
            tell = (lambda done, total, phase, k=k: progress(k * total + done, provinces * total, phase)) \
                if progress else None
            part = Path(tempfile.mkdtemp(prefix=f".province-{code}-", dir=out))
            try:
                with gc_paused(freeze=False):
                    _Generator(part, scale, seed + k, today, tell, province=stem, used_cities=used_cities).run()
                for t in TABLES:
                    counts[t] += _append_prefixed(part / f"{t}.csv", writers[t], columns[t], f"{code}-", BUILTIN_IDS)
            finally:
                shutil.rmtree(part, ignore_errors=True)
    finally:
        for fh in files.values():
            fh.close()
    return counts


def _append_prefixed(source: Path, writer, columns: tuple[int, ...], prefix: str, shared: frozenset[str]) -> int:
    """Append ``source``'s rows (not its header) to ``writer``, each non-empty id in ``columns`` — one or a
    ``;`` list — prefixed, except the ``shared`` ones; returns the rows written."""

    def prefixed(cell: str) -> str:
        if not cell:
            return cell
        return ";".join(v if v in shared else prefix + v for v in cell.split(";"))

    n = 0
    with source.open(encoding="utf-8", newline="") as fh:
        rows = csv.reader(fh)
        next(rows)
        for row in rows:
            for i in columns:
                row[i] = prefixed(row[i])
            writer.writerow(row)
            n += 1
    return n


@dataclass
class _Jur:
    id: str
    name: str
    level: str
    parent: _Jur | None
    suffix: str  # 省, 市, 区, 县, 镇, 乡, 街道, 村, 社区
    stem: str  # the name without its suffix


class _Generator:
    def __init__(self, out: Path, scale: Scale, seed: int, today: dt.date, progress: Progress | None = None,
                 province: str = "江南", used_cities: set[str] | None = None):
        self.out = out
        self.province = province
        self.used_cities = set() if used_cities is None else used_cities  # city names taken by other provinces
        self.progress = progress
        self.scale = scale
        self.seed = seed
        self.today = today.toordinal()
        self.origin = self.today - ORIGIN_DAYS
        self.rng = random.Random(seed)
        self.counts = {t: 0 for t in TABLES}
        self.rows: dict[str, list[tuple[str, ...]]] = {t: [] for t in TABLES}  # waiting to be written (``_flush``)
        self._padding = {t: ("",) * (len(TABLES[t]) - len(FILLED.get(t, ()))) for t in TABLES}
        self.people = 0
        self.pool: list[tuple[str, int]] = []  # cadres free to take another post: (person, last day of the old one)
        self.jurs: list[_Jur] = []
        self.by_id: dict[str, _Jur] = {}
        self.gov_jurs: list[_Jur] = []  # province, cities, counties
        self.departments: dict[str, list[tuple[str, tuple[str, ...], str]]] = {}  # jid → [(org, industries, head post)]
        self.em_head: dict[str, str] = {}
        self.parks: dict[str, str] = {}  # county → park committee
        self._reg: dict[tuple[str, str], tuple[str, str]] = {}
        self._iso: dict[int, str] = {}
        # v2's records come from a stream of their own, so that v1's tables stay what they were
        self.conduct_rng = random.Random(seed * 1_000_003 + 17)
        self.held: dict[str, list[tuple[str, int, int | None, bool]]] = {}  # government post → its tenures
        self.in_charge: dict[tuple[str, str], str] = {}  # (jurisdiction, industry) → the deputy head in charge
        # inspections are written once every hazard exists (``_write_inspections``): unit, day, the hazard
        # found, (post, outcome, note); and what they need of the hazards (``_hazards``)
        self.insp_unit, self.insp_day, self.insp_found = array("i"), array("i"), array("i")
        self.insp_rest: list[tuple[str, str, str]] = []
        self.majors: set[int] = set()

    # -- output -----------------------------------------------------------------------------------------------------

    def run(self) -> dict[str, int]:
        files = {t: (self.out / f"{t}.csv").open("w", encoding="utf-8", newline="") for t in TABLES}
        try:
            self.files = files
            self.w = {t: csv.writer(fh, lineterminator="\n") for t, fh in files.items()}
            for t, header in TABLES.items():
                self.w[t].writerow(header)
            step = self._step
            step(0)
            self._jurisdictions()
            step(1)
            self._governments()
            step(2)
            self._enterprises()
            plan = self._plan_incidents()
            step(3)
            self._hazards(plan)
            step(4)
            self._incidents(plan)
            self._conduct(plan)
            step(5)
            self._campaigns_and_measures()
            for table in TABLES:
                self._flush(table)
            step(STEPS)
        finally:
            for fh in files.values():
                fh.close()
        return dict(self.counts)

    def _step(self, done: int) -> None:
        if self.progress:
            self.progress(done, STEPS, "generate")

    def _row(self, table: str, row: tuple[str, ...]) -> None:
        """A row (of strings) for ``table``, written with the next batch."""
        rows = self.rows[table]
        rows.append(row)
        if len(rows) >= CHUNK:
            self._flush(table)

    def _flush(self, table: str) -> None:
        """Write the rows waiting for ``table``. Joining them is twice as fast as the csv module, and writes the
        same bytes when no cell holds a comma, a quote or a line break — counted over the batch, else the csv
        module writes it."""
        rows = self.rows[table]
        if not rows:
            return
        pad = self._padding[table]
        if pad:
            rows[:] = [row + pad for row in rows]
        text = "".join([",".join(row) + "\n" for row in rows])
        if text.count(",") == len(rows) * (len(TABLES[table]) - 1) and text.count("\n") == len(rows) and \
                '"' not in text and "\r" not in text:
            self.files[table].write(text)
        else:
            self.w[table].writerows(rows)
        self.counts[table] += len(rows)
        rows.clear()

    def iso(self, ordinal: int) -> str:
        s = self._iso.get(ordinal)
        if s is None:
            s = self._iso[ordinal] = dt.date.fromordinal(ordinal).isoformat()
        return s

    # -- jurisdictions ------------------------------------------------------------------------------------------------

    def _name(self, used: set[str], local: set[str], suffix: str) -> str:
        """A two-character place name: unique in ``used`` when possible, always unique in ``local``."""
        rng = self.rng
        for attempt in range(40):
            stem = rng.choice(PLACE_A) + rng.choice(PLACE_B)
            if stem[0] == stem[1] or stem in local:
                continue
            if stem in used and attempt < 30:
                continue
            used.add(stem)
            local.add(stem)
            return stem
        stem = rng.choice(PLACE_A) + rng.choice(PLACE_A) + rng.choice(PLACE_B)
        local.add(stem)
        return stem

    def _add_jur(self, jid: str, stem: str, suffix: str, level: str, parent: _Jur | None) -> _Jur:
        j = _Jur(jid, stem + suffix, level, parent, suffix, stem)
        self.jurs.append(j)
        self.by_id[jid] = j
        self._row("jurisdictions", (jid, j.name, level, parent.id if parent else ""))
        return j

    @staticmethod
    def _spread(total: int, parts: int) -> list[int]:
        base, extra = divmod(total, parts)
        return [base + (1 if i < extra else 0) for i in range(parts)]

    def _jurisdictions(self) -> None:
        rng, s = self.rng, self.scale
        province = self._add_jur("P", self.province, "省", "province", None)
        self.gov_jurs.append(province)
        used_city = self.used_cities  # shared with the provinces generated after this one
        used_city.add(self.province)
        used_county: set[str] = set()
        used_town: set[str] = set()
        county_sizes = self._spread(s.counties, s.cities)
        town_sizes = iter(self._spread(s.townships, s.counties))
        self.cities: list[_Jur] = []
        self.counties: list[_Jur] = []
        self.townships: list[_Jur] = []
        self.low: list[_Jur] = []  # townships and villages: where hazards without an organization lie
        for c in range(s.cities):
            city = self._add_jur(f"C{c + 1:02d}", self._name(used_city, set(), "市"), "市", "city", province)
            self.cities.append(city)
            self.gov_jurs.append(city)
            local: set[str] = {city.stem}
            for k in range(county_sizes[c]):
                # the first county of a city is its central district; most others are counties
                r = rng.random()
                suffix = "区" if k == 0 or r < 0.25 else ("市" if r > 0.92 else "县")
                county = self._add_jur(f"{city.id}-K{k + 1:02d}", self._name(used_county, local, suffix), suffix,
                                       "county", city)
                self.counties.append(county)
                self.gov_jurs.append(county)
                towns: set[str] = set()
                for t in range(next(town_sizes)):
                    if suffix == "区":
                        tsuffix = "街道" if rng.random() < 0.6 else "镇"
                    else:
                        tsuffix = "乡" if rng.random() < 0.2 else "镇"
                    town = self._add_jur(f"{county.id}-T{t + 1:02d}", self._name(used_town, towns, tsuffix),
                                         tsuffix, "township", county)
                    self.townships.append(town)
                    self.low.append(town)
                    villages: set[str] = set()
                    for v in range(rng.randint(0, s.max_villages)):
                        vsuffix = "社区" if tsuffix == "街道" else "村"
                        village = self._add_jur(f"{town.id}-V{v + 1:02d}", self._name(used_town, villages, vsuffix),
                                                vsuffix, "village", town)
                        self.low.append(village)

    # -- people and tenures ------------------------------------------------------------------------------------------

    def _person(self) -> str:
        rng = self.rng
        self.people += 1
        pid = f"PE{self.people:06d}"
        given = rng.choice(GIVEN) if rng.random() < 0.3 else rng.choice(GIVEN) + rng.choice(GIVEN)
        self._row("people", (pid, rng.choice(SURNAME_POOL) + given))
        return pid

    def _cadre(self, start: int) -> str:
        """A holder for a government post from ``start``: often a cadre whose previous post has ended."""
        rng, pool = self.rng, self.pool
        if pool and rng.random() < CADRE_MOVES:
            for _ in range(4):
                k = rng.randrange(len(pool))
                pid, last = pool[k]
                if last < start:
                    pool[k] = pool[-1]
                    pool.pop()
                    return pid
        return self._person()

    def _release(self, pid: str, last: int) -> None:
        if last < self.today:
            self.pool.append((pid, last))

    def _timeline(self, post: str, lo: int = 540, hi: int = 1900) -> list[tuple[str, int, int | None, bool]]:
        """Holders of a government post from before the origin to today: rotations, acting holders, vacancies.

        Non-acting tenures never overlap; acting ones fill gaps, precede a confirmation or stand in."""
        rng, today = self.rng, self.today
        rows: list[tuple[str, int, int | None, bool]] = []
        start = self.origin - rng.randint(0, 1200)
        vacant_at_end = rng.random() < 0.02
        person = self._cadre(start)
        while True:
            end = start + rng.randint(lo, hi) - 1
            if end >= today:
                if vacant_at_end and today - start > 60:
                    # the holder left recently and nobody has been appointed yet
                    end = today - rng.randint(1, min(240, today - start - 1))
                    rows.append((person, start, end, False))
                    if rng.random() < 0.5:
                        a_start = min(end + 1 + rng.randint(0, 20), today)
                        rows.append((self._cadre(end + 1), a_start, None, True))
                    self._release(person, end)
                else:
                    rows.append((person, start, None, False))
                break
            rows.append((person, start, end, False))
            leaving = person
            r = rng.random()
            if r < 0.74:  # rotation: the successor starts the next day
                start = end + 1
                person = self._cadre(start)
            elif r < 0.86:  # a vacancy, filled half the time by an acting holder
                nxt = end + rng.randint(10, 150) + 1
                if rng.random() < 0.5:
                    acting = self._cadre(end + 1)
                    a_end = nxt - 1
                    rows.append((acting, end + 1, a_end if a_end < today else None, True))
                    self._release(acting, a_end)
                if nxt > today:
                    self._release(leaving, end)
                    break
                start = nxt
                person = self._cadre(start)
            elif r < 0.94:  # the successor acts first (代理), then is confirmed
                person = self._cadre(end + 1)
                a_end = end + rng.randint(30, 120)
                if a_end >= today:
                    rows.append((person, end + 1, None, True))
                    self._release(leaving, end)
                    break
                rows.append((person, end + 1, a_end, True))
                start = a_end + 1
            else:  # rotation, and later a stand-in acts for a while during the new holder's term
                start = end + 1
                person = self._cadre(start)
                s = start + rng.randint(30, 300)
                if s + 60 < today:
                    e = s + rng.randint(20, 60)
                    stand_in = self._cadre(s)
                    rows.append((stand_in, s, e, True))
                    self._release(stand_in, e)
            self._release(leaving, end)
        self._write_tenures(post, rows)
        self.held[post] = rows
        return rows

    def _write_tenures(self, post: str, rows: list[tuple[str, int, int | None, bool]]) -> None:
        iso = self.iso
        for pid, s, e, acting in rows:
            self._row("tenures", (pid, post, iso(s), "" if e is None else iso(e), "true" if acting else "false"))

    def _post(self, pid: str, title: str, org: str, role: str) -> str:
        self._row("posts", (pid, title, org, role))
        return pid

    # -- governments ---------------------------------------------------------------------------------------------------

    def _org(self, oid: str, name: str, kind: str, jid: str, parent: str = "", industries: tuple[str, ...] = (),
             supervision: str = "", controlled_by: str = "") -> str:
        self._row("organizations", (oid, name, kind, jid, parent, ";".join(industries), supervision, controlled_by))
        return oid

    def _governments(self) -> None:
        rng = self.rng
        gap_city = self.cities[-1]
        # a few forced gaps so that even the small scale shows them
        no_forestry = {self.counties[0].id}
        no_self_built = {self.counties[1 % len(self.counties)].id}
        no_portfolio = {self.counties[-1].id: "fire"}  # a common industry, so the gap shows at every scale
        for county in self.counties:
            if rng.random() < COUNTY_NO_FORESTRY:
                no_forestry.add(county.id)
            if rng.random() < COUNTY_NO_SELF_BUILT:
                no_self_built.add(county.id)
            if rng.random() < JURISDICTION_NO_PORTFOLIO:
                no_portfolio.setdefault(county.id, rng.choice(RARELY_ASSIGNED))
        for city in self.cities:
            if rng.random() < JURISDICTION_NO_PORTFOLIO:
                no_portfolio[city.id] = rng.choice(RARELY_ASSIGNED)
        parks = {self.counties[0].id}
        parks.update(c.id for c in self.counties if rng.random() < PARK_COUNTIES)
        # ~10% of all enterprises in a park, however many parks the dice gave (tourism etc. never are)
        self.park_share = min(0.8, PARK_ENTERPRISES * len(self.counties) / len(parks) / 0.9)

        for j in self.gov_jurs:
            in_gap_city = j is gap_city or j.parent is gap_city
            self._government(j, in_gap_city, j.id in no_forestry, j.id in no_self_built, no_portfolio.get(j.id))
            if j.id in parks:
                self._park(j)
        for t in self.townships:
            self._township(t)

    def _government(self, j: _Jur, in_gap_city: bool, no_forestry: bool, no_self_built: bool,
                    no_portfolio: str | None) -> None:
        rng = self.rng
        level = j.level
        short = {"province": "省", "city": "市"}.get(level, j.suffix)  # 省, 市, 区, 县, 市(县级市)
        pc = self._org(f"{j.id}-PC", f"中共{j.name[:-1]}{short}委", "party_committee", j.id)
        gov = self._org(f"{j.id}-GOV", f"{j.name}人民政府", "government", j.id)
        awh = self._org(f"{j.id}-AWH", f"{j.name}安全生产委员会", "safety_committee", j.id, parent=gov)
        sec = self._post(f"{pc}-SEC", "书记", pc, "party_secretary")
        dsec = self._post(f"{pc}-DSEC", "副书记", pc, "other")
        head = self._post(f"{gov}-HEAD", f"{short}长", gov, "government_head")
        exe = self._post(f"{gov}-EXEC", f"常务副{short}长", gov, "executive_deputy_head")
        deputies = [self._post(f"{gov}-D{i + 1}", f"副{short}长", gov, "deputy_head") for i in range(rng.randint(2, 4))]
        director = self._post(f"{awh}-DIR", "主任", awh, "committee_director")
        self._timeline(sec)
        self._timeline(dsec)
        head_rows = self._timeline(head)
        self._write_tenures(director, head_rows)  # the government head chairs the safety committee
        self._timeline(exe)
        for d in deputies:
            self._timeline(d)

        depts: list[tuple[str, tuple[str, ...], str]] = []
        for code, p_name, name, industries, supervision in DEPARTMENTS:
            if code == "LY" and no_forestry:
                continue
            if code == "JT" and (level == "province" or in_gap_city):
                industries = tuple(i for i in industries if i != UNREGULATED)
            if code == "ZJ" and no_self_built:
                industries = tuple(i for i in industries if i != "self_built_housing")
            if level == "province":
                dname = p_name
            elif code == "XF" and level == "county":
                dname = "消防救援大队"
            else:
                dname = name
            oid = self._org(f"{j.id}-{code}", j.name + dname, "department", j.id, gov, industries, supervision)
            if code == "XF":
                rank = {"province": "总队长", "city": "支队长"}.get(level, "大队长")
                titles = (rank, "副" + rank)
            elif dname.endswith("厅"):
                titles = ("厅长", "副厅长")
            else:
                titles = ("局长", "副局长")
            dhead = self._post(f"{oid}-HEAD", titles[0], oid, "department_head")
            ddep = self._post(f"{oid}-DEP", titles[1], oid, "deputy_department_head")
            self._timeline(dhead)
            self._timeline(ddep)
            depts.append((oid, industries, dhead))
            if code == "EM":
                self.em_head[j.id] = dhead
        self.departments[j.id] = depts
        self._portfolios(j.id, exe, deputies, depts, no_portfolio)

    def _portfolios(self, jid: str, exe: str, deputies: list[str], depts: list[tuple[str, tuple[str, ...], str]],
                    skipped: str | None) -> None:
        """分管: the executive deputy has work safety overall; the deputies share the departments and industries,
        except ``skipped``, which no portfolio covers (the no_portfolio gap)."""
        rng, iso = self.rng, self.iso
        first = iso(self.origin - 400)
        self._row("portfolios", (exe, "*", "", first, ""))
        items: list[tuple[str, str, str]] = []  # (deputy, industry, organization)
        covered: set[str] = set()
        for oid, industries, _ in depts:
            by_org = skipped not in industries and rng.random() < 0.4
            if by_org:
                items.append((rng.choice(deputies), "", oid))
                covered.update(industries)
            else:
                d = rng.choice(deputies)
                for ind in industries:
                    if ind == skipped:
                        continue
                    if rng.random() < 0.25:
                        d = rng.choice(deputies)
                    if ind not in covered:  # natural disasters have two departments: one row is enough
                        items.append((d, ind, ""))
                    covered.add(ind)
        # an industry without a department here still usually has a deputy in charge of it
        for ind in INDUSTRIES:
            if ind not in covered and ind != skipped and rng.random() < 0.7:
                items.append((rng.choice(deputies), ind, ""))
        moved: set[int] = set()
        if rng.random() < PORTFOLIO_MOVES and items:
            moved = set(rng.sample(range(len(items)), min(len(items), rng.randint(1, 3))))
        for i, (d, ind, oid) in enumerate(items):
            if i in moved:
                # the portfolio passes to another deputy mid-period: one ends, the other starts the next day
                change = rng.randint(self.origin + 200, self.today - 60)
                other = rng.choice([x for x in deputies if x != d])
                self._row("portfolios", (d, ind, oid, first, iso(change)))
                self._row("portfolios", (other, ind, oid, iso(change + 1), ""))
            else:
                self._row("portfolios", (d, ind, oid, first, ""))
        # who is in charge of an industry here (the first holder of the portfolio): a major hazard's supervising
        # leader and an investigation's deputy in charge
        industries_of = {oid: industries for oid, industries, _ in depts}
        for d, ind, oid in items:
            for i in (ind,) if ind else industries_of[oid]:
                self.in_charge.setdefault((jid, i), d)

    def _park(self, county: _Jur) -> None:
        name = f"{county.stem}经济开发区管委会" if self.rng.random() < 0.6 else f"{county.stem}高新技术产业园区管委会"
        park = self._org(f"{county.id}-PARK", name, "park_committee", county.id)
        self._timeline(self._post(f"{park}-DIR", "主任", park, "park_director"))
        self._timeline(self._post(f"{park}-DEP", "副主任", park, "other"))
        self.parks[county.id] = park

    def _township(self, t: _Jur) -> None:
        if t.suffix == "街道":
            pc = self._org(f"{t.id}-PC", f"{t.name}党工委", "party_committee", t.id)
            gov = self._org(f"{t.id}-GOV", f"{t.name}办事处", "government", t.id)
            head_title = "主任"
        else:
            pc = self._org(f"{t.id}-PC", f"{t.name}党委", "party_committee", t.id)
            gov = self._org(f"{t.id}-GOV", f"{t.name}人民政府", "government", t.id)
            head_title = f"{t.suffix}长"
        self._timeline(self._post(f"{pc}-SEC", "书记", pc, "party_secretary"))
        self._timeline(self._post(f"{pc}-DSEC", "副书记", pc, "other"))
        self._timeline(self._post(f"{gov}-HEAD", head_title, gov, "government_head"))

    # -- enterprises ---------------------------------------------------------------------------------------------------

    def _enterprise_tenures(self, post: str, vacancy: float) -> None:
        """An enterprise post: one holder since before the origin, sometimes replaced, rarely left empty."""
        rng, today, origin = self.rng, self.today, self.origin
        start = origin - rng.randint(0, 2500)
        rows: list[tuple[str, int, int | None, bool]] = []
        if rng.random() < 0.15:
            change = rng.randint(origin, today - 30)
            rows.append((self._person(), start, change, False))
            rows.append((self._person(), change + 1, None, False))
        else:
            rows.append((self._person(), start, None, False))
        if rng.random() < vacancy:
            pid, s, _, acting = rows[-1]
            end = today - rng.randint(5, 120)
            if end >= s:
                rows[-1] = (pid, s, end, acting)
        self._write_tenures(post, rows)
        return rows

    @staticmethod
    def _kept(rows: list[tuple[str, int, int | None, bool]]) -> str | tuple:
        """An enterprise post's holders, small enough to keep for every enterprise: most have had one holder
        since before the origin, kept as a bare person id."""
        return rows[0][0] if len(rows) == 1 and rows[0][2] is None else tuple(rows)

    def _groups(self) -> dict[tuple[str, str], list[str]]:
        """Group enterprises (集团) at city level; returns the groups that may control a unit, by (city,
        industry), and by (city, "") the city's holding groups. Their posts are written with the conduct
        records (``_conduct``), so that v1's people keep their ids."""
        rng = self.conduct_rng
        per_city = max(1, round(self.scale.enterprises / len(self.cities) / GROUP_SIZE))
        self.groups: list[str] = []
        of: dict[tuple[str, str], list[str]] = {}
        for city in self.cities:
            for k in range(per_city):
                suffix, industry = GROUP_KINDS[0] if k == 0 else rng.choice(GROUP_KINDS)
                gid = f"G{len(self.groups) + 1:04d}"
                name = f"{city.stem}{rng.choice(ZIHAO_A)}{rng.choice(ZIHAO_B)}{suffix}"
                self._org(gid, name, "enterprise", city.id, "", (industry,))
                self.groups.append(gid)
                of.setdefault((city.id, industry), []).append(gid)
                if suffix == GROUP_KINDS[0][0]:
                    of.setdefault((city.id, ""), []).append(gid)
        return of

    def _enterprises(self) -> None:
        rng = self.rng
        n = self.scale.enterprises
        groups = self._groups()
        controlled = self.conduct_rng.random
        mix = [i for i, _ in ENTERPRISE_MIX]
        weights = [w for _, w in ENTERPRISE_MIX]
        industries = rng.choices(mix, weights=weights, k=n)
        gap_city = self.cities[-1]
        gap_towns = [t for t in self.townships if t.parent.parent is gap_city]
        no_portfolio_county = self.counties[-1]
        self.ent_ids: list[str] = []
        self.ent_jur: list[str] = []
        self.ent_ind: list[str] = []
        self.by_industry: dict[str, list[int]] = {i: [] for i in mix}
        self.principals: list[str | tuple | None] = []  # each enterprise's principal and safety manager (``_kept``)
        self.safety_managers: list[str | tuple] = []
        towns, counties = self.townships, self.counties
        for i in range(n):
            eid = f"E{i + 1:06d}"
            ind = industries[i]
            if i < 3:
                # water traffic in the city where nobody regulates it: the no_regulator showcase
                ind = UNREGULATED
                place = rng.choice(gap_towns)
            elif i == 4:
                # fire safety where no deputy's portfolio covers it: the no_portfolio showcase
                ind = "fire"
                place = rng.choice([t for t in towns if t.parent is no_portfolio_county])
            elif rng.random() < 0.9:
                place = rng.choice(towns)
            else:
                place = rng.choice(counties)
            county = place if place.level == "county" else place.parent
            parent = ""
            park = self.parks.get(county.id)
            if park and ind not in ("tourism", "forest_fire", "self_built_housing") and rng.random() < self.park_share:
                parent = park
            suffix = rng.choice(ENTERPRISE_SUFFIXES[ind])
            if ind == "tourism" and rng.random() < 0.5:
                name = f"{place.stem}{rng.choice('山湖谷洞峡')}{suffix}"
            else:
                name = f"{county.stem}{rng.choice(ZIHAO_A)}{rng.choice(ZIHAO_B)}{suffix}"
            controller = ""
            if controlled() < CONTROLLED:
                city = (place.parent if place.level == "county" else place.parent.parent).id
                owners = groups.get((city, ind)) or groups[(city, "")]
                controller = owners[int(controlled() * len(owners))]
            self._org(eid, name, "enterprise", place.id, parent, (ind,), controlled_by=controller)
            principal = None
            if not (i == 3 or rng.random() < NO_PRINCIPAL):
                title = "董事长" if rng.random() < 0.35 else "总经理"
                principal = self._kept(
                    self._enterprise_tenures(self._post(f"{eid}-GM", title, eid, "enterprise_principal"), 0.005))
            self.principals.append(principal)
            title = "安全总监" if rng.random() < 0.3 else ("安全部经理" if rng.random() < 0.6 else "专职安全员")
            # E000005's safety manager left recently and nobody replaced them: the vacant_post showcase
            self.safety_managers.append(self._kept(self._enterprise_tenures(
                self._post(f"{eid}-SM", title, eid, "safety_manager"), 1.0 if i == 4 else 0.01)))
            self.ent_ids.append(eid)
            self.ent_jur.append(place.id)
            self.ent_ind.append(ind)
            self.by_industry[ind].append(i)
        # each enterprise's hazards, as (number, found on, closed on or never) flat: what its inspections record
        self.ent_hazards = [array("i") for _ in range(n)]
        self.ent_by_jur: dict[str, list[int]] = {}  # where a hazard's neighbouring unit is chosen from
        for i, jid in enumerate(self.ent_jur):
            self.ent_by_jur.setdefault(jid, []).append(i)

    # -- regulators, for events ---------------------------------------------------------------------------------------

    def regulator(self, jid: str, industry: str) -> tuple[str, str]:
        """(R, the head post of R's first department regulating ``industry``) as the engine would find them;
        with no regulator anywhere, R is the nearest county or higher and the post its emergency bureau's head.
        Rule 2 read from the generator's own tables, since the data it walks is still being written;
        ``tests/test_demo.py`` checks it against the engine's reading (``Engine.regulator``) on the demo."""
        key = (jid, industry)
        found = self._reg.get(key)
        if found is None:
            j: _Jur | None = self.by_id[jid]
            found = None
            while j is not None:
                for _, industries, head in self.departments.get(j.id, ()):
                    if industry in industries:
                        found = (j.id, head)
                        break
                if found:
                    break
                j = j.parent
            if found is None:
                j = self.by_id[jid]
                while j.level in ("township", "village"):
                    j = j.parent
                found = (j.id, self.em_head[j.id])
            self._reg[key] = found
        return found

    # -- incidents (planned before the hazards, written after them) ---------------------------------------------------

    def _plan_incidents(self) -> list[dict]:
        rng = random.Random(self.seed * 1_000_003 + 11)
        n = self.scale.incidents
        if n <= 5:
            profiles = [GENERAL[0], LARGE[0], MAJOR_ACC[0], ESPECIALLY[0], LARGE[2]][:n]
        else:
            # every threshold case once, then a realistic mix: mostly general, some large, few major
            profiles = [GENERAL[0], GENERAL[2], LARGE[0], LARGE[1], LARGE[2], MAJOR_ACC[0], MAJOR_ACC[1],
                        MAJOR_ACC[2], ESPECIALLY[0]]
            if n >= 30:
                profiles += [ESPECIALLY[1], ESPECIALLY[3], MAJOR_ACC[3], MAJOR_ACC[4], LARGE[4]]
            while len(profiles) < n:
                r = rng.random()
                profiles.append(_random_profile(rng, "general" if r < 0.62 else "large" if r < 0.9 else "major"))
            profiles = profiles[:n]
        plan = []
        seen: dict = {}  # two accidents at one enterprise share the hazards seen there
        for k, (deaths, injuries, loss, fits) in enumerate(profiles):
            industry = rng.choice(fits)
            occurred = rng.randint(self.today - HISTORY_DAYS + 150, self.today - 5)
            candidates = self.by_industry.get(industry) or []
            if industry == "self_built_housing" and rng.random() < 0.7 or not candidates:
                if not candidates:
                    industry = "self_built_housing"
                place = rng.choice(self.low)
                jid, org, key, e = place.id, "", (place.id, industry), None
            else:
                e = rng.choice(candidates)
                jid, org, key = self.ent_jur[e], self.ent_ids[e], self.ent_ids[e]
            plan.append({"id": f"I{k + 1:04d}", "industry": industry, "jid": jid, "org": org, "ent": e, "key": key,
                         "occurred": occurred, "deaths": deaths, "injuries": injuries, "loss": loss,
                         "links": 2 if k == 0 else rng.randint(0, 3), "seen": seen.setdefault(key, [])})
        return plan

    def _incidents(self, plan: list[dict]) -> None:
        rng = random.Random(self.seed * 1_000_003 + 13)
        clock = random.Random(self.seed * 1_000_003 + 23)  # v2's columns, from a stream of their own
        raised = False
        for inc in plan:
            occurred = inc["occurred"]
            before = [h for h in inc["seen"] if h[1] < occurred]
            # prefer hazards still unresolved when the accident happened
            live = [h for h in before if h[2] is None or h[2] >= occurred]
            chosen = (live + [h for h in before if h not in live])[: inc["links"]]
            j = self.by_id[inc["jid"]]
            while j.level not in ("county",):
                j = j.parent
            place = j.parent.name + j.name
            date = dt.date.fromordinal(occurred)
            kind = rng.choice(ACCIDENT_KINDS[inc["industry"]])
            title = f"{place}“{date.month}·{date.day}”{kind}事故"
            # accidents happen mostly in working hours; fires and gas explosions at any time
            hour = clock.randrange(24) if kind in ("火灾", "燃气爆炸", "森林火灾") else clock.randrange(7, 20)
            at = f"{date.isoformat()}T{hour:02d}:{clock.randrange(60):02d}:00"
            level = accident_level(inc["deaths"], inc["injuries"], inc["loss"])
            investigating = ""
            if level == "large" and not raised:  # the province takes over a large accident's investigation (提级调查)
                investigating, raised = "province", True
            inc.update(title=title, level=level, investigating=investigating, at=at,
                       also=INCIDENT_ALSO.get((inc["industry"], kind), ""))
            self._row("incidents", (inc["id"], title, self.iso(occurred), inc["jid"], inc["org"], inc["industry"],
                                    str(inc["deaths"]), str(inc["injuries"]), str(inc["loss"]),
                                    ";".join(h[0] for h in chosen),
                                    INCIDENT_ALSO.get((inc["industry"], kind), ""), at, investigating))

    # -- hazards and events, streamed -----------------------------------------------------------------------------------

    def _hazards(self, plan: list[dict]) -> None:
        """Hazards with their events, streamed; beside v1's, each hazard's records of conduct (the hazard's v2
        columns, inspections, orders, look-backs, supervising leaders), drawn from a stream of their own.
        Hot loop: dates come straight from the ``iso`` cache, filled here for every day the loop may write."""
        rng = random.Random(self.seed * 1_000_003 + 7)
        r = rng.random
        q = random.Random(self.seed * 1_000_003 + 19).random
        today = self.today
        iso = self.iso
        for o in range(today - HISTORY_DAYS - 400, today + 400):
            iso(o)
        D = self._iso
        n = self.scale.hazards
        ne = len(self.ent_ids)
        ent_ids, ent_jur, ent_ind, ent_by_jur = self.ent_ids, self.ent_jur, self.ent_ind, self.ent_by_jur
        low = [j.id for j in self.low]
        nl = len(low)
        no_org_inds = [i for i, _ in NO_ORG_MIX]
        no_org_w = [w for _, w in NO_ORG_MIX]
        watch: dict = {inc["key"]: inc["seen"] for inc in plan}
        descriptions = {ind: [_described(ind, a + p) for a in AREAS[ind] for p in PROBLEMS[ind]] for ind in PROBLEMS}
        majors = {ind: [_described(ind, a + p) for a in AREAS[ind] for p in MAJOR_PROBLEMS[ind]]
                  for ind in MAJOR_PROBLEMS}
        regulator = self.regulator
        # each enterprise's (R, head of its first regulating department, that department's deputy), shared
        regulators = {key: (rj, head, head[:-4] + "DEP") for key in dict.fromkeys(zip(ent_jur, ent_ind))
                      for rj, head in (regulator(*key),)}
        ent_reg = [regulators[key] for key in zip(ent_jur, ent_ind)]
        em_head = self.em_head
        by_id = self.by_id
        supervising = self._supervising_leader
        hrows, erows, drows = self.rows["hazards"], self.rows["events"], self.rows["designations"]
        flush = self._flush
        # what the inspections need to know of the hazards (``_write_inspections``)
        ent_hazards = self.ent_hazards
        never = today + 1
        insp_unit, insp_day = self.insp_unit.append, self.insp_day.append
        insp_found, insp_rest = self.insp_found.append, self.insp_rest.append
        shared: dict[tuple, tuple] = {}  # (post, outcome, note), once each: there are hundreds of thousands
        outcomes, outcomes_major = _cumulative(FOUND_OUTCOMES), _cumulative(FOUND_OUTCOMES_MAJOR)
        for i in range(1, n + 1):
            hid = f"H{i:07d}"
            if r() < NO_ORG and i > SHOWCASE:
                ind = rng.choices(no_org_inds, no_org_w)[0]
                jid = low[int(r() * nl)]
                eid = ""
                key = (jid, ind)
                k = -1
                rj, rh = regulator(jid, ind)
                rd = None
            else:
                k = int(r() * ne) if i > SHOWCASE else i - 1
                eid, jid, ind = ent_ids[k], ent_jur[k], ent_ind[k]
                key = eid
                rj, rh, rd = ent_reg[k]
            major = r() < MAJOR
            if major:
                texts = majors[ind]
                deadline_days = 30 + int(r() * 61)
                self.majors.add(i)
            else:
                texts = descriptions[ind]
                deadline_days = 7 + int(r() * 84)
            desc, also = texts[int(r() * len(texts))]
            if r() < UNRESOLVED or i <= SHOWCASE:
                u = r()
                if u < 0.65:  # most unresolved hazards are recent ...
                    age = int(r() * 45)
                elif u < 0.9:
                    age = 45 + int(r() * 135)
                else:  # ... and some have dragged on for a long time
                    age = 180 + int(r() * (HISTORY_DAYS - 180))
                found = today - age
                status = "open" if r() < 0.45 else "rectifying"
                closed = None
            else:
                found = today - int(r() * HISTORY_DAYS)
                closed = min(found + 1 + int(r() * (deadline_days + 30)), today)
                status = "closed"
            deadline = found + deadline_days
            if k >= 0:
                span = (i, found, never if closed is None else max(closed, found + 1))
                ent_hazards[k].extend(span)

            # v2: when the condition began, who else answers for it, and a visit that missed it
            existed = others = ""
            u = q()
            if u < EXISTED_BEFORE:
                began = found - 15 - int(q() * 350)
                existed = D[began]
                if k >= 0 and u < EXISTED_BEFORE * MISSED_BEFORE:
                    insp_unit(k)
                    insp_day(began + int(q() * (found - began)))
                    insp_found(0)
                    rest = (rh if q() < HEAD_LEADS else rd, "no_findings", "日常检查")
                    insp_rest(shared.setdefault(rest, rest))
            elif k >= 0 and u < EXISTED_BEFORE + OTHER_UNIT:
                peers = ent_by_jur[jid]
                other = peers[int(q() * len(peers))]
                if other != k:
                    others = ent_ids[other]
                    ent_hazards[other].extend(span)  # its inspections record the hazard too
            hrows.append((hid, desc, ind, "major" if major else "general", jid, eid, D[found], D[deadline], status,
                          "" if closed is None else D[closed], also, existed, others))
            seen = watch.get(key)
            if seen is not None and len(seen) < 50:
                seen.append((hid, found, closed))

            # events: about 0.85 per hazard
            last = today if closed is None else closed
            reported = r() < SELF_FOUND
            if reported:
                erows.append((hid, D[found], "found", f"{eid}-SM" if eid else "", "", "", ""))
            if r() < 0.12 and last > found:
                erows.append((hid, D[min(found + 1 + int(r() * 30), last)], "inspected", rh, "", "检查督导", ""))
            if r() < 0.04 and found < today:
                on = min(max(found + 1, deadline - int(r() * 5)), last)
                new = deadline + 15 + int(r() * 76)
                erows.append((hid, D[on], "deadline_extended", "", D[new], "申请延期整改", ""))
            if major and r() < ESCALATED:
                parent = by_id[rj].parent
                post = em_head[parent.id] if parent is not None and r() < 0.4 else rh
                erows.append((hid, D[min(found + int(r() * 15), today)], "escalated", post, "", "挂牌督办", ""))
            signed = False
            if closed is not None:
                if r() < 0.2:
                    rect = max(found, closed - int(r() * 5))
                    erows.append((hid, D[rect], "rectified", f"{eid}-SM" if eid else "", "", "", ""))
                    erows.append((hid, D[closed], "closed", rh, "", "验收销号", ""))
                    signed = True
            elif status == "rectifying" and r() < 0.01 and today - found > 30:
                # closed too early: a follow-up review (回头看) reopened it
                c = found + 1 + int(r() * (today - found - 20))
                erows.append((hid, D[c], "closed", rh, "", "验收销号", ""))
                erows.append((hid, D[c + 1 + int(r() * 15)], "reopened", rh, "", "回头看发现整改不到位", ""))

            # v2: the inspection that found it, the written order, the supervising leader, the look-back
            inspector = None
            if k >= 0 and not reported and q() < FOUND_BY_INSPECTION:
                inspector = rh if q() < HEAD_LEADS else rd
                x = q()
                for outcome, p in outcomes_major if major else outcomes:
                    if x < p:
                        break
                insp_unit(k)
                insp_day(found)
                insp_found(i)
                rest = (inspector, outcome, "执法检查")
                insp_rest(shared.setdefault(rest, rest))
                if outcome == "hazards_found" and last > found and q() < ORDER_AFTER_FINDING:
                    erows.append((hid, D[min(found + 1 + int(q() * 7), last)], "order_issued", inspector, "",
                                  "下达责令限期整改指令书", ""))
            if major:
                if inspector is None and q() < MAJOR_ORDER:
                    erows.append((hid, D[min(found + int(q() * 5), last)], "order_issued", rh, "", "责令限期整改", ""))
                if q() < SUPERVISED:
                    drows.append(supervising(hid, jid, ind, found, closed, q))
            if closed is not None and q() < (REINSPECTED_MAJOR if major else REINSPECTED):
                on = closed + 60 + int(q() * 340)
                if on <= today:
                    if not signed:  # the sign-off that the look-back puts to the test
                        erows.append((hid, D[closed], "closed", rh, "", "验收销号", ""))
                    erows.append((hid, D[on], "reinspected", rh if q() < HEAD_LEADS else rh[:-4] + "DEP", "",
                                  "回头看复查", "relapsed" if q() < RELAPSED else "held"))
            if i % CHUNK == 0:
                flush("hazards")
                flush("events")
                flush("designations")

    def _county(self, jid: str) -> _Jur:
        """The county of a jurisdiction at county level or below."""
        j = self.by_id[jid]
        while j.level != "county":
            j = j.parent
        return j

    def _supervising_leader(self, hid: str, jid: str, industry: str, found: int, closed: int | None, q) -> tuple:
        """A major hazard's supervising leader (包保/挂牌督办): the deputy head in charge of its industry in the
        county's government (or the city's), from a few days after its finding until it is closed."""
        j = self._county(jid)
        if q() < SUPERVISED_BY_CITY:
            j = j.parent
        post = self.in_charge.get((j.id, industry)) or f"{j.id}-GOV-EXEC"
        start = min(found + int(q() * 10), self.today if closed is None else closed)
        return (post, "supervising_leader", hid, self.iso(start), "" if closed is None else self.iso(closed))

    # -- records of conduct: posts, people and records that only v2 reads ------------------------------------------

    def _conduct(self, plan: list[dict]) -> None:
        """Written after everything v1 reads, so that v1's people keep their ids; from here on every choice
        (names and tenures included) comes from the conduct stream."""
        self.rng = self.conduct_rng
        for gid in self.groups:
            self._enterprise_tenures(self._post(f"{gid}-GM", "董事长", gid, "enterprise_principal"), 0.0)
            self._enterprise_tenures(self._post(f"{gid}-SM", "安全总监", gid, "safety_manager"), 0.0)
        self._actual_controllers()
        for t in self.townships:
            title = "应急管理办公室主任" if t.suffix == "街道" else "安监站站长"
            self._timeline(self._post(f"{t.id}-GOV-SAFE", title, f"{t.id}-GOV", "other"))
        self._department_deputies()
        self._grid_inspectors()
        self._routine_inspections()
        self._write_inspections()
        self._outcomes(plan)
        self._duty_and_reports(plan)

    def _actual_controllers(self) -> None:
        """实际控制人: the investor who runs the business behind a registered principal; E000002's took over
        recently (the no_conditions showcase)."""
        rng = self.rng
        self.controllers: dict[int, tuple[str, int]] = {}  # enterprise → (person, since)
        for i, eid in enumerate(self.ent_ids):
            if i != SHOWCASE_CONTROLLER and rng.random() >= ACTUAL_CONTROLLER:
                continue
            post = self._post(f"{eid}-AC", "实际控制人", eid, "actual_controller")
            since = self.today - NEW_CONTROLLER_DAYS if i == SHOWCASE_CONTROLLER else self.origin - rng.randint(0, 2500)
            person = self._person()
            self._write_tenures(post, [(person, since, None, False)])
            self.controllers[i] = (person, since)

    def _department_deputies(self) -> None:
        """一岗双责 inside a department: in some city and county departments the deputy head is in charge of the
        department's work safety overall (``*``) or of one of its industries."""
        rng, first = self.rng, self.iso(self.origin - 400)
        for jid, depts in self.departments.items():
            if self.by_id[jid].level == "province":
                continue
            for oid, industries, _ in depts:
                if rng.random() < DEPUTY_PORTFOLIO:
                    ind = "*" if not industries or rng.random() < DEPUTY_OVERALL else rng.choice(industries)
                    self._row("portfolios", (f"{oid}-DEP", ind, "", first, ""))

    def _grid_inspectors(self) -> None:
        """网格化监管: a township's safety officer named as the grid inspector of some of its enterprises."""
        rng, by_id, today, origin = self.rng, self.by_id, self.today, self.origin
        for eid, jid in zip(self.ent_ids, self.ent_jur):
            if by_id[jid].level == "township" and rng.random() < GRID:
                start = origin + int(rng.random() * (today - 60 - origin))
                self._row("designations", (f"{jid}-GOV-SAFE", "grid_inspector", eid, self.iso(start), ""))

    def _routine_inspections(self) -> None:
        """Visits without a finding of their own, by the regulating department's head or deputy: ``ROUTINE`` a
        year per enterprise, more for the riskier industries. They record what is registered and open that day
        and miss what is not yet found (``_write_inspections``)."""
        rng, today = self.rng, self.today
        weights = [ROUTINE_WEIGHT.get(ind, 1.0) for ind in self.ent_ind]
        total = round(sum(weights) * ROUTINE * HISTORY_DAYS / 365)
        for k in rng.choices(range(len(self.ent_ids)), weights, k=total):
            head = self.regulator(self.ent_jur[k], self.ent_ind[k])[1]
            post = head if rng.random() < HEAD_LEADS else head[:-4] + "DEP"
            self._inspection(k, today - int(rng.random() * HISTORY_DAYS), post, "no_findings", "日常检查", 0)

    def _inspection(self, k: int, on: int, post: str, outcome: str, note: str, found: int) -> None:
        """An inspection of enterprise ``k`` (``found``: the hazard it found, or 0), kept until every hazard
        exists: what it records is only known then."""
        self.insp_unit.append(k)
        self.insp_day.append(on)
        self.insp_found.append(found)
        self.insp_rest.append((post, outcome, note))

    def _write_inspections(self) -> None:
        """Each inspection records the hazards of its unit registered and open on its day: a visit that finds
        nothing where hazards are open records them (follow-up, hazards_found), and one that lists another
        open major hazard orders it rectified. What it cannot record are hazards not yet found: those that
        existed before their finding are missed (rule 10)."""
        ent_hazards = self.ent_hazards
        majors, ent_ids, D = self.majors, self.ent_ids, self._iso
        rows = self.rows["inspections"]
        for n, (k, on, found, (post, outcome, note)) in enumerate(
                zip(self.insp_unit, self.insp_day, self.insp_found, self.insp_rest), 1):
            triples = iter(ent_hazards[k])
            listed = [j for j, a, b in zip(triples, triples, triples) if a <= on < b]  # in hazard order
            if listed:
                if outcome == "no_findings":
                    outcome = "hazards_found"
                if outcome == "hazards_found" and not majors.isdisjoint(listed) and \
                        any(j in majors and j != found for j in listed):
                    outcome = "order_issued"
                ids = ";".join([f"H{j:07d}" for j in listed])
            else:
                ids = ""
            rows.append((f"INS{n:07d}", ent_ids[k], D[on], post, self._campaign_of(on), ids, outcome, note))
            if len(rows) >= CHUNK:
                self._flush("inspections")

    # -- campaigns and measures (issue #16) ----------------------------------------------------------------------------

    def _campaign_of(self, on: int) -> str:
        """The comprehensive inspection an inspection on day ``on`` belongs to (大检查): every visit of its period."""
        start, end = self.today - CAMPAIGN_DAYS[0], self.today - CAMPAIGN_DAYS[1]
        return CAMPAIGN_ID if start <= on <= end else ""

    def _campaigns_and_measures(self) -> None:
        """The province's comprehensive inspection (the inspections of its period carry its id, so some
        enterprises were never visited), a look-back (回头看) over the re-inspections of the last months, and the
        15 national measures plus the province's 65, assigned to departments with mixed progress — drawn from a
        stream of their own: every row written before stays as it was."""
        rng = random.Random(self.seed * 1_000_003 + 29)
        province = self.jurs[0].id
        iso = self.iso
        self._row("campaigns", (CAMPAIGN_ID, "全省安全生产大检查", "comprehensive_inspection", province,
                                iso(self.today - CAMPAIGN_DAYS[0]), iso(self.today - CAMPAIGN_DAYS[1]), ""))
        self._row("campaigns", (LOOKBACK_ID, "重大事故隐患整改“回头看”", "look_back", province,
                                iso(self.today - LOOKBACK_DAYS), iso(self.today), ""))
        depts = self.departments[province]
        deadline = self.today - MEASURE_DEADLINE_DAYS
        assignments = []  # (measure, organization, role, deadline or "")
        for i in range(1, 16):
            lead = depts[(i - 1) % len(depts)][0]
            assignments.append((f"SC15-{i:02d}", lead, "lead", iso(deadline)))
        for i in range(1, PROVINCE_MEASURES + 1):
            mid = f"{province}-M{i:02d}"
            parent = f"SC15-{(i - 1) % 15 + 1:02d}"
            own = deadline + rng.randint(-60, 120)
            topic = MEASURE_TOPICS[(i - 1) % len(MEASURE_TOPICS)]
            self._row("measures", (mid, f"第{i}条 {topic}", "province_65", parent, "", iso(own)))
            lead, *support = rng.sample(depts, min(len(depts), 1 + rng.randint(0, 2)))
            assignments.append((mid, lead[0], "lead", ""))
            assignments += [(mid, s[0], "support", "") for s in support]
        for mid, oid, role, due in assignments:
            self._row("measure_assignments", (mid, oid, role, due))
            self._measure_reports(rng, mid, oid)
        # passed down (层层分解): every city and county leads a few of the province's measures, with deadlines of
        # their own — drawn after the province's rows, which stay as they were
        for j in self.jurs:
            local = self.departments.get(j.id) if j.level in ("city", "county") else None
            if not local:
                continue
            for i in sorted(rng.sample(range(1, PROVINCE_MEASURES + 1), LOCAL_MEASURES)):
                mid, oid = f"{province}-M{i:02d}", local[rng.randrange(len(local))][0]
                self._row("measure_assignments", (mid, oid, "lead", iso(deadline + rng.randint(-30, 60))))
                self._measure_reports(rng, mid, oid)

    def _measure_reports(self, rng: random.Random, mid: str, oid: str) -> None:
        """Progress of one assignment: none at all (not started), in progress, or done — some done late."""
        x = rng.random()
        if x < MEASURE_SILENT:
            return
        first = self.today - rng.randint(60, 240)
        self._row("measure_reports", (mid, oid, self.iso(first), "in_progress", "已部署推进"))
        if x < MEASURE_SILENT + MEASURE_DONE:
            done = min(first + rng.randint(10, 200), self.today)
            self._row("measure_reports", (mid, oid, self.iso(done), "done", "已完成"))

    # -- what the investigations decided --------------------------------------------------------------------------

    def _holder(self, post: str, on: int) -> str | None:
        """Who held a government post on a day: the substantive holder, else the acting one."""
        found = None
        for pid, s, e, acting in self.held.get(post, ()):
            if s <= on and (e is None or on <= e):
                if not acting:
                    return pid
                found = found or pid
        return found

    @staticmethod
    def _kept_holder(kept: str | tuple | None, on: int) -> str | None:
        if kept is None or isinstance(kept, str):
            return kept
        return next((pid for pid, s, e, _ in kept if s <= on and (e is None or on <= e)), None)

    # -- 24-hour duty and incident reports (issue #17) -------------------------------------------------------------

    def _duty_and_reports(self, plan: list[dict]) -> None:
        """Duty rosters of every county and above for the last four weeks and around each incident, and each
        incident's reports up the chain of 493号 Art. 9–11 — mostly in time, some late, one step missing —
        from a stream of their own."""
        rng = random.Random(self.seed * 1_000_003 + 29)
        days = {(j.id, d) for j in self.gov_jurs for d in range(self.today - DUTY_DAYS, self.today + DUTY_AHEAD + 1)}
        for inc in plan:
            for j in self._report_levels(inc["jid"]):
                days |= {(j.id, inc["occurred"] - 1), (j.id, inc["occurred"])}
        for jid, d in sorted(days):
            self._duty_day(rng, jid, d)
        missing = True
        for inc in plan:
            missing = self._reports(rng, inc, missing)

    def _report_levels(self, jid: str) -> list[_Jur]:
        """The county-level jurisdiction of ``jid`` and those above it."""
        j = self.by_id[jid]
        while j.level not in ("county", "city", "province"):
            j = j.parent
        out = []
        while j is not None:
            out.append(j)
            j = j.parent
        return out

    def _duty_day(self, rng: random.Random, jid: str, d: int) -> None:
        """One day's duty in ``jid``: a government leader from 08:00 to 08:00 the next day (now and then only
        until 20:00: an uncovered night) and a department head as officer from midnight to midnight."""
        leaders = [p for p in self.held if p.startswith(f"{jid}-GOV-")]
        officers = [head for _, _, head in self.departments.get(jid, ())]
        day, after = dt.date.fromordinal(d).isoformat(), dt.date.fromordinal(d + 1).isoformat()
        if leaders:
            end = f"{day}T20:00:00" if rng.random() < UNCOVERED_NIGHTS else f"{after}T08:00:00"
            self._row("duty_shifts", (jid, leaders[d % len(leaders)], "", "leader_on_duty", f"{day}T08:00:00", end))
        if officers:
            self._row("duty_shifts", (jid, officers[d % len(officers)], "", "duty_officer", f"{day}T00:00:00",
                                      f"{after}T00:00:00"))

    def _reports(self, rng: random.Random, inc: dict, missing: bool) -> bool:
        """An incident's reports (``accountability.reporting`` gives the chain they should follow); returns
        whether the one missing step is still to be left out."""
        j = self.by_id[inc["jid"]]
        unit = inc["org"] or (f"{j.id}-GOV" if j.level != "village" else "")
        if not unit:
            return missing
        industries = [inc["industry"]] + [i for i in inc["also"].split(";") if i and i != inc["industry"]]
        levels = self._report_levels(inc["jid"])
        top = "city" if inc["level"] == "general" else "province"
        kinds = {code: sup for code, _, _, _, sup in DEPARTMENTS}

        def receivers(jid: str) -> list[tuple[str, str | None]]:
            out = []
            for oid, inds, _ in self.departments.get(jid, ()):
                if kinds[oid.rsplit("-", 1)[1]] == "comprehensive":
                    out.append((oid, None))
                else:
                    out += [(oid, i) for i in industries if i in inds]
            return out

        start = dt.datetime.fromisoformat(inc["at"])
        received: dict[str, dt.datetime] = {}
        made: set[tuple[str, str]] = set()

        def send(sender: str, receiver: str, base: dt.datetime, limit: int) -> None:
            late = rng.random() < LATE_REPORTS
            at = base + dt.timedelta(minutes=rng.randint(limit + 1, limit * 3) if late else rng.randint(5, limit))
            made.add((sender, receiver))
            received[receiver] = min(received.get(receiver, at), at)
            self._row("incident_reports", (inc["id"], sender, receiver, at.isoformat(), "", "initial"))

        below = receivers(levels[0].id)
        for oid, _ in below:
            if (unit, oid) not in made and unit != oid:
                send(unit, oid, start, 60)
        for lower, upper in zip(levels, levels[1:]):
            if lower.level == top:
                break
            above = receivers(upper.id)
            for oid, industry in below:
                for target, kind in above:
                    if kind != industry or (oid, target) in made or oid not in received:
                        continue
                    if missing and upper.level == top:  # 漏报: one step, once in the dataset
                        missing = False
                        made.add((oid, target))
                        continue
                    send(oid, target, received[oid], 120)
            below = above
        return missing

    def _outcomes(self, plan: list[dict]) -> None:
        """For each incident, the people its investigation sanctioned (and the leaders it interviewed), as a real
        report decides them: heavier and reaching higher the graver the accident (``OUTCOMES``)."""
        rng = self.rng
        for inc in plan:
            on = inc["occurred"]
            who = self._involved(inc)
            decided = on + 120 + rng.randint(0, 150)
            decided_on = self.iso(decided) if decided <= self.today else ""  # still under investigation
            seen: set[str] = set()
            for role, forms in OUTCOMES[inc["level"]]:
                holder = who.get(role)
                if holder is None or holder in seen:
                    continue
                seen.add(holder)
                self._row("outcomes", (holder, inc["id"], rng.choice(forms), decided_on, f"《{inc['title']}调查报告》"))

    def _involved(self, inc: dict) -> dict[str, str]:
        """The people an investigation of ``inc`` looks at, by their place in ``OUTCOMES``, as they were on the
        day of the accident."""
        on, industry, jid = inc["occurred"], inc["industry"], inc["jid"]
        posts: dict[str, str] = {}
        people: dict[str, str | None] = {}
        e = inc["ent"]
        if e is not None:
            people["principal"] = self._kept_holder(self.principals[e], on)
            people["safety_manager"] = self._kept_holder(self.safety_managers[e], on)
            controller = self.controllers.get(e)
            people["controller"] = controller[0] if controller and controller[1] <= on else None
        reg, head = self.regulator(jid, industry)
        posts["regulator_head"] = head
        posts["regulator_deputy"] = head[:-4] + "DEP"
        if self.em_head.get(reg) not in (None, head):
            posts["em_head"] = self.em_head[reg]
        posts["deputy_in_charge"] = self.in_charge.get((reg, industry)) or f"{reg}-GOV-EXEC"
        j = self.by_id[jid]
        if j.level == "village":
            j = j.parent
        if j.level == "township":
            posts["township_head"] = f"{j.id}-GOV-HEAD"
        county = self._county(jid)
        city = county.parent
        posts["county_head"], posts["county_secretary"] = f"{county.id}-GOV-HEAD", f"{county.id}-PC-SEC"
        posts["city_head"], posts["city_secretary"] = f"{city.id}-GOV-HEAD", f"{city.id}-PC-SEC"
        posts["city_deputy"] = self.in_charge.get((city.id, industry)) or f"{city.id}-GOV-EXEC"
        city_head = self.regulator(city.id, industry)[1]
        if city_head != head:
            posts["city_regulator_head"] = city_head
        posts["province_regulator_head"] = self.regulator("P", industry)[1]
        posts["province_deputy"] = self.in_charge.get(("P", industry)) or "P-GOV-EXEC"
        people.update((role, self._holder(post, on)) for role, post in posts.items())
        return {role: pid for role, pid in people.items() if pid is not None}
