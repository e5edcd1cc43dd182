"""Metrics: model reporters for Mesa's DataCollector (every step) and the end-of-run summary.

Population aggregates only: per-resident arrays stay out of the per-step path.
Definitions (also in docs/ODD.md):

* participation_rate   share of adults and elderly with any activity in the last 30 days
* meeting_attendance   mean over communities of the last residents' meeting's attendance
* resolution_rate      resolved / arisen (all cases, detected or not)
* screened_resolution_rate  resolved / detected ("screened")
* self_resolution_share     resolved without ever leaving the community / resolved
* cost_per_resolved_case    government (fiscal) spending / resolved cases
* social_cost_per_resolved_case  (fiscal + donations + residents' dues and fees + residents'
                                 time at hour_value) / resolved
"""

from __future__ import annotations

import numpy as np


def _ratio(a: float, b: float) -> float:
    """a / b, or NaN when b is 0: an undefined ratio (cost per resolved case with nothing
    resolved) is missing, never 0 and never infinite."""
    return float(a) / float(b) if b else float("nan")


def fiscal_spending(m) -> float:
    return m.ledger.spent_by("government")


REPORTERS = {
    "day": lambda m: m.day,
    "participation_rate": lambda m: m.participation_today,
    "meeting_attendance": lambda m: float(m.meetings.attendance.mean()),
    "volunteers": lambda m: int(np.count_nonzero(m.volunteers.holder >= 0)),
    "volunteer_hours": lambda m: m.volunteers.hours_today,
    "ladder_level": lambda m: float(m.ladder.mean()),
    "cases_arisen": lambda m: m.cases.counts["arisen"],
    "cases_detected": lambda m: m.cases.counts["detected"],
    "cases_resolved": lambda m: m.cases.counts["resolved"],
    "open_cases": lambda m: len(m.cases.open_idx) + len(m.cases.pending),
    "resolution_rate": lambda m: _ratio(m.cases.counts["resolved"], m.cases.counts["arisen"]),
    "screened_resolution_rate": lambda m: _ratio(m.cases.counts["resolved"], m.cases.counts["detected"]),
    "self_resolution_share": lambda m: _ratio(m.cases.counts["self_resolved"], m.cases.counts["resolved"]),
    "mean_days_to_resolution": lambda m: _ratio(m.cases.delay_sum, m.cases.counts["resolved"]),
    "escalations": lambda m: m.cases.counts["escalations"],
    "collective_incidents": lambda m: m.cases.counts["incidents"],
    "fiscal_spending": fiscal_spending,
    "ngo_contract_spending": lambda m: m.ledger.totals["ngo_contracts"],
    "committee_staff_hours": lambda m: m.committee_hours,
    "resident_hours": lambda m: m.population.hours,
    "cost_per_resolved_case": lambda m: _ratio(fiscal_spending(m), m.cases.counts["resolved"]),
    "mean_trust_gov": lambda m: float(m.population.trust_gov.mean()),
    "mean_trust_comm": lambda m: float(m.population.trust_comm.mean()),
    "mean_belonging": lambda m: float(m.population.belonging.mean()),
    "mean_satisfaction": lambda m: float(m.population.satisfaction.mean()),
}


# Numeric summary figures an experiment can keep (the keys of :func:`summary` that are
# always present; ``spend_<category>`` keys are added for categories that saw money).
SUMMARY_METRICS = (
    "participation_rate", "mean_participation_rate", "meeting_attendance", "volunteer_hours",
    "ladder_level", "cases_arisen", "cases_detected", "cases_resolved", "cases_lapsed", "cases_abandoned",
    "resolution_rate", "screened_resolution_rate", "self_resolution_share", "disputes_arisen",
    "disputes_detected", "disputes_resolved", "dispute_screened_resolution_rate",
    "dispute_self_resolution_share", "mean_days_to_resolution", "median_days_to_resolution",
    "escalations", "collective_incidents", "unresolved_open", "fiscal_spending",
    "ngo_contract_spending", "ngo_grant_spending", "donations", "resident_payments", "committee_staff_hours",
    "resident_hours", "resident_time_value", "cost_per_resolved_case",
    "social_cost_per_resolved_case", "mean_trust_gov", "mean_trust_comm", "mean_belonging",
    "mean_satisfaction", "ngos", "ngo_staff", "emergency_response_days", "satisfaction_sd",
    "satisfaction_p10", "satisfaction_p50", "satisfaction_p90", "local_migrant_resolution_gap",
    "local_migrant_satisfaction_gap", "income_resolution_gap", "community_resolution_spread",
)


