"""Fixed Chinese content of the synthetic company: places, product catalogues per scenario, text templates.

Everything here is plain data (no randomness): the generator draws from these tables with numpy, so a company
is reproducible from its parameters and seed alone.
"""

from __future__ import annotations

from dataclasses import dataclass

STAGES: tuple[str, ...] = ("考察期", "形成期", "稳定期", "退化期", "已流失")
SCENARIOS: tuple[str, ...] = (
    "default", "walmart_basket", "cosmetics_members", "coca_cola_complaints", "convenience_time_of_day",
)
CUSTOMER_KINDS: tuple[str, ...] = ("消费者", "企业", "渠道", "内部客户")
SETTLEMENTS: tuple[str, ...] = ("现金", "预付款", "赊销")
ACQUISITION_CHANNELS: tuple[str, ...] = ("线上广告", "门店", "老客户推荐", "展会", "电话营销", "校园活动")
ORDER_CHANNELS: tuple[str, ...] = ("线上", "门店", "电话")
INTERACTION_KINDS: tuple[str, ...] = ("电话", "拜访", "邮件", "微信")
TICKET_TYPES: tuple[str, ...] = ("产品质量", "物流配送", "售后服务", "账单", "其他")
TICKET_PRIORITIES: tuple[str, ...] = ("高", "中", "低")
TICKET_STATUSES: tuple[str, ...] = ("已解决", "处理中", "已关闭未解决")
VALUE_TIERS: tuple[str, ...] = ("VIP", "主要", "普通", "小客户")

# Province -> (relative weight, cities). Real prefecture-level cities; weights roughly follow population.
PROVINCES: dict[str, tuple[float, tuple[str, ...]]] = {
    "北京": (2.2, ("北京",)),
    "上海": (2.5, ("上海",)),
    "天津": (1.4, ("天津",)),
    "重庆": (2.3, ("重庆",)),
    "广东": (9.0, ("广州", "深圳", "东莞", "佛山", "珠海", "汕头", "惠州", "中山")),
    "浙江": (5.5, ("杭州", "宁波", "温州", "绍兴", "嘉兴", "金华", "台州")),
    "江苏": (6.0, ("南京", "苏州", "无锡", "常州", "南通", "徐州", "扬州")),
    "山东": (7.0, ("济南", "青岛", "烟台", "潍坊", "临沂", "淄博", "济宁")),
    "河南": (6.5, ("郑州", "洛阳", "南阳", "新乡", "开封", "商丘")),
    "四川": (5.5, ("成都", "绵阳", "德阳", "宜宾", "南充", "乐山")),
    "湖北": (4.0, ("武汉", "宜昌", "襄阳", "荆州", "黄冈")),
    "湖南": (4.2, ("长沙", "株洲", "湘潭", "衡阳", "岳阳", "常德")),
    "河北": (5.0, ("石家庄", "唐山", "保定", "邯郸", "廊坊", "沧州")),
    "福建": (3.0, ("福州", "厦门", "泉州", "漳州", "莆田")),
    "安徽": (4.0, ("合肥", "芜湖", "蚌埠", "安庆", "阜阳")),
    "辽宁": (2.8, ("沈阳", "大连", "鞍山", "锦州")),
    "陕西": (2.6, ("西安", "咸阳", "宝鸡", "榆林")),
    "江西": (3.0, ("南昌", "赣州", "九江", "上饶")),
    "广西": (3.3, ("南宁", "柳州", "桂林", "玉林")),
    "云南": (3.0, ("昆明", "曲靖", "大理", "玉溪")),
    "黑龙江": (2.1, ("哈尔滨", "大庆", "齐齐哈尔")),
    "吉林": (1.6, ("长春", "吉林", "四平")),
    "山西": (2.4, ("太原", "大同", "运城", "长治")),
    "贵州": (2.6, ("贵阳", "遵义", "六盘水")),
    "内蒙古": (1.6, ("呼和浩特", "包头", "鄂尔多斯")),
    "新疆": (1.8, ("乌鲁木齐", "克拉玛依", "喀什")),
    "甘肃": (1.7, ("兰州", "天水", "酒泉")),
    "海南": (0.7, ("海口", "三亚")),
}

COMPANY_INDUSTRIES: tuple[str, ...] = (
    "科技", "商贸", "贸易", "实业", "电子", "物流", "餐饮管理", "文化传媒", "建材", "医药", "服饰", "食品",
    "酒店管理", "教育咨询", "机械设备", "环保科技", "信息技术", "家居用品",
)
CHANNEL_INDUSTRIES: tuple[str, ...] = ("商贸", "贸易", "供应链管理", "连锁超市", "批发", "便利连锁")
COMPANY_FORMS: tuple[str, ...] = ("有限公司", "有限公司", "有限公司", "股份有限公司", "有限责任公司")
# Trailing words in Faker's zh_CN company prefixes that would double up with an industry word.
PREFIX_TRIM: tuple[str, ...] = ("公司", "信息", "软件", "计算机", "网络", "科技", "电子", "传媒")


