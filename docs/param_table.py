"""Generate the parameter and constant tables of docs/ODD.md from the code.

Defaults and allowed ranges are read from the pydantic models in ``govsim/scenario.py``
(``ScenarioSpec.model_fields`` and each nested section's ``model_fields`` with their
``Ge/Gt/Le/Lt`` metadata), the regime table from ``govsim.regimes.REGIMES`` and the fixed
tables/constants from the modules that define them, so the document cannot drift from the
code. Only the *meaning* and *source* columns are written by hand (``DOC`` below).

Usage::

    python docs/param_table.py              # print the Markdown tables
    python docs/param_table.py --write      # replace the generated blocks in docs/ODD.md

Generated blocks in ODD.md sit between ``<!-- BEGIN name -->`` and ``<!-- END name -->``.
Fields missing from ``DOC`` are printed as "(undocumented)" and listed on stderr, as are
``DOC`` keys and ``CONSTANTS`` names that no longer exist in the code (stale).
"""

from __future__ import annotations

import importlib
import math
import re
import sys
import typing
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from govsim.regimes import CLASSES, LEVELS, REGIMES, RegimeData, RegimeSettings
from govsim.scenario import CommunitySpec, FundTier, ScenarioSpec, _unwrap, constraint_bounds

FR = "field report"
AS = "assumption"
DER = "derived from field report"

