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

Scales: ``small`` (tests, < 1 s), ``county`` and ``province`` (21 cities, 120 counties, 1,600
townships, 300,000 enterprises, 2,000,000 hazards of which over 500,000 unresolved).
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path

TODAY = "2026-11-28"

TABLES: dict[str, tuple[str, ...]] = {
    "jurisdictions": ("id", "name", "level", "parent_id"),
    "organizations": ("id", "name", "kind", "jurisdiction_id", "parent_id", "industries", "supervision"),
    "posts": ("id", "title", "organization_id", "role"),
    "people": ("id", "name"),
    "tenures": ("person_id", "post_id", "start", "end", "acting"),
    "portfolios": ("post_id", "industry", "organization_id", "start", "end"),
    "hazards": ("id", "description", "industry", "level", "jurisdiction_id", "organization_id", "found_on",
                "deadline", "status", "closed_on"),
    "incidents": ("id", "title", "occurred_on", "jurisdiction_id", "organization_id", "industry", "deaths",
                  "serious_injuries", "direct_loss_yuan", "hazard_ids"),
    "events": ("hazard_id", "on", "kind", "post_id", "deadline", "note"),
}


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

HISTORY_DAYS = 3 * 365  # hazards are found over the last three years
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
INDUSTRIES = ("road_traffic", "water_traffic", "tourism", "hazardous_chemicals", "mining", "urban_gas", "fire",
              "forest_fire", "construction", "self_built_housing", "special_equipment", "industry_trade",
              "natural_disaster")
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


# [low, high) of each measure (deaths, serious injuries, direct loss) within a level
BANDS = {
    "general": ((0, 3), (0, 10), (50_000, 10_000_000)),
    "large": ((3, 10), (10, 50), (10_000_000, 50_000_000)),
    "major": ((10, 30), (50, 100), (50_000_000, 100_000_000)),
}


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