@dataclass(frozen=True)
class Item:
    """One catalogue entry: a product name, its category and a list price in yuan."""

    name: str
    category: str
    price: float


def _items(category: str, entries: str) -> list[Item]:
    """Parse 'name:price name:price ...' into catalogue items of one category."""
    out = []
    for token in entries.split():
        name, price = token.rsplit(":", 1)
        out.append(Item(name, category, float(price)))
    return out


CATALOGUES: dict[str, list[Item]] = {
    "default": [
        *_items("办公设备", "激光打印机:1299 喷墨打印机:699 碎纸机:459 投影仪:2999 扫描仪:899 考勤机:399"),
        *_items("办公耗材", "墨盒:189 硒鼓:268 A4复印纸:125 签字笔:18 文件夹:25 订书机:32 白板笔:15 便利贴:12"),
        *_items("电脑数码", "笔记本电脑:5699 显示器:1099 无线键盘:129 无线鼠标:79 路由器:239 移动硬盘:459 "
                "移动电源:149 蓝牙耳机:299 数据线:39"),
        *_items("办公家具", "人体工学椅:899 文件柜:699 办公桌:1299 会议椅:299"),
        *_items("茶水间", "咖啡机:1899 咖啡豆:98 桶装水:22 茶叶礼盒:268 一次性纸杯:19 饮水机:599"),
        *_items("家用电器", "空气净化器:1599 净化器滤网:199 扫地机器人:1999 电饭煲:399 微波炉:499 电水壶:129"),
        *_items("日用百货", "抽纸:39 洗手液:29 垃圾袋:15 收纳箱:59 保温杯:119 雨伞:69"),
        *_items("礼品", "定制台历:45 企业礼品套装:368 购物卡:500"),
    ],
    "walmart_basket": [
        *_items("母婴", "尿布:89 婴儿湿巾:25 奶粉:268 婴儿洗发沐浴露:45 奶瓶:79"),
        *_items("酒水饮料", "啤酒:6 白酒:158 红酒:89 可乐:3 矿泉水:2 橙汁:12 凉茶:4"),
        *_items("粮油调味", "大米:59 食用油:79 酱油:15 醋:9 盐:3 面粉:35"),
        *_items("生鲜", "猪肉:28 鸡蛋:15 苹果:12 香蕉:8 西红柿:6 鸡翅:32 鲜鱼:26 青菜:5"),
        *_items("乳品烘焙", "牛奶:65 酸奶:18 面包:10 奶酪:35"),
        *_items("休闲食品", "薯片:9 饼干:12 巧克力:25 花生:15 火腿肠:12 方便面:18 坚果礼盒:99"),
        *_items("日化", "洗发水:49 牙膏:15 卫生纸:45 洗衣液:39 香皂:8 洗洁精:12"),
        *_items("冷冻食品", "速冻水饺:28 汤圆:15 冰淇淋:25"),
    ],
    "cosmetics_members": [
        *_items("洁面卸妆", "洁面乳:89 卸妆油:129 化妆棉:19 卸妆湿巾:29"),
        *_items("护肤", "爽肤水:139 乳液:159 面霜:229 精华液:399 眼霜:269 面膜:99 防晒霜:119 护手霜:39 身体乳:79"),
        *_items("彩妆", "隔离霜:129 粉底液:259 散粉:149 口红:199 眼影盘:239 睫毛膏:119 眉笔:69 腮红:129 "
                "化妆刷套装:159 美妆蛋:29"),
        *_items("香氛", "淡香水:459 香体喷雾:89"),
        *_items("美发", "洗发水:79 护发素:79 发膜:99"),
        *_items("美甲", "指甲油:49 卸甲水:25"),
        *_items("礼盒", "新人护肤礼盒:299 节日彩妆礼盒:499"),
    ],
    "coca_cola_complaints": [
        *_items("汽水", "可口可乐330ml罐装:3 可口可乐500ml瓶装:3.5 可口可乐2L家庭装:8 零度可口可乐:3.5 雪碧:3 "
                "芬达:3 醒目:3"),
        *_items("汽水整箱", "可口可乐330ml×24罐:55 雪碧330ml×24罐:52 零度可口可乐×24罐:58"),
        *_items("果汁", "美汁源果粒橙:4 美汁源果粒橙1.25L:9 酷儿:3.5"),
        *_items("水", "冰露矿泉水:1.5 纯悦矿泉水:2 怡泉苏打水:5"),
        *_items("茶与咖啡", "淳茶舍:5 乔雅咖啡:6 原叶茶:4.5"),
        *_items("运动饮料", "水动乐:4.5 魔爪能量饮料:6"),
        *_items("周边", "一次性纸杯:12 冰桶:39 可口可乐纪念杯:29 吸管:5"),
    ],
    "convenience_time_of_day": [
        *_items("早餐", "饭团:6.5 包子:3 豆浆:3.5 牛奶:5 面包:6 热咖啡:12 茶叶蛋:2"),
        *_items("午餐", "便当:18 三明治:12 沙拉:16 寿司:15"),
        *_items("甜点", "杯型甜点:12 手工点心:9 酸奶:7 冰淇淋:8"),
        *_items("饮料", "矿泉水:2 茶饮料:4.5 碳酸饮料:3.5 功能饮料:6 果汁:6"),
        *_items("零食", "薯片:7 巧克力:9 口香糖:8 饼干:6 坚果:15"),
        *_items("夜宵", "方便面:5.5 火腿肠:3 关东煮:10 啤酒:7 卤味:18"),
        *_items("日用", "雨伞:35 纸巾:3 充电线:29 口罩:10"),
    ],
}