# section.field -> (meaning, source). Units in brackets.
DOC: dict[str, tuple[str, str]] = {
    # top level
    "name": ("scenario name (output folder)", "-"),
    "description": ("free text", "-"),
    "regime": ("base regime", "domain brief (three regimes)"),
    "steps": ("days simulated [d]", "-"),
    "seed": ("random seed (Mesa `rng`)", "-"),
    # population
    "population.communities": ("number of communities the totals are split into (Dirichlet sizes)", "-"),
    "population.households": ("households in total [hh]", f"{FR}: one community, 1,412 households"),
    "population.people": ("residents in total [persons]; unset: households x household_size", f"{FR}: 3,514 people (set in the scenario files)"),
    "population.household_size": ("mean persons per household (used when people is unset)", f"{FR}: district 262,103 / 89,933 = 2.9"),
    "population.size_variation": ("coefficient of variation of community sizes when split", AS),
    "population.migrant_share": ("share of households that are migrant renters (drawn per household; all members share the tenure)", f"{AS} (default); community scenarios: 0.14 = 198 / 1,412 households ({FR})"),
    "population.relocated_share": ("share of households of relocated ex-villagers", f"{AS} (transitional scenario: 0.40)"),
    "population.elderly_share": ("share of residents elderly", AS),
    "population.youth_share": ("share of residents youth (not eligible to participate)", AS),
    "population.party_share": ("share of residents party members (adults/elderly only)", AS),
    "population.low_income_share": ("share of households low-income", f"{FR}: 110 / 1,412 households"),
    "population.tenure_clustering": ("concentration of migrants in some buildings (0 none .. 1 segregated)", AS),
    # listed communities
    "communities[].name": ("community name", "-"),
    "communities[].households": ("households of this community", f"{FR} default 1,412"),
    "communities[].people": ("residents of this community (unset: households x household_size)", "-"),
    "communities[].migrant_share": ("overrides population.migrant_share", "-"),
    "communities[].relocated_share": ("overrides population.relocated_share", "-"),
    "communities[].elderly_share": ("overrides population.elderly_share", "-"),
    "communities[].low_income_share": ("overrides population.low_income_share", "-"),
    # network
    "network.households_per_building": ("households per building [hh]", f"{FR}: building 20-40 households"),
    "network.buildings_per_courtyard": ("buildings per courtyard (30 x 3 = 90 hh)", f"{FR}: courtyard 80-100 households"),
    "network.courtyards_per_subarea": ("courtyards per sub-area (90 x 4 = 360 hh)", f"{FR}: sub-area 300-500 households"),
    "network.ties_building": ("partners each resident draws in its building (tie weight 0.5)", AS),
    "network.ties_courtyard": ("partners drawn in the courtyard (weight 0.3)", AS),
    "network.ties_subarea": ("partners drawn in the sub-area (weight 0.2)", AS),
    "network.ties_community": ("partners drawn in the community (weight 0.1)", AS),
    "network.homophily": ("probability a drawn partner of another tenure is rejected", AS),
    # cases
    "cases.need_rate": ("needs per resident per year (before arrival weights)", AS),
    "cases.dispute_rate": ("neighbour disputes per resident per year (before weights)", AS),
    "cases.general_share": ("share of needs triaged 'general'", f"{AS} (classes from the grid texts)"),
    "cases.coordination_share": ("share of needs triaged 'coordination'", AS),
    "cases.emergency_share": ("share of needs triaged 'emergency'", AS),
    "cases.approval_share": ("share of needs triaged 'approval'", AS),
    "cases.report_base": ("intercept of the self-report logit (per day)", AS),
    "cases.online_report_base": ("intercept of the online-report logit (per day)", AS),
    "cases.hotline_report_base": ("intercept of the hotline-call logit (per day)", f"{AS}; fitted in `zhaoshang_grid_calibrated.toml` (P5)"),
    "cases.lapse_rate": ("daily chance an undetected case fades away unresolved", AS),
    "cases.abandon_rate": ("daily chance a detected, still open case is given up by its resident (closed unresolved)", f"{AS}; fitted in `zhaoshang_grid_calibrated.toml` (P5)"),
    "cases.fester_days": ("e-folding time of resolvability while undetected [d]", f"{AS}; fitted in `zhaoshang_grid_calibrated.toml` (P5)"),
    "cases.grievance_rate": ("grievance added per day per unit severity of an unresolved case", AS),
    "cases.grievance_decay": ("daily decay of grievance", AS),
    "cases.grievance_threshold": ("grievance above which a resident counts as aggrieved", AS),
    "cases.incident_cluster": ("minimum connected aggrieved cluster that becomes a collective incident [persons]", AS),
    "cases.incident_cost": ("government cost of one collective incident [yuan]", AS),
    # behaviour
    "behaviour.attend_base": ("intercept of meeting / activity attendance logit", AS),
    "behaviour.online_base": ("intercept of daily online participation logit", AS),
    "behaviour.volunteer_base": ("intercept of accepting a volunteer role", AS),
    "behaviour.trust_weight": ("logit weight of trust (community in disposition; government in reporting)", AS),
    "behaviour.efficacy_weight": ("logit weight of efficacy", AS),
    "behaviour.belonging_weight": ("logit weight of belonging", AS),
    "behaviour.social_weight": ("logit weight of the share of active neighbours", AS),
    "behaviour.threshold_bonus": ("logit bonus once the active-neighbour share reaches the personal threshold", AS),
    "behaviour.time_weight": ("logit weight of free time", AS),
    "behaviour.time_cost_weight": ("logit penalty per unit of an activity's time cost, scaled by (1 - time_avail)", AS),
    "behaviour.dependency_weight": ("logit penalty of dependency on government", AS),
    "behaviour.party_bonus": ("logit bonus of party members", AS),
    "behaviour.learning_rate": ("step size of attitude updates after case outcomes", AS),
    "behaviour.attitude_memory_days": ("relaxation time of attitudes to their baselines [d]", AS),
    "behaviour.volunteer_quit_rate": ("base quit hazard of a volunteer role [1/yr]", AS),
    "behaviour.volunteer_hours_per_day": ("hours a role holder gives per day [h]", AS),
    "behaviour.recruit_interval_days": ("days between recruitment rounds of a community [d]", AS),
    "behaviour.meeting_hours": ("length of a meeting / activity / council session [h]", AS),
    "behaviour.hour_value": ("value of a resident hour in the social cost [yuan/h]", AS),
    # committees
    "committees.households_per_member": ("households per residents' committee member", f"{FR}: about one per 200-300 households"),
    "committees.min_members": ("minimum committee size", f"{FR}: 3-9 members"),
    "committees.max_members": ("maximum committee size", f"{FR}: 3-9 members"),
    "committees.mediation_skill": ("mediation skill of the residents' committee (skill used = value / REFERENCE_MEDIATION = 0.6)", f"{AS}; fitted in `zhaoshang_grid_calibrated.toml` (P5)"),
    "committees.council_members": ("directors of the deliberation council", AS),
    "committees.council_interval_days": ("days between regular council meetings [d]", f"{FR}: council meets monthly"),
    "committees.extra_meeting_share": ("share of directors whose request calls an extra meeting", f"{FR}: at least 1/3 of members"),
    "committees.council_cases_per_meeting": ("cases a fully attended council meeting can handle", AS),
    "committees.owners_committees": ("owners' committees add 5 volunteer hours/day to the residents level", AS),
    # government
    "government.funding_rule": ("whom government counts when staffing and funding: registered (hukou) or resident", "domain brief (rule the texts criticise)"),
    "government.people_per_worker": ("counted residents per funded community-worker post", f"{FR}: 262,103 people / 274 workers = 957"),
    "government.assistants_per_10k": ("funded assistants per 10,000 counted residents", f"{FR}: 189 assistants / 262,103 people = 7.2"),
    "government.operating_fund_tiers": ("yearly community operating fund by counted households (tiers)", f"{FR}: Wuhai rule, <1,000 hh 10k; 1,000-2,000 30k; >2,000 40k yuan"),
    "government.task_types": ("administrative task types pushed down (x regime admin_pushdown)", f"{FR}: 120+ task types on about 6 staff per community"),
    "government.admin_hours_per_task_type": ("committee hours per day per pushed-down task type [h/d]", AS),
    "government.power_and_money_follow_task": ("delegated tasks come with funded hours equal to the admin load", "domain brief (principle)"),
    "government.worker_wage_per_day": ("wage of community workers, assistants, delegated hires [yuan/d]", AS),
    "government.grid_wage_per_day": ("wage of grid staff [yuan/d]", AS),
    "government.street_wage_per_day": ("wage of dispatched, street and district staff [yuan/d]", AS),
    "government.communities_per_street": ("communities per street office", AS),
    "government.street_case_cost": ("operating cost per case worked at the street on a day (counted where worked, before escalation) [yuan]", AS),
    "government.district_case_cost": ("operating cost per case worked at the district on a day (counted where worked, before escalation) [yuan]", AS),
    # ngos
    "ngos.initial_per_community": ("mean initial NGOs per community (x (0.5 + ngo_support))", AS),
    "ngos.initial_staff": ("staff of an initial NGO (incubated ones start with half)", AS),
    "ngos.quality": ("mean quality of new NGOs (normal, sd 0.1, clipped to [0.05, 1]); NGO skill = capacity-weighted quality / REFERENCE_NGO_QUALITY = 0.65", AS),
    "ngos.incubation_per_year": ("new NGOs per community per year (x ngo_support)", AS),
    "ngos.donations_per_year": ("donations per NGO per year (foundations x2) [yuan]", AS),
    "ngos.wage_per_day": ("NGO staff wage [yuan/d]", AS),
    "ngos.case_time_share": ("share of social-work staff time on cases (other kinds: 0.2)", AS),
    "ngos.activity_interval_days": ("days between NGO activities in a community [d]", AS),
    "ngos.activity_appeal": ("logit shift of NGO activity attendance", AS),
    "ngos.supervision_share": ("committee hours needed per NGO staff hour to supervise", AS),
    # pilots
    "pilots.grid_management": ("switch: grid management pilot", "domain brief"),
    "pilots.households_per_grid": ("households per grid (grids cut per community)", f"{FR}: 5,829 households / 16 grids = 364"),
    "pilots.grid_screening": ("daily chance a grid's screening finds a pending case, for a field-pilot grid (3 staff, 364 households; scaled by staff and size)", AS),
    "pilots.grid_staff_per_grid": ("paid grid staff per grid", f"{FR}: grid leader, grid manager, grid police officer"),
    "pilots.ngo_outsourcing": ("switch: de-administration with an NGO under contract", "domain brief (Zhaoshang)"),
    "pilots.outsourced_task_share": ("share of pushed-down admin and dispatched staff moved to the contracted NGO", f"{DER}: 159 tasks -> 15 projects, 1 - 15/159 ~ 0.9"),
    "pilots.contract_share": ("contracts as a share of total government spending on the area", f"{FR}: ~20% of street spending"),
    "pilots.deliberation_council": ("switch: deliberation council", "domain brief"),
    "pilots.participatory_budget": ("switch: participatory budget", "domain brief (Chengdu)"),
    "pilots.budget_per_household": ("yearly participatory fund per counted household [yuan]", AS),
    "pilots.budget_project_cost": ("cost of one participatory-budget project [yuan]", AS),
}

