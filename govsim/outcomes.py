"""The outcome registry: one entry per outcome, with its display names in English and Chinese,
unit, kind, direction and smallest effect of interest; plus display names of regimes,
parameters and other terms, and the language setting.

Reports, plots, the CLI summary, the app and the notebooks read their labels from here.
To add an outcome, add one :class:`Outcome` to :data:`OUTCOMES` (the ``_add`` calls below).
Names that are not registered fall back gracefully to the name itself, so a new model
reporter shows up (under its own name) before anyone registers it::

    from govsim.outcomes import label, smallest_effect, set_language

    label("mean_trust_gov")             # 'Trust in government (mean)'
    label("mean_trust_gov", "zh")       # '对政府的信任（均值）'
    label("hybrid", "zh")               # '混合型（日本式）'
    label("something_new")              # 'something_new'
    smallest_effect("cost_per_resolved_case", reference=400.0)   # 20.0 (5% of 400)

The Chinese terms follow the field reports (居委会, 网格化管理, 社区协商, 参与式预算, ...).
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "GROUPS",
    "LANGS",
    "OUTCOMES",
    "REGIME_NOTES",
    "TERMS",
    "Outcome",
    "get_language",
    "group_of",
    "is_share",
    "label",
    "outcome",
    "register",
    "set_language",
    "smallest_effect",
    "unit",
    "use_language",
]

LANGS = ("en", "zh")
Kind = Literal["share", "count", "money", "days", "hours", "attitude", "level", "other"]
Direction = Literal["higher", "lower", "neutral"]


@dataclass(frozen=True)
class Outcome:
    """One outcome (a summary metric or a daily reporter).

    ``sesoi`` is the smallest effect of interest as an absolute difference in the outcome's
    own scale (a share's 0.01 is one percentage point); ``sesoi_rel`` is one relative to the
    reference mean (0.05 = 5 %). When both are given, the larger applies. ``direction`` says
    whether higher values are better (``"higher"``), worse (``"lower"``) or neither.
    """

    name: str
    en: str
    zh: str
    kind: Kind = "count"
    direction: Direction = "neutral"
    sesoi: float | None = None
    sesoi_rel: float | None = None
    group: str = "other"
    unit_en: str = ""
    unit_zh: str = ""


#: The registry: outcome name -> :class:`Outcome`.
OUTCOMES: dict[str, Outcome] = {}

#: Display groups of the CLI summary, in order: key -> (English, Chinese).
GROUPS: dict[str, tuple[str, str]] = {
    "participation": ("Participation", "居民参与"),
    "resolution": ("Conflict resolution", "矛盾化解"),
    "cost": ("Cost", "成本"),
    "attitudes": ("Attitudes", "居民态度"),
    "equity": ("Gaps between groups", "群体差距"),
    "institutions": ("Institutions at work", "制度运行"),
    "other": ("Other", "其他"),
}

_UNITS = {  # kind -> (English unit, Chinese unit)
    "share": ("%", "%"), "money": ("yuan", "元"), "days": ("days", "天"),
    "hours": ("hours", "小时"), "count": ("", ""), "attitude": ("0-1", "0-1"),
    "level": ("", ""), "other": ("", ""),
}
# Default smallest effects of interest by kind (absolute, relative).
_SESOI = {
    "share": (0.01, None), "attitude": (0.02, None), "money": (None, 0.05),
    "hours": (None, 0.05), "count": (None, 0.05), "days": (0.5, 0.05), "level": (0.1, None),
    "other": (None, None),
}


def register(outcome: Outcome) -> Outcome:
    """Add (or replace) an outcome in the registry; fill its unit from its kind."""
    ue, uz = _UNITS.get(outcome.kind, ("", ""))
    if not outcome.unit_en and not outcome.unit_zh:
        outcome = Outcome(**{**outcome.__dict__, "unit_en": ue, "unit_zh": uz})
    OUTCOMES[outcome.name] = outcome
    return outcome


def _add(name: str, en: str, zh: str, kind: Kind, direction: Direction = "neutral",
         group: str = "other", sesoi: float | None = None,
         sesoi_rel: float | None = None) -> None:
    a, r = _SESOI[kind]
    if sesoi is None and sesoi_rel is None:
        sesoi, sesoi_rel = a, r
    register(Outcome(name, en, zh, kind, direction, sesoi, sesoi_rel, group))


# --------------------------------------------------------------------------- participation
_add("participation_rate", "Participation rate (active in last 30 days)",
     "居民参与率（近30天有参与）", "share", "higher", "participation")
_add("mean_participation_rate", "Participation rate (mean over the run)",
     "居民参与率（全期平均）", "share", "higher", "participation")
_add("meeting_attendance", "Meeting attendance (last meeting)",
     "居民会议出席率（最近一次）", "share", "higher", "participation")
_add("volunteers", "Volunteers", "志愿者人数", "count", "higher", "participation")
_add("volunteer_hours", "Volunteer hours", "志愿服务时长（小时）", "hours", "higher",
     "participation")
_add("ladder_level", "Participation ladder (1 informed .. 5 self-governing)",
     "参与阶梯（1 知情 … 5 自治）", "level", "higher", "participation")
# --------------------------------------------------------------------------- resolution
_add("cases_arisen", "Cases arisen", "产生的事项数", "count", "neutral", "resolution")
_add("cases_detected", "Cases detected (screened)", "发现（排查）的事项数", "count", "neutral",
     "resolution")
_add("cases_resolved", "Cases resolved", "已化解事项数", "count", "higher", "resolution")
_add("cases_lapsed", "Cases lapsed", "失效事项数", "count", "lower", "resolution")
_add("cases_abandoned", "Cases abandoned", "放弃的事项数", "count", "lower", "resolution")
_add("open_cases", "Open cases", "未结事项数", "count", "lower", "resolution")
_add("resolution_rate", "Resolution rate (resolved / arisen)", "化解率（化解 / 产生）",
     "share", "higher", "resolution")
_add("screened_resolution_rate", "Resolution rate of screened cases (resolved / detected)",
     "排查事项化解率（化解 / 发现）", "share", "higher", "resolution")
_add("self_resolution_share", "Share of resolved cases settled inside the community",
     "社区内自行化解的比例", "share", "higher", "resolution")
_add("disputes_arisen", "Disputes arisen", "产生的纠纷数", "count", "lower", "resolution")
_add("disputes_detected", "Disputes detected", "发现的纠纷数", "count", "neutral", "resolution")
_add("disputes_resolved", "Disputes resolved", "已化解纠纷数", "count", "higher", "resolution")
_add("dispute_screened_resolution_rate", "Dispute resolution rate (resolved / detected)",
     "纠纷化解率（化解 / 发现）", "share", "higher", "resolution")
_add("dispute_self_resolution_share", "Share of resolved disputes settled inside the community",
     "社区内自行化解的纠纷比例", "share", "higher", "resolution")
_add("mean_days_to_resolution", "Days to resolution (mean)", "化解所需天数（均值）", "days",
     "lower", "resolution")
_add("median_days_to_resolution", "Days to resolution (median)", "化解所需天数（中位数）",
     "days", "lower", "resolution")
# neutral: fewer escalations may mean problems solved locally, or problems never passed on
_add("escalations", "Escalations", "上报（升级）次数", "count", "neutral", "resolution")
_add("collective_incidents", "Collective incidents", "群体性事件", "count", "lower",
     "resolution", sesoi=1.0)
_add("unresolved_open", "Cases still open at the end", "期末未结事项", "count", "lower",
     "resolution")
# --------------------------------------------------------------------------- cost
_add("fiscal_spending", "Government spending (yuan)", "政府财政支出（元）", "money", "lower",
     "cost")
_add("ngo_contract_spending", "NGO contract spending (yuan)", "社会组织购买服务支出（元）",
     "money", "neutral", "cost")
_add("ngo_grant_spending", "NGO grant spending (yuan)", "社会组织资助支出（元）", "money",
     "neutral", "cost")
_add("donations", "Donations (yuan)", "捐赠（元）", "money", "neutral", "cost")
_add("resident_payments", "Residents' dues and fees (yuan)", "居民缴纳的会费和物业费（元）", "money", "neutral", "cost")
_add("committee_staff_hours", "Committee staff hours", "居委会工作人员工时", "hours", "lower",
     "cost")
_add("resident_hours", "Residents' time (hours)", "居民投入时间（小时）", "hours", "neutral",
     "cost")
_add("resident_time_value", "Value of residents' time (yuan)", "居民时间折价（元）", "money",
     "neutral", "cost")
_add("cost_per_resolved_case", "Fiscal cost per resolved case (yuan)",
     "每化解一件事项的财政成本（元）", "money", "lower", "cost")
_add("social_cost_per_resolved_case", "Social cost per resolved case (yuan)",
     "每化解一件事项的社会成本（元）", "money", "lower", "cost")
# --------------------------------------------------------------------------- attitudes
_add("mean_trust_gov", "Trust in government (mean)", "对政府的信任（均值）", "attitude",
     "higher", "attitudes")
_add("mean_trust_comm", "Trust in the community (mean)", "对社区的信任（均值）", "attitude",
     "higher", "attitudes")
_add("mean_belonging", "Sense of belonging (mean)", "社区归属感（均值）", "attitude", "higher",
     "attitudes")
_add("mean_satisfaction", "Satisfaction (mean)", "满意度（均值）", "attitude", "higher",
     "attitudes")
_add("satisfaction_sd", "Satisfaction (spread across residents, SD)", "满意度（居民间标准差）", "attitude",
     "neutral", "attitudes")
_add("satisfaction_p10", "Satisfaction (10th percentile)", "满意度（第10百分位）", "attitude", "higher",
     "attitudes")
_add("satisfaction_p50", "Satisfaction (median)", "满意度（中位数）", "attitude", "higher", "attitudes")
_add("satisfaction_p90", "Satisfaction (90th percentile)", "满意度（第90百分位）", "attitude", "higher",
     "attitudes")
# --------------------------------------------------------------------------- emergencies and gaps
# In an emergency hours count: a quarter of a day (6 hours) is the smallest effect of interest.
_add("emergency_response_days", "Emergency response time (days to first response)",
     "紧急事项响应时间（至首次响应天数）", "days", "lower", "resolution", sesoi=0.25)
_add("local_migrant_resolution_gap", "Local-migrant gap in resolution rate (locals minus migrants)",
     "本地居民与流动人口化解率差距", "share", "lower", "equity")
_add("local_migrant_satisfaction_gap", "Local-migrant gap in satisfaction", "本地居民与流动人口满意度差距",
     "attitude", "lower", "equity")
_add("income_resolution_gap", "Income gap in resolution rate (others minus low-income)",
     "低收入家庭化解率差距", "share", "lower", "equity")
_add("community_resolution_spread", "Spread of resolution rate between communities (best minus worst)",
     "社区间化解率差距（最高减最低）", "share", "lower", "equity")
# --------------------------------------------------------------------------- institutions
for _name, _en, _zh, _kind in (
    ("elections", "Committee elections held", "居委会选举次数", "count"),
    ("incumbents_lost", "Committees voted out", "落选的居委会", "count"),
    ("election_turnout", "Election turnout", "选举投票率", "share"),
    ("assembly_sessions", "Assembly sessions", "居民（代表）大会会议次数", "count"),
    ("assembly_extra_sessions", "Extra assembly sessions (a third asked)", "临时召开的居民代表会议", "count"),
    ("proposals_passed", "Proposals passed by consent vote", "表决通过的议题", "count"),
    ("proposals_rejected", "Proposals rejected", "未通过的议题", "count"),
    ("dues_collected", "Dues collected", "居民缴费总额", "money"),
    ("dues_paying_share", "Households paying dues", "缴费家庭比例", "share"),
    ("board_fixes", "Needs fixed by the board at meetings", "业委会/理事会会上解决的需求", "count"),
    ("work_day_participants", "Work-day participants", "集体劳动参与人次", "count"),
    ("company_tenders", "Management-company tenders", "物业服务招标次数", "count"),
    ("company_terminations", "Management companies dismissed", "被解聘的物业企业", "count"),
    ("company_quality", "Management-company quality", "物业服务质量", "attitude"),
    ("hierarchy_appraisals", "Upward appraisals of the committee", "上级对居委会的考核次数", "count"),
    ("hierarchy_reshuffles", "Committees reshuffled from above", "被上级调整的居委会", "count"),
    ("dispatched_staff", "Dispatched government staff", "政府派驻人员", "count"),
    ("government_programmes", "Top-down programmes run", "政府项目数", "count"),
    ("appraisal_promotions", "Appraisals moving a community up a tier", "考核升档次数", "count"),
    ("appraisal_demotions", "Appraisals moving a community down a tier", "考核降档次数", "count"),
    ("appraisal_score", "Appraisal score (mean)", "考核得分（均值）", "attitude"),
    ("association_member_share", "Households in the neighbourhood association", "町内会入会家庭比例", "share"),
    ("association_dues", "Association dues", "町内会会费", "money"),
    ("association_grants", "Government matching grants to associations", "政府对町内会的配套资助", "money"),
    ("centre_meetings_convened", "Meetings convened by the centre on request", "地区中心应请求召集的会议",
     "count"),
    ("centre_on_the_spot", "Requests resolved on the spot by the centre head", "中心主任现场解决的诉求",
     "count"),
    ("centre_heads_replaced", "Centre heads replaced after appraisal", "考核后更换的中心主任", "count"),
    ("drills", "Disaster drills held", "防灾演练次数", "count"),
    ("drill_participants", "Drill participants", "演练参与人次", "count"),
    ("preparedness", "Disaster preparedness (share drilled)", "防灾准备度（参加演练比例）", "share"),
    ("grid_workers", "Grid workers", "网格员人数", "count"),
    ("grid_scorings", "Grid performance scorings", "网格绩效考评次数", "count"),
    ("grid_effort", "Grid staff effort", "网格员工作投入", "level"),
    ("approvals_posted", "Approvals posted publicly", "公示的审批事项", "count"),
    ("contract_tenders", "Service-contract tenders", "服务项目招标次数", "count"),
    ("contract_terminations", "Contracts ended for poor ratings", "因评估不佳终止的合同", "count"),
    ("contract_renewals", "Contracts renewed", "续签的合同", "count"),
    ("council_meetings", "Council meetings", "协商议事会会议次数", "count"),
    ("council_extra_meetings", "Extra council meetings (a third asked)", "临时召开的议事会会议", "count"),
    ("projects_funded", "Participatory-budget projects funded", "参与式预算资助项目数", "count"),
    ("co_governance_meetings", "Co-governance board meetings", "共治理事会会议次数", "count"),
    ("co_governance_resolved", "Cases resolved by the co-governance board", "共治理事会化解的事项", "count"),
    ("owners_committees_stalled", "Owners' committees stalled", "停摆的业主委员会", "count"),
):
    _add(_name, _en, _zh, _kind, "neutral", "institutions")
# --------------------------------------------------------------------------- other
_add("ngos", "NGOs", "社会组织数量", "count", "neutral")
_add("ngo_staff", "NGO staff", "社会组织工作人员", "count", "neutral")


#: Short explanations of the regimes: name -> (English, Chinese).
REGIME_NOTES: dict[str, tuple[str, str]] = {
    "self_governing": (
        "An elected board decides with budget authority: it levies dues, hires a management "
        "company, fixes what residents bring to its meetings and calls work days; NGOs deliver on "
        "grants; no government office in the community; emergencies are handled from outside.",
        "由居民选举产生的理事会拥有预算权：收取会费、聘用物业企业、在会上解决居民提出的问题、"
        "组织集体劳动；社会组织在政府资助下提供服务；社区内没有政府派出机构；紧急事项由外部处置。"),
    "government_led": (
        "Government agencies in the community decide and deliver top-down and act directly in "
        "emergencies; the residents' committee is appointed and appraised from above on its "
        "administrative work; government runs the programmes; residents rarely initiate.",
        "政府派驻社区的机构自上而下决策、提供服务，紧急情况下直接处置；居委会由上级任命、按行政"
        "任务考核；项目由政府安排；居民很少主动发起。"),
    "hybrid": (
        "Government plans, funds and appraises; neighbourhood associations with dues and members "
        "patrol and decide; a regional centre convenes residents on request and its head resolves "
        "on the spot; disaster bodies drill with residents.",
        "政府规划、出资并考核；町内会等居民组织收取会费、组织巡逻并议事；地区中心应居民请求召集"
        "协商，中心主任就地解决；防灾组织与居民定期演练。"),
}

#: Display names of regimes, parameters, pilots and other terms: name -> (English, Chinese).
TERMS: dict[str, tuple[str, str]] = {
    # regimes (the model's own labels say which country each resembles)
    "self_governing": ("Self-governing (US-style)", "自治型（美国式）"),
    "government_led": ("Government-led (Singapore-style)", "政府主导型（新加坡式）"),
    "hybrid": ("Hybrid (Japan-style)", "混合型（日本式）"),
    # grouping columns
    "regime": ("Regime", "治理模式"),
    "point": ("Parameter point", "参数点"),
    "replicate": ("Replicate", "重复"),
    "scenario": ("Scenario", "情景"),
    "day": ("Day", "天"),
    # levels of the escalation chains
    "residents": ("Residents", "居民"),
    "committee": ("Residents' committee", "居委会"),
    "owners_committee": ("Owners' committee", "业主委员会"),
    "ngo": ("NGO / social organisation", "社会组织"),
    "street": ("Street office", "街道办事处"),
    "district": ("District", "区"),
    "grid": ("Grid", "网格"),
    "council": ("Deliberation council", "社区协商议事会"),
    "centre": ("Regional centre", "地区中心"),
    "company": ("Management company", "物业服务企业"),
    "agency": ("Dispatched agency", "政府派驻机构"),
    # triage classes of the escalation chains
    "general": ("General matters", "一般事项"),
    "coordination": ("Coordination", "协调事项"),
    "emergency": ("Emergencies", "紧急事项"),
    "approval": ("Approvals", "审批事项"),
    # pilots and parameters
    "pilots.grid_management": ("Grid management pilot", "网格化管理试点"),
    "grid_management": ("Grid management", "网格化管理"),
    "pilots.grid_screening": ("Grid screening probability", "网格排查概率"),
    "pilots.households_per_grid": ("Households per grid", "每网格户数"),
    "pilots.grid_staff_per_grid": ("Grid staff per grid", "每网格工作人员"),
    "pilots.ngo_outsourcing": ("NGO outsourcing pilot", "政府购买社会组织服务试点"),
    "ngo_outsourcing": ("NGO outsourcing", "政府购买社会组织服务"),
    "pilots.deliberation_council": ("Deliberation council pilot", "社区协商议事会试点"),
    "deliberation_council": ("Deliberation council", "社区协商议事会"),
    "pilots.participatory_budget": ("Participatory budget pilot", "参与式预算试点"),
    "participatory_budget": ("Participatory budgeting", "参与式预算"),
    "government.funding_rule": ("Funding rule", "经费拨付规则"),
    "cases.fester_days": ("Days until an unseen case hardens", "未发现事项激化天数"),
    "cases.need_rate": ("Needs per household and year", "每户每年需求数"),
    "cases.dispute_rate": ("Disputes per household and year", "每户每年纠纷数"),
    "cases.hotline_report_base": ("Hotline use (base)", "热线使用倾向（基准）"),
    "cases.abandon_rate": ("Daily chance of giving up", "每日放弃概率"),
    "committees.mediation_skill": ("Committee mediation skill", "居委会调解能力"),
    "behaviour.social_weight": ("Social influence", "社会影响强度"),
    "admin_pushdown": ("Admin push-down to the committee", "行政事务下沉到居委会"),
    "intervention_intensity": ("Government intervention", "政府干预强度"),
    "households": ("Households", "户数"),
    "need_rate": ("Needs / household / yr", "每户每年需求"),
    "dispute_rate": ("Disputes / household / yr", "每户每年纠纷"),
    "social_weight": ("Social influence", "社会影响强度"),
    "days": ("Days to simulate", "模拟天数"),
    "seed": ("Random seed", "随机种子"),
    # institutions (govsim regimes)
    "member_assembly": ("Member assembly", "居民大会"),
    "resident_dues": ("Resident dues", "居民会费"),
    "management_company": ("Management company", "物业服务企业"),
    "ngo_grants": ("NGO grants", "社会组织资助"),
    "admin_hierarchy": ("Administrative hierarchy", "行政层级"),
    "dispatched_agencies": ("Dispatched agencies", "政府派驻机构"),
    "top_down_programmes": ("Top-down programmes", "自上而下的政府项目"),
    "hotline": ("Hotline", "市民服务热线"),
    "government_appraisal": ("Government appraisal", "政府考核"),
    "neighbourhood_association": ("Neighbourhood associations", "町内会（邻里自治会）"),
    "regional_centre": ("Regional centre", "地区中心"),
    "disaster_bodies": ("Disaster-prevention bodies", "防灾组织"),
    "owners_committees": ("Owners' committees", "业主委员会"),
    "party_co_governance": ("Party-led co-governance", "党建引领共治"),
    "pilots.owners_committees": ("Owners' committees pilot", "业主委员会试点"),
    "pilots.party_co_governance": ("Party-led co-governance pilot", "党建引领共治试点"),
    # words used in the app and reports
    "deliberation": ("Deliberation", "社区协商"),
    "migrant": ("Migrant", "流动人口"),
    "local": ("Local resident", "本地居民"),
}

_lang = os.environ.get("GOVSIM_LANG", "en") if os.environ.get("GOVSIM_LANG") in LANGS else "en"


def _check(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"language {lang!r}; allowed: {', '.join(LANGS)}")
    return lang


def set_language(lang: str) -> None:
    """Set the default display language (``"en"`` or ``"zh"``) for labels and reports."""
    global _lang
    _lang = _check(lang)


def get_language() -> str:
    """The default display language (``"en"`` unless set, or the GOVSIM_LANG variable)."""
    return _lang


@contextlib.contextmanager
def use_language(lang: str | None) -> Iterator[str]:
    """Temporarily switch the default language (``None`` keeps it)."""
    global _lang
    old = _lang
    if lang is not None:
        _lang = _check(lang)
    try:
        yield _lang
    finally:
        _lang = old


def in_language(en: str, zh: str) -> str:
    """``en`` or ``zh``, whichever is the current language (``--lang``, :func:`set_language`):
    report and CLI text that is not an outcome label."""
    return zh if _lang == "zh" else en


def _resolve(lang: str | None) -> str:
    return _lang if lang is None else _check(lang)


def outcome(name: str) -> Outcome | None:
    """The registry entry of ``name``, or ``None`` for an unregistered name."""
    return OUTCOMES.get(name)


def label(name: str, lang: str | None = None) -> str:
    """Display name of an outcome, regime, parameter or term; unknown names are returned as
    they are (the lead adds outcomes to the model; they show under their own name until
    registered)."""
    lang = _resolve(lang)
    o = OUTCOMES.get(name)
    if o is not None:
        return o.zh if lang == "zh" else o.en
    t = TERMS.get(str(name))
    if t is not None:
        return t[1] if lang == "zh" else t[0]
    return str(name)


def unit(name: str, lang: str | None = None) -> str:
    """Unit of an outcome (``"%"`` for shares, ``"yuan"``/``"元"`` for money, ...)."""
    o = OUTCOMES.get(name)
    if o is None:
        return ""
    return o.unit_zh if _resolve(lang) == "zh" else o.unit_en


def is_share(name: str) -> bool:
    """Whether the outcome is a share in [0, 1] (shown as a percentage)."""
    o = OUTCOMES.get(name)
    return o is not None and o.kind == "share"


def group_of(name: str) -> str:
    o = OUTCOMES.get(name)
    return o.group if o is not None else "other"


def smallest_effect(name: str, reference: float | None = None) -> float:
    """The smallest difference of interest for ``name`` in its own units.

    The larger of the absolute ``sesoi`` and ``sesoi_rel * |reference|`` (the reference is
    usually the mean of the comparison's baseline group). NaN when the outcome is unknown or
    has no threshold, in which case a report falls back to statistical significance alone.
    """
    o = OUTCOMES.get(name)
    if o is None:
        return math.nan
    vals = []
    if o.sesoi is not None:
        vals.append(float(o.sesoi))
    if o.sesoi_rel is not None and reference is not None and math.isfinite(reference):
        vals.append(float(o.sesoi_rel) * abs(float(reference)))
    return max(vals) if vals else math.nan