def summary(m) -> dict:
    """End-of-run summary: the headline figures a report needs, as plain numbers."""
    c = m.cases.counts
    days = m.cases.resolution_days()
    ledger = m.ledger
    fiscal = fiscal_spending(m)
    hour_value = m.scenario.behaviour.hour_value
    resident_cost = m.population.hours * hour_value
    donations = ledger.totals["donation"]
    resident_money = ledger.spent_by("residents")  # dues, association dues, property fees
    out = {
        "scenario": m.scenario.name,
        "regime": m.scenario.regime,
        "pilots": ",".join(m.institutions.pilots),
        "funding_rule": m.scenario.government.funding_rule,
        "seed": int(m.scenario.seed),
        "days": int(m.day),
        "residents": int(m.population.n),
        "households": int(m.structure.n_households),
        "communities": int(m.structure.n_communities),
        "participation_rate": m.population.participation_rate(m.day - 1),
        "mean_participation_rate": float(m.participation_sum / max(m.day, 1)),
        "meeting_attendance": float(m.meetings.attendance.mean()),
        "volunteer_hours": float(m.volunteers.hours),
        "ladder_level": float(m.ladder.mean()),
        "cases_arisen": c["arisen"],
        "cases_detected": c["detected"],
        "cases_resolved": c["resolved"],
        "cases_lapsed": c["lapsed"],
        "cases_abandoned": c["abandoned"],
        "resolution_rate": _ratio(c["resolved"], c["arisen"]),
        "screened_resolution_rate": _ratio(c["resolved"], c["detected"]),
        "self_resolution_share": _ratio(c["self_resolved"], c["resolved"]),
        "disputes_arisen": c["disputes_arisen"],
        "disputes_detected": c["disputes_detected"],
        "disputes_resolved": c["disputes_resolved"],
        "dispute_screened_resolution_rate": _ratio(c["disputes_resolved"], c["disputes_detected"]),
        "dispute_self_resolution_share": _ratio(c["disputes_self_resolved"], c["disputes_resolved"]),
        "mean_days_to_resolution": float(days.mean()) if len(days) else 0.0,
        "median_days_to_resolution": float(np.median(days)) if len(days) else 0.0,
        "escalations": c["escalations"],
        "collective_incidents": c["incidents"],
        "unresolved_open": int(len(m.cases.open_idx) + len(m.cases.pending)),
        "fiscal_spending": fiscal,
        "ngo_contract_spending": ledger.totals["ngo_contracts"],
        "ngo_grant_spending": ledger.totals["ngo_grants"],
        "donations": donations,
        "resident_payments": resident_money,
        "committee_staff_hours": float(m.committee_hours),
        "resident_hours": float(m.population.hours),
        "resident_time_value": resident_cost,
        "cost_per_resolved_case": _ratio(fiscal, c["resolved"]),
        "social_cost_per_resolved_case": _ratio(fiscal + donations + resident_money + resident_cost, c["resolved"]),
        "mean_trust_gov": float(m.population.trust_gov.mean()),
        "mean_trust_comm": float(m.population.trust_comm.mean()),
        "mean_belonging": float(m.population.belonging.mean()),
        "mean_satisfaction": float(m.population.satisfaction.mean()),
        "ngos": len(m.ngos),
        "ngo_staff": float(sum(n.staff for n in m.ngos)),
        "emergency_response_days": emergency_response_days(m),
        **satisfaction_distribution(m),
        **group_gaps(m),
    }
    for inst in m.installed:
        out.update(inst.metrics())
    for cat in sorted(ledger.totals):
        if cat not in ("appropriation",):
            out[f"spend_{cat}"] = float(ledger.totals[cat])
    return out