REGIME_DOC: dict[str, str] = {
    "chains": "escalation chain per triage class (levels in order)",
    "approval_levels": "levels allowed to resolve approval cases (others forward them)",
    "member_paid": "committee members are paid (fill funded worker posts first)",
    "member_hours_per_day": "hours/day an unpaid committee member gives",
    "dispatched_staff_per_community": "government staff dispatched into each community",
    "admin_pushdown": "share of the task types pushed down onto the committee",
    "intervention_intensity": "target of residents' dependency on government",
    "meeting_appeal": "logit shift of residents' meeting attendance",
    "meeting_interval_days": "days between residents' meetings",
    "on_the_spot_per_attendee": "extra committee case capacity per meeting attendee that day",
    "volunteer_roles_per_building": "unpaid building-head / volunteer roles per building",
    "online_channel": "online group: daily online participation and online reporting",
    "hotline": "government hotline: a reporting channel whose cases enter at the first street/district level",
    "committee_visit_rate": "share of committee free hours spent visiting households",
    "ngo_support": "scales initial NGOs and incubation",
    "ngo_grant_per_household": "yearly government grant to a community's NGOs per counted household (funding rule) [yuan]",
    "street_staff_per_10k": "street-office staff per 10,000 counted residents",
    "district_staff_per_10k": "district-department staff per 10,000 counted residents",
    "escalation_delay_days": "days added to the minimum handling time at street and district",
}