# Gross margin on list price by product category (retail rules of thumb: thin on electronics, staples and
# fresh food, thick on cosmetics, gifts and convenience food). Unit cost = list price x (1 - margin) within 3 %.
# Sales never go below cost plus 3 % after discounts, and cost to serve is capped by what the order earns, so no
# order costs more than its amount: this catalogue has no loss-leaders.
CATEGORY_MARGIN: dict[str, float] = {
    "办公设备": 0.25, "办公耗材": 0.35, "电脑数码": 0.14, "办公家具": 0.35, "茶水间": 0.30, "家用电器": 0.22,
    "日用百货": 0.30, "礼品": 0.40,
    "母婴": 0.22, "酒水饮料": 0.24, "粮油调味": 0.12, "生鲜": 0.18, "乳品烘焙": 0.20, "休闲食品": 0.28, "日化": 0.25,
    "冷冻食品": 0.22,
    "洁面卸妆": 0.60, "护肤": 0.65, "彩妆": 0.62, "香氛": 0.55, "美发": 0.45, "美甲": 0.50, "礼盒": 0.55,
    "汽水": 0.30, "汽水整箱": 0.22, "果汁": 0.30, "水": 0.35, "茶与咖啡": 0.32, "运动饮料": 0.33, "周边": 0.45,
    "早餐": 0.38, "午餐": 0.35, "甜点": 0.45, "饮料": 0.35, "零食": 0.32, "夜宵": 0.40, "日用": 0.40,
}
MIN_MARKUP = 1.03  # the lowest price over unit cost after any discount
MAX_SERVICE_SHARE = 0.8  # cost to serve takes at most this share of what an order earns over its goods

# Planted association rules per scenario: (antecedent, consequent, probability that an order holding the
# antecedent also gets the consequent, quantity of the added line, share of orders holding the antecedent).
PLANTED_RULES: dict[str, list[tuple[str, str, float, int, float]]] = {
    # 沃尔玛: "太太让先生下楼买尿布的时候,先生们一般都会犒劳自己两听啤酒" (seed 003): two cans of beer.
    "walmart_basket": [("尿布", "啤酒", 0.55, 2, 0.05)],
    # 打印机、复印机 belong to "耐久商品…中有一部分属于消耗品" (seed 001, RFM 适用行业).
    "default": [("激光打印机", "硒鼓", 0.45, 2, 0.03), ("咖啡机", "咖啡豆", 0.40, 3, 0.025)],
    "cosmetics_members": [("卸妆油", "洁面乳", 0.50, 1, 0.05)],  # 卸妆后再洁面(双重清洁)
    "coca_cola_complaints": [("可口可乐2L家庭装", "一次性纸杯", 0.40, 1, 0.05)],
    "convenience_time_of_day": [("方便面", "火腿肠", 0.55, 1, 0.06)],
}

