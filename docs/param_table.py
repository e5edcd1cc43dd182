"""Generate the parameter and constant tables of docs/ODD.md from the code.

Defaults and allowed ranges are read from the pydantic models in ``govsim/scenario.py``
(``ScenarioSpec.model_fields`` and each nested section's ``model_fields`` with their
``Ge/Gt/Le/Lt`` metadata), the regime table from ``govsim.regimes.REGIMES``, the institution
table from each institution's pydantic ``Settings`` (``govsim.institutions.INSTITUTIONS``) and
the regimes' ``settings``, and the fixed tables/constants from the modules that define them,
so the document cannot drift from the code. Only the *meaning* and *source* columns are
written by hand (``DOC``, ``REGIME_DOC``, ``INST_DOC`` and ``CONSTANTS`` below).

Usage::

    python docs/param_table.py              # print the Markdown tables
    python docs/param_table.py --write      # replace the generated blocks in docs/ODD.md

Generated blocks in ODD.md sit between ``<!-- BEGIN name -->`` and ``<!-- END name -->``.
Fields missing from ``DOC`` / ``REGIME_DOC`` / ``INST_DOC`` are printed as "(undocumented)"
and listed on stderr, as are hand-written keys and ``CONSTANTS`` names that no longer exist in
the code (stale).
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

from govsim.institutions import INSTITUTIONS, PILOT_INSTITUTIONS
from govsim.regimes import CLASSES, LEVELS, REGIMES, RegimeData, RegimeSettings
from govsim.scenario import (
    CommunitySpec,
    FundTier,
    InstitutionParams,
    ScenarioSpec,
    _unwrap,
    constraint_bounds,
)

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
    "timeline": ("dated events that switch the regime, pilots, institutions or settings in all or some communities (3.3)", "-"),
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
    "cases.general_share": ("overall share of needs triaged 'general': reweights the columns of KIND_CLASS_P (the class follows from the need's category)", f"{AS} (classes from the grid texts)"),
    "cases.coordination_share": ("overall share of needs triaged 'coordination' (as above)", AS),
    "cases.emergency_share": ("overall share of needs triaged 'emergency' (as above)", AS),
    "cases.approval_share": ("overall share of needs triaged 'approval' (as above)", AS),
    "cases.report_base": ("intercept of the self-report logit (per day)", AS),
    "cases.online_report_base": ("intercept of the online-report logit (per day)", AS),
    "cases.hotline_report_base": ("intercept of the hotline-call logit (per day; only where the `hotline` institution is installed)", f"{AS}; fitted in `zhaoshang_grid_calibrated.toml` (P5)"),
    "cases.lapse_rate": ("daily chance an undetected case fades away unresolved", AS),
    "cases.abandon_rate": ("daily chance a detected, still open case is given up by its resident (closed unresolved)", f"{AS}; fitted in `zhaoshang_grid_calibrated.toml` (P5)"),
    "cases.fester_days": ("e-folding time of resolvability while undetected [d]", f"{AS}; fitted in `zhaoshang_grid_calibrated.toml` (P5)"),
    "cases.grievance_rate": ("grievance added per day per unit severity of an unresolved case", AS),
    "cases.grievance_decay": ("daily decay of grievance", AS),
    "cases.grievance_threshold": ("grievance above which a resident counts as aggrieved", AS),
    "cases.incident_cluster": ("minimum connected aggrieved cluster that becomes a collective incident [persons]", AS),
    "cases.incident_cost": ("government cost of one collective incident [yuan]", AS),
    # behaviour
    "behaviour.attend_base": ("intercept of every attendance logit (meetings, NGO activities, drills, assembly and council sessions, votes)", AS),
    "behaviour.online_base": ("intercept of daily online participation logit", AS),
    "behaviour.volunteer_base": ("intercept of accepting a volunteer role", AS),
    "behaviour.trust_weight": ("logit weight of trust in the community (disposition) and of the trust gap government - community (hotline calls)", AS),
    "behaviour.efficacy_weight": ("logit weight of efficacy", AS),
    "behaviour.belonging_weight": ("logit weight of belonging", AS),
    "behaviour.social_weight": ("logit weight of the share of active neighbours", AS),
    "behaviour.threshold_bonus": ("logit bonus once the active-neighbour share reaches the personal threshold", AS),
    "behaviour.time_weight": ("logit weight of free time", AS),
    "behaviour.time_cost_weight": ("logit penalty per unit of an activity's time cost, scaled by (1 - time_avail)", AS),
    "behaviour.dependency_weight": ("logit penalty of dependency on government (in the disposition)", AS),
    "behaviour.party_bonus": ("logit bonus of party members", AS),
    "behaviour.learning_rate": ("step size of attitude updates after case outcomes", AS),
    "behaviour.attitude_memory_days": ("relaxation time of trust, belonging and efficacy to their baselines, and of dependency toward 0 [d] (satisfaction does not relax)", AS),
    "behaviour.volunteer_quit_rate": ("base quit hazard of a volunteer role [1/yr]", AS),
    "behaviour.volunteer_hours_per_day": ("hours a role holder gives per day [h]", AS),
    "behaviour.recruit_interval_days": ("days between recruitment rounds of a community [d]", AS),
    "behaviour.meeting_hours": ("length of a meeting / activity / council session [h]", AS),
    "behaviour.hour_value": ("value of a resident hour in the social cost [yuan/h]", AS),
    "behaviour.initial_dependency": ("residents' initial dependency on government (the same in every regime)", AS),
    # committees
    "committees.households_per_member": ("households per residents' committee member", f"{FR}: about one per 200-300 households"),
    "committees.min_members": ("minimum committee size", f"{FR}: 3-9 members"),
    "committees.max_members": ("maximum committee size", f"{FR}: 3-9 members"),
    "committees.mediation_skill": ("mediation skill of the residents' committee (skill used = value / REFERENCE_MEDIATION = 0.6)", f"{AS}; fitted in `zhaoshang_grid_calibrated.toml` (P5)"),
    "committees.council_members": ("directors of the deliberation council (institution `deliberation_council`)", AS),
    "committees.council_interval_days": ("days between regular council meetings [d]", f"{FR}: council meets monthly"),
    "committees.extra_meeting_share": ("share of directors whose request calls an extra meeting", f"{FR}: at least 1/3 of members"),
    "committees.council_cases_per_meeting": ("cases a fully attended council meeting can handle", AS),
    "committees.owners_committees": ("switch: installs the `owners_committees` institution (settings in `[institutions.owners_committees]`)", AS),
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
    "government.street_wage_per_day": ("wage of dispatched-agency, street and district staff [yuan/d]", AS),
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
    "pilots.grid_management": ("switch: installs the `grid_management` institution", "domain brief"),
    "pilots.households_per_grid": ("households per grid (grids cut per community)", f"{FR}: 5,829 households / 16 grids = 364"),
    "pilots.grid_screening": ("daily chance a grid's screening finds a pending case, for a field-pilot grid (3 staff, 364 households; scaled by staff and size)", AS),
    "pilots.grid_staff_per_grid": ("paid grid staff per grid", f"{FR}: grid leader, grid manager, grid police officer"),
    "pilots.ngo_outsourcing": ("switch: installs `ngo_outsourcing` (de-administration with a tendered NGO contract)", "domain brief (Zhaoshang)"),
    "pilots.outsourced_task_share": ("share of pushed-down admin (and of dispatched-agency staff) moved to the contracted NGO", f"{DER}: 159 tasks -> 15 projects, 1 - 15/159 ~ 0.9"),
    "pilots.contract_share": ("contracts as a share of total government spending on the area", f"{FR}: ~20% of street spending"),
    "pilots.deliberation_council": ("switch: installs the `deliberation_council` institution", "domain brief"),
    "pilots.participatory_budget": ("switch: installs the `participatory_budget` institution", "domain brief (Chengdu)"),
    "pilots.party_co_governance": ("switch: installs the `party_co_governance` institution (settings in `[institutions.party_co_governance]`)", "domain brief (Zhaoshang, 'one core, many actors')"),
    "pilots.budget_per_household": ("yearly participatory fund per counted household [yuan]", AS),
    "pilots.budget_project_cost": ("cost of one participatory-budget project [yuan]", AS),
}

REGIME_DOC: dict[str, str] = {
    "label_zh": "Chinese label",
    "chains": "core chain per triage class (residents, committee, street, district); each installed institution puts its own level in (compiled chains: 7.8); approval: sign-off order",
    "institutions": "institutions the regime installs (section 7.10; pilots add theirs)",
    "settings": "per-institution settings the regime gives (overrides the institution's defaults; table 8.3)",
    "member_paid": "committee members are paid (fill funded worker posts first)",
    "member_hours_per_day": "hours/day an unpaid committee member gives",
    "admin_pushdown": "share of the task types pushed down onto the committee",
    "intervention_intensity": "scales top-down programmes' coverage and their dependency exposure",
    "ngo_support": "scales initial NGOs and incubation",
    "street_staff_per_10k": "street-office staff per 10,000 counted residents",
    "district_staff_per_10k": "district-department staff per 10,000 counted residents",
    "escalation_delay_days": "days added to the minimum handling time at street and district",
    "meeting_interval_days": "days between residents' meetings (same in every regime)",
    "volunteer_roles_per_building": "unpaid building-head roles per building (same in every regime)",
    "committee_visit_rate": "share of committee free hours spent visiting households (same in every regime)",
    "online_channel": "online group: daily online participation and online reporting (same in every regime)",
}


# institution.setting -> (meaning, source). Units in brackets. Defaults, regime values and
# ranges are read from the code.
INST_DOC: dict[str, tuple[str, str]] = {
    # member_assembly
    "member_assembly.households_per_representative": ("households per representative (seats = households // this, at least 1)", f"{FR}: one representative per 10-20 households"),
    "member_assembly.unit_seat_share": ("share of seats held by resident-unit delegates (each votes yes at the mean rate of the representatives present, 7.10.1)", f"{FR}: unit delegates at most 1/5 of seats"),
    "member_assembly.session_interval_days": ("days between regular sessions [d]", AS),
    "member_assembly.consent_threshold": ("share of present representatives voting yes above which a proposal passes", f"{FR}: estate renovation only if more than 60% agree"),
    "member_assembly.extra_session_share": ("share of representatives whose request calls an extra session", f"{FR}: at least 1/3 ask (the council's rule, applied to the assembly)"),
    "member_assembly.term_days": ("committee term: days between elections [d]", f"{AS} (the brief says only 'fixed terms')"),
    "member_assembly.voters": ("who votes in committee elections: all adults living there, or registered residents only", "domain brief (members: residents 18+; owners elect boards)"),
    # resident_dues
    "resident_dues.fee_per_month": ("dues per paying household [yuan/month]", AS),
    "resident_dues.fix_cost": ("cost of one fix the board pays for at a meeting [yuan]", AS),
    "resident_dues.fixes_per_meeting": ("most needs the board pays to fix at one meeting", AS),
    "resident_dues.work_day_interval_days": ("days between work days [d]", AS),
    "resident_dues.work_day_hours": ("length of a work day [h]", AS),
    "resident_dues.work_day_relief": ("share of sanitation needs prevented until the next work day if every household came (x share that came)", AS),
    # management_company
    "management_company.fee_per_household_month": ("property fee per paying household [yuan/month]", AS),
    "management_company.wage_per_day": ("company staff wage [yuan/d]", AS),
    "management_company.quality": ("mean quality of bids (normal, sd 0.12, clipped [0.05, 1])", AS),
    "management_company.case_time_share": ("share of company staff time on cases", AS),
    "management_company.review_days": ("days between the board's reviews of the company [d]", AS),
    "management_company.fire_below": ("review rating below which the company is fired and the contract re-tendered", AS),
    "management_company.non_member_access": ("chance multiplier for non-paying households' cases at the company", f"{AS} (brief: 'uneven service')"),
    "management_company.upkeep_relief": ("share of parking, repairs and sanitation needs prevented by a fully staffed company of reference quality", AS),
    "management_company.staff_per_100_households": ("company staff per 100 households at which upkeep is full", AS),
    # ngo_grants
    "ngo_grants.per_household": ("yearly grant to a community's NGOs per counted household [yuan]", AS),
    # admin_hierarchy
    "admin_hierarchy.appraisal_days": ("days between upward appraisals of the committee [d]", AS),
    "admin_hierarchy.reshuffle_below": ("mean admin completion below which the committee is reshuffled", AS),
    "admin_hierarchy.upward_share": ("share of the committee's free hours spent on upward reports, inspections, campaigns", AS),
    # dispatched_agencies
    "dispatched_agencies.staff_per_community": ("government staff dispatched into each community (x (1 - outsourced share))", f"{AS} (brief: about 6 staff per community carry 120+ task types)"),
    "dispatched_agencies.case_time_share": ("share of agency staff time on cases", AS),
    "dispatched_agencies.inspection_time_share": ("share of agency staff time on household inspections (0.5 h per visit)", AS),
    "dispatched_agencies.emergency_watch": ("daily chance one officer on duty notices a pending emergency", AS),
    # top_down_programmes
    "top_down_programmes.programmes_per_quarter": ("need categories government runs programmes for each quarter", AS),
    "top_down_programmes.coverage": ("share of a chosen category's new needs prevented (x intervention_intensity)", AS),
    "top_down_programmes.cost_per_programme": ("cost of one programme in one community per quarter [yuan]", AS),
    "top_down_programmes.dependency_exposure": ("dependency step toward 1 per programme (x intervention_intensity), every resident", f"{AS} (brief mechanism 6)"),
    # government_appraisal
    "government_appraisal.appraisal_days": ("days between appraisals [d]", AS),
    "government_appraisal.weights": ("weights of (complaints, response, satisfaction) in the score (normalised)", f"criteria {FR} (Jinan grid appraisal); weights {AS}"),
    "government_appraisal.reward_above": ("score above which funding tier and authority move a step up", AS),
    "government_appraisal.penalise_below": ("score below which both move a step down", AS),
    # neighbourhood_association
    "neighbourhood_association.fee_per_month": ("association dues per member household [yuan/month]", AS),
    "neighbourhood_association.member_hours_per_day": ("hours/day each member household gives to patrols and care [h]", AS),
    "neighbourhood_association.government_match": ("government grant per yuan of dues", f"{AS} (brief: government funds associations)"),
    "neighbourhood_association.reporting_hours_per_day": ("committee hours/day spent reporting on the earmarked money [h]", f"{AS} (brief: strict budget rules; coordination cost)"),
    # regional_centre
    "regional_centre.staff": ("government-paid centre staff per community", AS),
    "regional_centre.case_time_share": ("share of centre staff time on cases", AS),
    "regional_centre.skill": ("mean skill of a centre head (normal, sd 0.1; skill used = value / 0.6)", AS),
    "regional_centre.head_cases_per_meeting": ("attendees' open cases the head takes up at one meeting", AS),
    "regional_centre.convene_at": ("open cases at the centre at which it convenes residents (at most weekly); an absolute count, so large communities reach it sooner (7.10.11)", AS),
    "regional_centre.convene_per_households": ("0: `convene_at` is an absolute count; if > 0: `convene_at` cases per this many households of the community (scale-free; 1,412 keeps the field-report community's threshold)", AS),
    "regional_centre.appraisal_days": ("days between government appraisals of the centre [d]", f"{AS} (brief: periodic appraisal of centre staff)"),
    "regional_centre.replace_below": ("appraisal rating below which the head is replaced", AS),
    # disaster_bodies
    "disaster_bodies.drill_interval_days": ("days between drills in a community [d]", f"{AS} (brief: regular drills)"),
    "disaster_bodies.drill_cost": ("government cost of one drill [yuan]", AS),
    "disaster_bodies.detect_per_preparedness": ("daily detection chance of a pending emergency per unit preparedness", AS),
    "disaster_bodies.response_gain": ("raise of every responder's chance on emergencies per unit preparedness", AS),
    # grid_management
    "grid_management.onsite_gain": ("raise of responders' chance on emergencies a grid officer follows on site (x (1 + gain))", AS),
    "grid_management.scoring_days": ("days between grid performance scorings [d]", AS),
    "grid_management.performance_pay": ("performance pay per staff member of an upper-half grid per scoring [yuan]", f"{AS} (brief: ranking feeds performance pay)"),
    "grid_management.effort_step": ("effort step up (upper half) or down (lower half) per scoring; effort kept in [0.5, 1.5]", AS),
    # ngo_outsourcing
    "ngo_outsourcing.term_days": ("contract term [d]", AS),
    "ngo_outsourcing.evaluation_days": ("days between evaluations of the contractor [d]", AS),
    "ngo_outsourcing.terminate_below": ("evaluation rating below which the contract ends at once", AS),
    "ngo_outsourcing.renew_above": ("mean rating over the term needed for renewal", AS),
    # party_co_governance
    "party_co_governance.board_interval_days": ("days between co-governance board meetings [d]", AS),
    "party_co_governance.cases_per_meeting": ("coordination cases the board takes up per meeting", AS),
    "party_co_governance.mobilisation": ("volunteer-recruitment logit bonus of party members", f"{AS} (brief: party members mobilised)"),
    # owners_committees
    "owners_committees.hours_per_day": ("volunteer hours/day of an active owners' committee at the residents level [h]", AS),
    "owners_committees.detection": ("daily chance it notices a pending parking or repairs case", AS),
    "owners_committees.stall_below": ("community mean belonging below which it stalls at its yearly re-election", f"{AS} (brief: re-election can stall in a run-down estate)"),
}
# Institutions without a Settings model: where their parameters live.
INST_NO_SETTINGS: dict[str, str] = {
    "hotline": "no settings; reporting logit base `cases.hotline_report_base`",
    "deliberation_council": "no settings; uses `committees.council_members`, `council_interval_days`, `extra_meeting_share`, `council_cases_per_meeting`",
    "participatory_budget": "no settings; uses `pilots.budget_per_household`, `pilots.budget_project_cost`",
}


def institution_table() -> str:
    names = list(REGIMES)
    out = ["| institution | setting | default | " + " | ".join(f"`{n}`" for n in names)
           + " | allowed | meaning [unit] | source |",
           "|---|---|---|" + "---|" * len(names) + "---|---|---|"]
    switches = {inst: sw for sw, inst in PILOT_INSTITUTIONS.items()}
    for name, cls in INSTITUTIONS.items():
        label = f"`{name}`" + (f" (switch `{switches[name]}`)" if name in switches else "")
        fields = cls.Settings.model_fields
        if not fields:
            if name not in INST_NO_SETTINGS:
                missing.append(f"institutions.{name}")
            out.append(f"| {label} | - | - | " + " | ".join(
                "installed" if name in REGIMES[n].institutions else "-" for n in names)
                + f" | - | {INST_NO_SETTINGS.get(name, '(undocumented)')} | - |")
            continue
        for fname, info in fields.items():
            key = f"{name}.{fname}"
            _, rng = _constraints(info)
            if isinstance(info.default, tuple):
                rng = f"{len(info.default)} numbers (negatives count as 0)"
            vals = []
            for n in names:
                given = REGIMES[n].settings.get(name, {})
                if fname in given:
                    vals.append(_fmt_setting(given[fname]))
                elif name in REGIMES[n].institutions:
                    vals.append("default")
                else:
                    vals.append("-")
            meaning, source = INST_DOC.get(key, ("(undocumented)", "?"))
            if key not in INST_DOC:
                missing.append(f"institutions.{key}")
            out.append(f"| {label} | `{fname}` | {_fmt_setting(info.default)} | " + " | ".join(vals)
                       + f" | {rng} | {meaning} | {source} |")
    known = {f"{n}.{f}" for n, c in INSTITUTIONS.items() for f in c.Settings.model_fields}
    stale = sorted(set(INST_DOC) - known) + sorted(set(INST_NO_SETTINGS) - set(INSTITUTIONS))
    if stale:
        print(f"param_table: INST_DOC has keys no longer in the code: {', '.join(stale)}", file=sys.stderr)
    for n in names:  # a regime setting for a field its institution does not have
        for inst, vals in REGIMES[n].settings.items():
            bad = [k for k in vals if inst not in INSTITUTIONS or k not in INSTITUTIONS[inst].Settings.model_fields]
            if bad:
                print(f"param_table: REGIMES[{n!r}].settings.{inst} has unknown keys: {', '.join(bad)}",
                      file=sys.stderr)
    return "\n".join(out)


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
            if ann is InstitutionParams:
                for fname in ann.model_fields:
                    out.append(f"| `institutions.{fname}` | table | unset (the regime's and the institution's defaults) | "
                               f"fields of table 8.3 | settings of institution `{fname}` | see 8.3 |")
                continue
            for fname, finfo in ann.model_fields.items():
                out.append(_row(f"{name}.{fname}", finfo))
        elif name == "communities":
            for fname, finfo in CommunitySpec.model_fields.items():
                out.append(_row(f"communities[].{fname}", finfo))
        else:
            out.append(_row(name, info))
    # Keys documented by hand that no longer exist in the code.
    known = {r.split("`")[1] for r in out[1:] if not r.startswith("| `institutions.")}
    stale = sorted(set(DOC) - known)
    if stale:
        print(f"param_table: DOC has keys no longer in the code: {', '.join(stale)}", file=sys.stderr)
    return "\n".join(out)


def _fmt_regime_value(v) -> str:
    if isinstance(v, tuple):
        return " > ".join(v) if v else "-"
    if isinstance(v, str):
        return v
    return _num(v)


def _fmt_settings(d: dict) -> str:
    parts = []
    for inst, vals in d.items():
        for k, v in vals.items():
            parts.append(f"{inst}.{k} = {_fmt_setting(v)}")
    return "; ".join(parts) if parts else "-"


def _fmt_setting(v) -> str:
    if isinstance(v, tuple):
        return "(" + ", ".join(_num(x) for x in v) + ")"
    if isinstance(v, str):
        return f'"{v}"'
    return _num(v)


def regime_table() -> str:
    names = list(REGIMES)
    out = ["| field | " + " | ".join(f"`{n}`" for n in names) + " | meaning | `[regime_settings]` override allowed |",
           "|---|" + "---|" * len(names) + "---|---|"]
    for field, _info in RegimeData.model_fields.items():
        if field in ("label", "description"):
            continue
        if field not in REGIME_DOC:
            missing.append(f"regime.{field}")
        if field == "chains":
            for cls in CLASSES:
                vals = [_fmt_regime_value(REGIMES[n].chains[cls]) for n in names]
                out.append(f"| chains.{cls} | " + " | ".join(vals) + f" | {REGIME_DOC['chains']} | levels from {', '.join(LEVELS)} |")
            continue
        if field == "institutions":
            vals = [", ".join(REGIMES[n].institutions) for n in names]
            rng = "`add_institutions` / `remove_institutions`: names from " + ", ".join(INSTITUTIONS)
        elif field == "settings":
            vals = [_fmt_settings(REGIMES[n].settings) for n in names]
            rng = "not here: scenario tables `[institutions.<name>]`"
        else:
            vals = [_fmt_regime_value(getattr(REGIMES[n], field)) for n in names]
            if field in RegimeSettings.model_fields:
                _, rng = _constraints(RegimeSettings.model_fields[field])
            else:
                rng = "no"
        out.append(f"| {field} | " + " | ".join(vals) + f" | {REGIME_DOC.get(field, '(undocumented)')} | {rng} |")
    stale = sorted(set(REGIME_DOC) - set(RegimeData.model_fields))
    if stale:
        print(f"param_table: REGIME_DOC has keys no longer in the code: {', '.join(stale)}", file=sys.stderr)
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
    ("govsim.cases", "KIND_CLASS_P", "class (general, coordination, emergency, approval) by kind; rows: sanitation; security; parking; elderly care; repairs; neighbour dispute (need rows reweighted by the scenario's class shares)"),
    ("govsim.cases", "PROPERTY_CATEGORIES", "property-management need categories (parking, repairs)"),
    ("govsim.cases", "OVERLOAD_PENALTY", "largest quality loss of an overloaded handler"),
    ("govsim.cases", "FORWARD_LOAD", "queue / capacity at which a swamped handler passes the ready cases it cannot reach up the chain"),
    ("govsim.cases", "CHANNELS", "detection channels, in the order of the detection matrix (incident labels incident cases only)"),
    ("govsim.model", "NON_ELDERLY_ONLINE_SHIFT", "online-report logit bonus of non-elderly residents (youth and adults)"),
    ("govsim.model", "RESIDENT_SKILL", "skill of the residents level (building heads, neighbours, association members, owners)"),
    ("govsim.model", "REFERENCE_MEDIATION", "mediation skill at which the committee's skill is 1 (skill = mediation_skill x authority / this)"),
    ("govsim.model", "REFERENCE_NGO_QUALITY", "NGO quality at which NGO skill is 1 (skill = capacity-weighted quality / this)"),
    ("govsim.model", "UNREGISTERED_ACCESS", "chance multiplier for unregistered residents' cases at grid, agency, street and district when government funds and serves by registered population"),
    ("govsim.finance", "MONTH_STARTS", "month-start days of each 365-day year (day % 365), int(k * 365 / 12) for k = 0..11"),
    ("govsim.attitudes", "VOICE_WINDOW", "days a decision one took part in counts as voice [d]"),
    ("govsim.attitudes", "SATISFACTION_RATE", "weekly step of satisfaction toward its target"),
    ("govsim.attitudes", "FLOOR", "constant of the satisfaction target"),
    ("govsim.attitudes", "W_SERVICE", "weight of the community's service quality in the satisfaction target"),
    ("govsim.attitudes", "W_VOICE", "weight of voice in the satisfaction target"),
    ("govsim.attitudes", "W_EXPERIENCE", "weight of own experience in the satisfaction target"),
    ("govsim.attitudes", "FAIRNESS", "weight of own minus neighbours' experience (relative deprivation)"),
    ("govsim.attitudes", "RATING_RATE", "step size of experience and rating_comm updates"),
    ("govsim.attitudes", "SERVICE_MEMORY", "weekly persistence of a community's service-quality estimate"),
    ("govsim.contributions", "CONTRIBUTE_BASE", "intercept of the pay / give-time logit"),
    ("govsim.contributions", "RECIPROCITY", "weight of (building's share that paid last round - 0.5)"),
    ("govsim.contributions", "MONITORING", "weight of sqrt(10 / households in the building)"),
    ("govsim.contributions", "IDENTITY", "weight of (belonging - 0.5)"),
    ("govsim.contributions", "PRICE", "logit per yuan/month of fee"),
    ("govsim.contributions", "LOW_INCOME_BURDEN", "fee multiplier for low-income households"),
    ("govsim.contributions", "TIME_BASE", "extra logit penalty of giving a work day rather than a fee"),
    ("govsim.meetings", "MEETING_COST", "yuan per residents' meeting, from the committee account"),
    ("govsim.meetings", "MEETING_VALUE_WEIGHT", "attendance logit per unit of meeting value"),
    ("govsim.meetings", "VALUE_MEMORY", "weight of the latest meeting in the running meeting value"),
    ("govsim.meetings", "OUTCOME_WEIGHT", "attendees' worth of one outcome delivered at a meeting"),
    ("govsim.volunteers", "CANDIDATES", "residents approached per vacant volunteer role"),
    ("govsim.volunteers", "HEAD_DETECTION", "daily chance a building head notices a pending case in the building"),
    ("govsim.volunteers", "WORKLOAD_RELIEF_HOURS", "paid committee hours/day that halve a volunteer's felt workload"),
    ("govsim.agents.committee", "STAFF_HOURS", "hours of a paid worker's day"),
    ("govsim.agents.committee", "HOURS_PER_VISIT", "hours per household visit"),
    ("govsim.agents.government", "STREET_CASE_SHARE", "share of street-office staff time on community cases"),
    ("govsim.agents.government", "DISTRICT_CASE_SHARE", "share of district-department staff time on community cases"),
    ("govsim.agents.ngo", "NGO_KIND_P", "kind of a new NGO: social work, foundation, volunteer assoc., cultural assoc., elderly university"),
    ("govsim.institutions.assembly", "VOTE_BASE", "election turnout logit bonus (on attend_base)"),
    ("govsim.institutions.assembly", "STAKES", "turnout logit bonus of a voter with an open case or grievance > 0.5"),
    ("govsim.institutions.assembly", "ELECTION_SLOPE", "slope of a voter's approval in their rating_comm"),
    ("govsim.institutions.assembly", "ASPIRATION", "rating_comm at which a voter approves with chance 1/2"),
    ("govsim.institutions.assembly", "CONSENT_SLOPE", "slope of a representative's yes vote in trust_comm"),
    ("govsim.institutions.assembly", "REP_ATTEND_BASE", "session attendance logit bonus of representatives"),
    ("govsim.institutions.council", "DIRECTOR_BASE", "attendance logit bonus of council directors"),
    ("govsim.institutions.participatory_budget", "VOTE_BASE", "participatory-budget voting logit bonus"),
    ("govsim.institutions.participatory_budget", "RELIEF", "share of a funded category's new needs prevented for a year"),
    ("govsim.institutions.participatory_budget", "VOTE_DAY", "day of the year (d % 365) of the vote"),
    ("govsim.institutions.grid_management", "GRID_CASE_SHARE", "share of grid staff time handling cases"),
    ("govsim.institutions.management_company", "REFERENCE_QUALITY", "company quality at which its skill is 1"),
    ("govsim.institutions.management_company", "BIDS", "bids per company tender"),
    ("govsim.institutions.ngo_outsourcing", "BIDDERS", "new bidders per contract tender (besides the community's social-work NGOs)"),
    ("govsim.institutions.dispatched_agencies", "HOURS_PER_VISIT", "hours per household inspection"),
    ("govsim.institutions.dispatched_agencies", "REFERENCE_SKILL", "skill of agency staff"),
    ("govsim.institutions.neighbourhood_association", "PATROL_DETECTION", "daily chance a patrol notices a pending case in a building whose households are all members"),
    ("govsim.institutions.disaster_bodies", "PREPAREDNESS_MEMORY", "days a drill counts toward preparedness [d]"),
    ("govsim.institutions.government_appraisal", "TIER_STEP", "funding-tier factor step per appraisal"),
    ("govsim.institutions.government_appraisal", "TIER_RANGE", "range of the funding-tier factor"),
    ("govsim.institutions.government_appraisal", "AUTHORITY_STEP", "delegated-authority step per appraisal"),
    ("govsim.institutions.government_appraisal", "AUTHORITY_RANGE", "range of delegated authority (multiplies committee skill)"),
]


def constants_table() -> str:
    out = ["| constant | value | meaning | where |", "|---|---|---|---|"]
    for mod, name, meaning in CONSTANTS:
        m = importlib.import_module(mod)
        if not hasattr(m, name):
            stale_constants.append(f"{mod}.{name}")  # removed or renamed in the code
            continue
        v = getattr(m, name)
        if isinstance(v, np.ndarray) and v.ndim == 2:
            text = "; ".join("(" + ", ".join(_num(float(x)) for x in row) + ")" for row in v)
        elif isinstance(v, np.ndarray):
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
    "institution_table": institution_table,
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