def emergency_response_days(m) -> float:
    """Mean days from an emergency's arising to its first response (on site or handling),
    over emergencies that got one; incidents excluded."""
    from govsim.cases import INCIDENT
    from govsim.regimes import EMERGENCY

    b = m.cases
    n = b.size
    em = (b.cls[:n] == EMERGENCY) & (b.first_worked[:n] >= 0) & (b.channel[:n] != INCIDENT)
    return float((b.first_worked[:n][em] - b.arisen[:n][em]).mean()) if em.any() else float("nan")


def satisfaction_distribution(m) -> dict:
    s = m.population.satisfaction
    q10, q50, q90 = np.percentile(s, [10, 50, 90])
    return {"satisfaction_sd": float(s.std()), "satisfaction_p10": float(q10),
            "satisfaction_p50": float(q50), "satisfaction_p90": float(q90)}


def group_gaps(m) -> dict:
    """Outcome gaps between groups (positive: the first group is better off).

    ``local_migrant_resolution_gap``: share of locals' cases resolved minus migrants';
    ``local_migrant_satisfaction_gap``: mean satisfaction of locals minus migrants';
    ``income_resolution_gap``: other households' resolution rate minus low-income households';
    ``community_resolution_spread``: best minus worst community resolution rate (uneven service).
    """
    from govsim.network import LOCAL, MIGRANT

    b, s, pop = m.cases, m.structure, m.population
    n = b.size
    res = b.status[:n] == 2
    ten = s.tenure[b.resident[:n]]
    low = s.low_income[b.resident[:n]].astype(bool)

    def rate(mask):
        return float(res[mask].mean()) if mask.any() else float("nan")

    sat_l = pop.satisfaction[s.tenure == LOCAL]
    sat_m = pop.satisfaction[s.tenure == MIGRANT]
    comm = b.community[:n]
    C = s.n_communities
    arisen = np.bincount(comm, minlength=C)
    per_c = np.bincount(comm, weights=res, minlength=C) / np.maximum(arisen, 1)
    return {
        "local_migrant_resolution_gap": rate(ten == LOCAL) - rate(ten == MIGRANT),
        "local_migrant_satisfaction_gap": (float(sat_l.mean()) - float(sat_m.mean()))
        if len(sat_l) and len(sat_m) else float("nan"),
        "income_resolution_gap": rate(~low) - rate(low),
        "community_resolution_spread": float(per_c[arisen > 0].max() - per_c[arisen > 0].min())
        if (arisen > 0).sum() > 1 else 0.0,
    }


def community_table(m):
    """Per-community outcomes (a pandas DataFrame): where are cases left unresolved?"""
    import pandas as pd

    s, book = m.structure, m.cases
    n = book.size
    C = s.n_communities
    comm = book.community[:n]
    resolved = np.bincount(comm, weights=book.status[:n] == 2, minlength=C)
    arisen = np.bincount(comm, minlength=C)
    unresolved = arisen - resolved
    act = m.population.active_mask(m.day - 1) & m.population.eligible
    elig = np.bincount(s.community, weights=m.population.eligible, minlength=C)
    return pd.DataFrame(
        {
            "community": s.community_names,
            "households": s.community_households,
            "residents": s.community_size,
            "migrant_share": np.bincount(s.community, weights=s.tenure == 2, minlength=C) / s.community_size,
            "committee_staff_hours_per_day": [c.staff_hours for c in m.committees],
            "admin_share": [c.admin_share for c in m.committees],
            "cases_arisen": arisen,
            "cases_resolved": resolved.astype(int),
            "cases_unresolved": unresolved.astype(int),
            "resolution_rate": np.divide(resolved, arisen, out=np.zeros(C), where=arisen > 0),
            "participation_rate": np.bincount(s.community, weights=act, minlength=C) / np.maximum(elig, 1),
            "ladder_level": m.ladder,
        }
    )