# Time-of-day segments of the convenience chain, after the 7-11 case in seed 003: "早上的顾客群是上班族及高中生,
# 中午的顾客群是以上班族女性为主的年轻女性,傍晚到晚上的顾客群则是下班的上班族或放学的学生,深夜的顾客则是加班之后要
# 回家的上班族及打完游戏之后要回家的夜归人". Each: (label, share, peak hours, share female, favourite categories).
TIME_SEGMENTS: tuple[tuple[str, float, tuple[int, ...], float, tuple[str, ...]], ...] = (
    ("早间通勤族", 0.28, (7, 8, 9), 0.45, ("早餐",)),
    ("午间白领女性", 0.24, (11, 12, 13), 0.85, ("午餐", "甜点")),
    ("傍晚下班放学族", 0.30, (17, 18, 19, 20), 0.50, ("零食", "饮料")),
    ("深夜夜归人", 0.18, (22, 23, 0, 1), 0.25, ("夜宵",)),
)

INTERACTION_NOTES: dict[str, tuple[str, ...]] = {
    "考察期": (
        "首次接触，介绍产品与服务政策", "客户试用中，了解试用感受", "客户询问价格与账期，已发报价单",
        "客户下了一笔小额试单，跟进到货情况", "客户比较多家供应商，约定下周再沟通",
    ),
    "形成期": (
        "客户追加订单，确认交期", "客户对上次服务满意，计划扩大采购", "介绍新品，客户有兴趣试用",
        "协助客户梳理采购清单", "客户推荐同事了解我们的产品",
    ),
    "稳定期": (
        "例行回访，客户对产品和服务满意", "确认年度采购计划", "邀请客户参加会员日活动", "客户续签年度合作协议",
        "节日问候并赠送礼品", "客户建议增加配送时段",
    ),
    "退化期": (
        "客户表示自身业务量稳定，但采购转向其他供应商", "客户反映价格偏高，采购量减少", "客户对上次投诉处理不满意",
        "客户近期下单减少，了解原因", "客户提出终止部分合作的意向",
    ),
    "已流失": (
        "沉睡客户唤醒回访，未接通", "流失客户回访，客户已选择其他品牌", "发送回归优惠券", "回访了解流失原因",
    ),
}

TICKET_RESOLUTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "已解决": {
        "产品质量": ("已为客户换货并致歉", "已退款并补偿优惠券", "上门检测后维修完成"),
        "物流配送": ("已重新配送并补偿运费", "联系承运商加急送达", "核实后补发缺失商品"),
        "售后服务": ("工程师上门处理完毕", "电话指导客户完成设置", "延长保修期作为补偿"),
        "账单": ("已更正账单并重新开票", "核对后退还多收款项", "解释计费规则，客户认可"),
        "其他": ("已记录客户建议并回复", "转交相关部门处理完毕", "已向客户说明情况"),
    },
    "处理中": {
        "产品质量": ("已安排质检，等待结果",), "物流配送": ("正在与承运商核实",), "售后服务": ("已派单，等待工程师上门",),
        "账单": ("财务正在核对",), "其他": ("已转交相关部门",),
    },
    "已关闭未解决": {
        "产品质量": ("超出保修范围，未能处理", "客户拒绝换货方案"), "物流配送": ("多次联系客户未果，工单关闭",),
        "售后服务": ("配件缺货，客户放弃维修",), "账单": ("双方对计费规则存在分歧",), "其他": ("客户未再回复，工单关闭",),
    },
}

# A seasonal campaign is sent only in its season: (month, first day, last day) ranges; None: any time of year.
Season = tuple[tuple[int, int, int], ...] | None
CAMPAIGN_TEMPLATES: tuple[tuple[str, str, str, Season], ...] = (
    # (name pattern, channel, segment note, season)
    ("{y}年春节老客户回馈", "短信", "近一年有购买的全部客户", ((1, 5, 31), (2, 1, 20))),  # before and around 春节
    ("{y}年会员日专享优惠", "微信", "RFM 得分 R≥4 且 F≥4 的客户", None),
    ("{y}年新品试用邀请", "邮件", "稳定期重点客户", None),
    ("{y}年沉睡客户唤醒", "电话", "超过 180 天未购买的客户", None),
    ("{y}年双十一大促", "短信", "全部客户", ((10, 25, 31), (11, 1, 11))),  # the pre-sale and 11 November
    ("{y}年年中答谢", "直邮", "VIP 客户与主要客户", ((6, 10, 30), (7, 1, 10))),  # 618 and the half-year close
    ("{y}年随机抽样测试", "短信", "全部客户随机抽样 5%，作为对照组", None),
    ("{y}年交叉销售推荐", "邮件", "购买过主力商品但未购买配套商品的客户", None),
)
CAMPAIGN_COSTS: dict[str, tuple[float, float]] = {  # channel -> (cost per contact, typical fixed cost)
    "短信": (0.05, 2000.0), "微信": (0.10, 3000.0), "邮件": (0.02, 1500.0), "电话": (3.50, 5000.0),
    "直邮": (2.80, 8000.0),
}