# --------------------------------------------------------------------------- helpers

def _num(x) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float):
        if math.isinf(x):
            return "inf"
        if x.is_integer() and abs(x) < 1e15:
            return f"{int(x):,}"
        return f"{x:.4g}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


def _constraints(info) -> tuple[str, str]:
    """(type name, range text) of a pydantic FieldInfo, looking inside Optional/Annotated."""
    args = typing.get_args(info.annotation)
    optional = type(None) in args and typing.get_origin(info.annotation) is not typing.Literal
    ann, extra = _unwrap(info.annotation)  # the scenario loader's own reading of the type
    lo, lo_open, hi, hi_open = constraint_bounds(list(info.metadata) + extra)
    if typing.get_origin(ann) is typing.Literal:
        tname = "string"
        rng = "one of " + ", ".join(f"`{a}`" for a in typing.get_args(ann))
    else:
        tname = {int: "int", float: "float", bool: "bool", str: "string"}.get(ann, None)
        if tname is None:
            tname = re.sub(r"govsim\.\w+\.|typing\.", "", str(ann))
        if lo is None and hi is None:
            rng = "true / false" if ann is bool else "-"
        else:
            left = "-inf" if lo is None else _num(lo)
            right = "inf" if hi is None else _num(hi)
            if hi is not None and hi >= 2**62:
                right = "2^63-1"
            rng = f"{'(' if lo_open or lo is None else '['}{left}, {right}{')' if hi_open or hi is None else ']'}"
    if optional:
        tname += " or unset"
    return tname, rng


def _default(info) -> str:
    d = info.default
    if d is None:
        return "unset"
    if isinstance(d, BaseModel):
        return "(table)"
    if isinstance(d, tuple):
        if d and isinstance(d[0], FundTier):
            return "; ".join(f"<= {_num(t.max_households)} hh: {_num(t.fund)}" for t in d) + " (fields `max_households`, `fund`)"
        return "[]" if not d else str(d)
    if isinstance(d, str):
        return f'"{d}"'
    return _num(d)


missing: list[str] = []
stale_constants: list[str] = []


def _row(key: str, info) -> str:
    tname, rng = _constraints(info)
    if key == "regime":
        rng = "one of " + ", ".join(f"`{n}`" for n in sorted(REGIMES))
    meaning, source = DOC.get(key, ("(undocumented)", "?"))
    if key not in DOC:
        missing.append(key)
    return f"| `{key}` | {tname} | {_default(info)} | {rng} | {meaning} | {source} |"