def generate(out: str | Path, scale: str = "small", seed: int = 1, today: str | None = None) -> dict[str, int]:
    """Write the demo dataset for ``scale`` as CSV files into ``out``; return the row count of each table."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale '{scale}' (expected one of {', '.join(SCALES)})")
    day = dt.date.fromisoformat(today or TODAY)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return _Generator(out, SCALES[scale], int(seed), day).run()


@dataclass
class _Jur:
    id: str
    name: str
    level: str
    parent: _Jur | None
    suffix: str  # 省, 市, 区, 县, 镇, 乡, 街道, 村, 社区
    stem: str  # the name without its suffix


class _Generator:
    def __init__(self, out: Path, scale: Scale, seed: int, today: dt.date):
        self.out = out
        self.scale = scale
        self.seed = seed
        self.today = today.toordinal()
        self.origin = self.today - ORIGIN_DAYS
        self.rng = random.Random(seed)
        self.counts = {t: 0 for t in TABLES}
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

    # -- output -----------------------------------------------------------------------------------------------------

    def run(self) -> dict[str, int]:
        files = {t: (self.out / f"{t}.csv").open("w", encoding="utf-8", newline="") for t in TABLES}
        try:
            self.w = {t: csv.writer(fh, lineterminator="\n") for t, fh in files.items()}
            for t, header in TABLES.items():
                self.w[t].writerow(header)
            self._jurisdictions()
            self._governments()
            self._enterprises()
            plan = self._plan_incidents()
            self._hazards(plan)
            self._incidents(plan)
        finally:
            for fh in files.values():
                fh.close()
        return dict(self.counts)

    def _row(self, table: str, row: tuple) -> None:
        self.w[table].writerow(row)
        self.counts[table] += 1

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
        province = self._add_jur("P", "江南", "省", "province", None)
        self.gov_jurs.append(province)
        used_city: set[str] = {"江南"}
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
             supervision: str = "") -> str:
        self._row("organizations", (oid, name, kind, jid, parent, ";".join(industries), supervision))
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
        self._portfolios(exe, deputies, depts, no_portfolio)

    def _portfolios(self, exe: str, deputies: list[str], depts: list[tuple[str, tuple[str, ...], str]],
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

    def _enterprises(self) -> None:
        rng = self.rng
        n = self.scale.enterprises
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
            self._org(eid, name, "enterprise", place.id, parent, (ind,))
            if not (i == 3 or rng.random() < NO_PRINCIPAL):
                title = "董事长" if rng.random() < 0.35 else "总经理"
                self._enterprise_tenures(self._post(f"{eid}-GM", title, eid, "enterprise_principal"), 0.005)
            title = "安全总监" if rng.random() < 0.3 else ("安全部经理" if rng.random() < 0.6 else "专职安全员")
            # E000005's safety manager left recently and nobody replaced them: the vacant_post showcase
            self._enterprise_tenures(self._post(f"{eid}-SM", title, eid, "safety_manager"), 1.0 if i == 4 else 0.01)
            self.ent_ids.append(eid)
            self.ent_jur.append(place.id)
            self.ent_ind.append(ind)
            self.by_industry[ind].append(i)

    # -- regulators, for events ---------------------------------------------------------------------------------------

    def regulator(self, jid: str, industry: str) -> tuple[str, str]:
        """(R, the head post of R's first department regulating ``industry``) as the engine would find them;
        with no regulator anywhere, R is the nearest county or higher and the post its emergency bureau's head."""
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
                jid, org, key = place.id, "", (place.id, industry)
            else:
                e = rng.choice(candidates)
                jid, org, key = self.ent_jur[e], self.ent_ids[e], self.ent_ids[e]
            plan.append({"id": f"I{k + 1:04d}", "industry": industry, "jid": jid, "org": org, "key": key,
                         "occurred": occurred, "deaths": deaths, "injuries": injuries, "loss": loss,
                         "links": 2 if k == 0 else rng.randint(0, 3), "seen": seen.setdefault(key, [])})
        return plan

    def _incidents(self, plan: list[dict]) -> None:
        rng = random.Random(self.seed * 1_000_003 + 13)
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
            self._row("incidents", (inc["id"], title, self.iso(occurred), inc["jid"], inc["org"], inc["industry"],
                                    inc["deaths"], inc["injuries"], inc["loss"], ";".join(h[0] for h in chosen)))

    # -- hazards and events, streamed -----------------------------------------------------------------------------------

    def _hazards(self, plan: list[dict]) -> None:
        rng = random.Random(self.seed * 1_000_003 + 7)
        r = rng.random
        today = self.today
        iso = self.iso
        for o in range(today - HISTORY_DAYS - 10, today + 400):
            iso(o)
        n = self.scale.hazards
        ne = len(self.ent_ids)
        ent_ids, ent_jur, ent_ind = self.ent_ids, self.ent_jur, self.ent_ind
        low = [j.id for j in self.low]
        nl = len(low)
        no_org_inds = [i for i, _ in NO_ORG_MIX]
        no_org_w = [w for _, w in NO_ORG_MIX]
        watch: dict = {inc["key"]: inc["seen"] for inc in plan}
        descriptions = {ind: [a + p for a in AREAS[ind] for p in PROBLEMS[ind]] for ind in PROBLEMS}
        majors = {ind: [a + p for a in AREAS[ind] for p in MAJOR_PROBLEMS[ind]] for ind in MAJOR_PROBLEMS}
        regulator = self.regulator
        em_head = self.em_head
        by_id = self.by_id
        hazards_w, events_w = self.w["hazards"], self.w["events"]
        hrows: list[tuple] = []
        erows: list[tuple] = []
        n_events = 0
        chunk = 20_000
        for i in range(1, n + 1):
            hid = f"H{i:07d}"
            if r() < NO_ORG and i > SHOWCASE:
                ind = rng.choices(no_org_inds, no_org_w)[0]
                jid = low[int(r() * nl)]
                eid = ""
                key = (jid, ind)
            else:
                k = int(r() * ne) if i > SHOWCASE else i - 1
                eid, jid, ind = ent_ids[k], ent_jur[k], ent_ind[k]
                key = eid
            major = r() < MAJOR
            if major:
                texts = majors[ind]
                deadline_days = 30 + int(r() * 61)
            else:
                texts = descriptions[ind]
                deadline_days = 7 + int(r() * 84)
            desc = texts[int(r() * len(texts))]
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
            hrows.append((hid, desc, ind, "major" if major else "general", jid, eid, iso(found), iso(deadline), status,
                          "" if closed is None else iso(closed)))
            seen = watch.get(key)
            if seen is not None and len(seen) < 50:
                seen.append((hid, found, closed))

            # events: about 0.85 per hazard
            last = today if closed is None else closed
            if r() < 0.3:
                erows.append((hid, iso(found), "found", f"{eid}-SM" if eid else "", "", ""))
            if r() < 0.12 and last > found:
                reg = regulator(jid, ind)[1]
                erows.append((hid, iso(min(found + 1 + int(r() * 30), last)), "inspected", reg, "", "检查督导"))
            if r() < 0.04 and found < today:
                on = min(max(found + 1, deadline - int(r() * 5)), last)
                new = deadline + 15 + int(r() * 76)
                erows.append((hid, iso(on), "deadline_extended", "", iso(new), "申请延期整改"))
            if major and r() < ESCALATED:
                reg_j, reg_head = regulator(jid, ind)
                parent = by_id[reg_j].parent
                post = em_head[parent.id] if parent is not None and r() < 0.4 else reg_head
                erows.append((hid, iso(min(found + int(r() * 15), today)), "escalated", post, "", "挂牌督办"))
            if closed is not None:
                if r() < 0.2:
                    rect = max(found, closed - int(r() * 5))
                    erows.append((hid, iso(rect), "rectified", f"{eid}-SM" if eid else "", "", ""))
                    erows.append((hid, iso(closed), "closed", regulator(jid, ind)[1], "", "验收销号"))
            elif status == "rectifying" and r() < 0.01 and today - found > 30:
                # closed too early: a follow-up review (回头看) reopened it
                c = found + 1 + int(r() * (today - found - 20))
                erows.append((hid, iso(c), "closed", regulator(jid, ind)[1], "", "验收销号"))
                erows.append((hid, iso(c + 1 + int(r() * 15)), "reopened", regulator(jid, ind)[1], "", "回头看发现整改不到位"))
            if i % chunk == 0:
                hazards_w.writerows(hrows)
                events_w.writerows(erows)
                n_events += len(erows)
                hrows.clear()
                erows.clear()
        hazards_w.writerows(hrows)
        events_w.writerows(erows)
        n_events += len(erows)
        self.counts["hazards"] += n
        self.counts["events"] += n_events