def param_table() -> str:
    head = ("| parameter | type | default | allowed | meaning [unit] | source |\n"
            "|---|---|---|---|---|---|")
    out = [head]
    spec_fields = ScenarioSpec.model_fields
    for name, info in spec_fields.items():
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            if ann is RegimeSettings:
                continue  # documented in its own table
            for fname, finfo in ann.model_fields.items():
                out.append(_row(f"{name}.{fname}", finfo))
        elif name == "communities":
            for fname, finfo in CommunitySpec.model_fields.items():
                out.append(_row(f"communities[].{fname}", finfo))
        else:
            out.append(_row(name, info))
    # Keys documented by hand that no longer exist in the code.
    known = {r.split("`")[1] for r in out[1:]}
    stale = sorted(set(DOC) - known)
    if stale:
        print(f"param_table: DOC has keys no longer in the code: {', '.join(stale)}", file=sys.stderr)
    return "\n".join(out)


def _fmt_regime_value(v) -> str:
    if isinstance(v, tuple):
        return " > ".join(v) if v else "-"
    return _num(v)


def regime_table() -> str:
    names = list(REGIMES)
    out = ["| field | " + " | ".join(f"`{n}`" for n in names) + " | meaning | `[regime_settings]` override allowed |",
           "|---|" + "---|" * len(names) + "---|---|"]
    for field, _info in RegimeData.model_fields.items():
        if field in ("label", "description"):
            continue
        if field == "chains":
            for cls in CLASSES:
                vals = [_fmt_regime_value(REGIMES[n].chains[cls]) for n in names]
                out.append(f"| chains.{cls} | " + " | ".join(vals) + f" | {REGIME_DOC['chains']} | levels from {', '.join(LEVELS)} |")
            continue
        vals = [_fmt_regime_value(getattr(REGIMES[n], field)) for n in names]
        _, rng = _constraints(RegimeSettings.model_fields[field])
        if field == "approval_levels":
            rng = "levels as in chains"
        out.append(f"| {field} | " + " | ".join(vals) + f" | {REGIME_DOC.get(field, '(undocumented)')} | {rng} |")
    return "\n".join(out)


def level_tables() -> str:
    from govsim import regimes as R

    out = ["| level | " + " | ".join(f"fit {c}" for c in CLASSES)
           + " | hours/case | min days | max attempts | patience [d] |",
           "|---|" + "---|" * (len(CLASSES) + 4)]
    for i, lv in enumerate(LEVELS):
        fit = " | ".join(_num(float(x)) for x in R.FIT[i])
        out.append(f"| {lv} | {fit} | {_num(float(R.HOURS_PER_CASE[i]))} | {int(R.MIN_DAYS[i])} | "
                   f"{int(R.MAX_ATTEMPTS[i]):,} | {int(R.PATIENCE_DAYS[i]):,} |")
    out.append("")
    out.append("Priority by class (higher is worked first): "
               + ", ".join(f"{c} {int(p)}" for c, p in zip(CLASSES, R.PRIORITY, strict=True)) + ".")
    return "\n".join(out)


# (module, name, meaning) of fixed constants that are not scenario parameters.
CONSTANTS = [
    ("govsim.population", "ACTIVE_WINDOW", "days of the 'active' window (participation rate)"),
    ("govsim.population", "TRUST_GOV0", "initial mean trust in government by tenure (local, relocated, migrant)"),
    ("govsim.population", "TRUST_COMM0", "initial mean trust in the community by tenure"),
    ("govsim.population", "BELONGING0", "initial mean belonging by tenure"),
    ("govsim.population", "TIME0", "initial mean free time by age group (youth, adult, elderly)"),
    ("govsim.population", "SOCIAL_INTEGRATION", "weight of neighbours' activity in belonging's weekly target"),
    ("govsim.network", "TIE_WEIGHTS", "tie weight by the level the tie was drawn at"),
    ("govsim.cases", "NEED_CATEGORY_P", "need categories: sanitation, security, parking, elderly care, repairs"),
    ("govsim.cases", "DISPUTE_CLASS_P", "triage class of disputes (general, coordination, emergency, approval)"),
    ("govsim.cases", "OVERLOAD_PENALTY", "largest quality loss of an overloaded handler"),
    ("govsim.cases", "CHANNELS", "detection channels, in the order of the detection matrix (incident labels incident cases only)"),
    ("govsim.model", "NON_ELDERLY_ONLINE_SHIFT", "online-report logit bonus of non-elderly residents (youth and adults)"),
    ("govsim.model", "OWNERS_HOURS", "volunteer hours/day of an owners' committee"),
    ("govsim.model", "RESIDENT_SKILL", "skill of the residents level (building heads, neighbours)"),
    ("govsim.model", "REFERENCE_MEDIATION", "mediation skill at which the committee's skill is 1 (skill = committees.mediation_skill / this)"),
    ("govsim.model", "REFERENCE_NGO_QUALITY", "NGO quality at which NGO skill is 1 (skill = capacity-weighted quality / this)"),
    ("govsim.finance", "MONTH_STARTS", "month-start days of each 365-day year (day % 365), int(k * 365 / 12) for k = 0..11"),
    ("govsim.participation", "MEETING_COST", "yuan per residents' meeting, from the committee account"),
    ("govsim.participation", "DIRECTOR_BASE", "attendance logit bonus of council directors"),
    ("govsim.participation", "VOTE_BASE", "participatory-budget voting logit bonus"),
    ("govsim.participation", "CANDIDATES", "residents approached per vacant volunteer role"),
    ("govsim.participation", "HEAD_DETECTION", "daily chance a building head notices a pending case in the building"),
    ("govsim.agents.committee", "STAFF_HOURS", "hours of a paid worker's day"),
    ("govsim.agents.committee", "HOURS_PER_VISIT", "hours per household visit"),
    ("govsim.agents.government", "STREET_CASE_SHARE", "share of street-office staff time on community cases"),
    ("govsim.agents.government", "DISTRICT_CASE_SHARE", "share of district-department staff time on community cases"),
    ("govsim.agents.government", "GRID_CASE_SHARE", "share of grid staff time handling cases"),
    ("govsim.agents.ngo", "NGO_KIND_P", "kind of a new NGO: social work, foundation, volunteer assoc., cultural assoc., elderly university"),
]


def constants_table() -> str:
    out = ["| constant | value | meaning | where |", "|---|---|---|---|"]
    for mod, name, meaning in CONSTANTS:
        m = importlib.import_module(mod)
        if not hasattr(m, name):
            stale_constants.append(f"{mod}.{name}")  # removed or renamed in the code
            continue
        v = getattr(m, name)
        if isinstance(v, np.ndarray):
            text = ", ".join(_num(float(x)) for x in v)
        elif isinstance(v, dict):
            text = ", ".join(f"{k} {_num(float(x))}" for k, x in v.items())
        elif isinstance(v, (tuple, frozenset)):
            text = ", ".join(_num(x) for x in (sorted(v) if isinstance(v, frozenset) else v))
        else:
            text = _num(v)
        out.append(f"| `{name}` | {text} | {meaning} | `{mod}` |")
    return "\n".join(out)


BLOCKS = {
    "param_table": param_table,
    "regime_table": regime_table,
    "level_table": level_tables,
    "constants_table": constants_table,
}


def render() -> dict[str, str]:
    return {name: fn() for name, fn in BLOCKS.items()}


def write(path: Path) -> None:
    text = path.read_text()
    for name, body in render().items():
        pat = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(<!-- END {name} -->)", re.S)
        if not pat.search(text):
            print(f"param_table: no block '{name}' in {path}", file=sys.stderr)
            continue
        text = pat.sub(lambda m, b=body: m.group(1) + b + "\n" + m.group(2), text)
    path.write_text(text)


if __name__ == "__main__":
    if "--write" in sys.argv:
        write(Path(__file__).resolve().parent / "ODD.md")
    else:
        for name, body in render().items():
            print(f"<!-- {name} -->\n{body}\n")
    if missing:
        print(f"param_table: undocumented fields: {', '.join(missing)}", file=sys.stderr)
    if stale_constants:
        print(f"param_table: CONSTANTS lists names no longer in the code: {', '.join(stale_constants)}",
              file=sys.stderr)
