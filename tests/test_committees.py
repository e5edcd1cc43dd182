"""Committees: sizing, administrative load, delegated funds, NGO outsourcing, volunteers, council."""

import mesa
import numpy as np
import pytest

from govsim.agents import Committee, committee_members
from govsim.agents.committee import STAFF_HOURS

from conftest import small

# --------------------------------------------------------------------------- sizing


@pytest.mark.parametrize(
    "households, members",
    [(10, 3), (400, 3), (800, 3), (1000, 4), (1412, 6), (1600, 6), (2000, 8), (2300, 9),
     (3000, 9), (89_933, 9)],
)
def test_committee_members_one_per_250_households_clipped_3_to_9(households, members):
    assert int(committee_members(households)) == members


def test_committee_members_vectorised_and_custom_bounds():
    hh = np.array([100, 1000, 2000, 10_000])
    np.testing.assert_array_equal(committee_members(hh), [3, 4, 8, 9])
    np.testing.assert_array_equal(committee_members(hh, per_member=200, lo=1, hi=50), [0 + 1, 5, 10, 50])
    sizes = committee_members(np.arange(10, 20_000, 37))
    assert sizes.min() == 3 and sizes.max() == 9
    assert (np.diff(sizes) >= 0).all()  # more households never means fewer members


def test_committee_arrays_equal_the_properties_bit_for_bit():
    """The case pipeline reads capacities, skills and visit chances of all committees as
    arrays (govsim.agents.committee): the same floats as each committee's property."""
    from govsim.agents.committee import case_capacities, skills, visit_chances

    m = small("government_led", population={"households": 3000, "communities": 4}, steps=20)
    m.run(20)
    coms = m.committees
    for i, com in enumerate(coms):  # vary the inputs beyond the defaults
        com.effort, com.authority, com.visit_share = 0.7 + 0.1 * i, 1.1 - 0.05 * i, 0.1 * i
    hh = m.structure.community_households
    assert case_capacities(coms).tolist() == [c.case_capacity for c in coms]
    assert skills(coms).tolist() == [c.skill for c in coms]
    assert visit_chances(coms, hh).tolist() == [c.visit_chance(h) for c, h in zip(coms, hh.tolist(), strict=True)]
    assert visit_chances(coms, np.zeros(len(coms), dtype=int)).tolist() == [c.visit_chance(0) for c in coms]


def test_model_committee_size_from_scenario():
    m = small(steps=1, population={"households": 1412}, committees={"households_per_member": 200})
    assert m.committees[0].members == 7
    m = small(steps=1, population={"households": 400}, committees={"min_members": 5})
    assert m.committees[0].members == 5


# --------------------------------------------------------------------------- admin load


def make_committee(**kw):
    defaults = {"members": 5, "member_paid": True, "member_hours": 6.0, "mediation_skill": 0.6}
    return Committee(mesa.Model(), 0, "residents", **{**defaults, **kw})


def test_admin_load_crowds_out_free_hours():
    com = make_committee()
    com.workers, com.assistants = 2.0, 1.0
    staff = com.staff_hours
    assert staff > 30.0
    com.plan_day()
    assert com.free_hours == pytest.approx(staff)
    cap0 = com.case_capacity
    assert cap0 > 0
    com.admin_hours = 20.0
    com.plan_day()
    assert com.staff_hours == pytest.approx(staff)  # the load does not add hours
    assert com.free_hours == pytest.approx(staff - 20.0)
    # capacity shrinks in proportion to the free hours
    assert com.case_capacity == pytest.approx(cap0 * (staff - 20.0) / staff)
    assert com.admin_share == pytest.approx(20.0 / staff)
    com.supervision_hours = 10.0
    com.plan_day()
    assert com.free_hours == pytest.approx(staff - 30.0)
    com.admin_hours = 10 * staff  # more load than hours: nothing left, never negative
    com.plan_day()
    assert com.free_hours == 0.0
    assert com.case_capacity == 0.0
    assert com.admin_share == 1.0


def test_delegated_hours_restore_free_hours():
    com = make_committee()
    com.workers = 2.0
    com.plan_day()
    unloaded = com.free_hours
    com.admin_hours = 25.0
    com.plan_day()
    crowded = com.free_hours
    assert crowded == pytest.approx(unloaded - 25.0)
    staff = com.staff_hours
    com.delegated_hours = com.admin_hours  # power and money follow the task
    assert com.staff_hours == pytest.approx(staff + 25.0)
    com.plan_day()
    assert com.free_hours == pytest.approx(unloaded)


def test_helper_hours_bought_with_the_operating_fund_add_to_capacity():
    com = make_committee()
    com.workers = 2.0
    com.plan_day()
    staff, cap0 = com.staff_hours, com.case_capacity
    hour_wage = 25.0
    spend = com.spend_operating_funds(9_100.0, 91, hour_wage)  # the fund spread over the quarter
    assert spend == pytest.approx(100.0)
    assert com.helper_hours == pytest.approx(100.0 / hour_wage)
    assert com.staff_hours == pytest.approx(staff + 4.0)
    com.plan_day()
    assert com.free_hours == pytest.approx(staff + 4.0)
    assert com.case_capacity == pytest.approx(cap0 * (staff + 4.0) / staff)
    # the last day of the quarter spends what is left; an empty or overdrawn fund buys nothing
    assert com.spend_operating_funds(300.0, 1, hour_wage) == pytest.approx(300.0)
    assert com.spend_operating_funds(-50.0, 30, hour_wage) == 0.0
    assert com.helper_hours == 0.0


def test_model_committees_spend_their_fund_on_helper_hours():
    m = small(regime="government_led", steps=1, seed=2)
    com = m.committees[0]
    wage = m.scenario.government.worker_wage_per_day / STAFF_HOURS
    m.step()  # day 0: a quarter of the yearly fund arrives, a 91st of what is free is spent
    fund = m.government.operating_funds[0] / 4.0
    expected = (fund - com.reserve) / 91
    assert expected > 0
    assert m.ledger.totals["helper_wages"] == pytest.approx(expected)
    assert m.ledger.paid_by[("committee", "helper_wages")] == pytest.approx(expected)  # from its own account
    assert com.helper_hours == pytest.approx(expected / wage)


def test_admin_pushdown_lowers_committee_capacity_in_model():
    light = small(regime="government_led", steps=3, seed=2, regime_settings={"admin_pushdown": 0.0})
    heavy = small(regime="government_led", steps=3, seed=2, regime_settings={"admin_pushdown": 1.0})
    light.run()
    heavy.run()
    cl, ch = light.committees[0], heavy.committees[0]
    assert cl.admin_hours == 0.0 and ch.admin_hours > 0
    assert cl.staff_hours == pytest.approx(ch.staff_hours)
    assert ch.free_hours == pytest.approx(max(0.0, cl.free_hours - ch.admin_hours))
    assert ch.case_capacity < cl.case_capacity
    assert ch.admin_share > cl.admin_share


def test_power_and_money_follow_the_task_restores_hours_and_costs_money():
    kw = {"regime": "government_led", "steps": 60, "seed": 3}
    off = small(**kw, government={"power_and_money_follow_task": False}).run()
    on = small(**kw, government={"power_and_money_follow_task": True}).run()
    c_off, c_on = off.committees[0], on.committees[0]
    assert c_on.admin_hours == c_off.admin_hours > 0
    assert c_on.delegated_hours == pytest.approx(c_on.admin_hours)
    assert c_off.delegated_hours == 0.0
    # the restored hours are free hours, of which the appointed committee spends its
    # upward share on the hierarchy (admin_hierarchy); the same helper hours in both runs
    assert c_on.upward_share == c_off.upward_share > 0
    assert c_on.helper_hours == pytest.approx(c_off.helper_hours)
    assert c_on.free_hours == pytest.approx(
        c_off.free_hours + (1.0 - c_on.upward_share) * min(c_off.admin_hours, c_off.staff_hours))
    assert off.ledger.totals["delegated_task_funds"] == 0.0
    wage = off.scenario.government.worker_wage_per_day
    assert on.ledger.totals["delegated_task_funds"] == pytest.approx(
        60 * c_on.delegated_hours / STAFF_HOURS * wage)
    assert on.ledger.spent_by("government") > off.ledger.spent_by("government")


def test_ngo_outsourcing_moves_admin_load_and_creates_contract_spending():
    kw = {"regime": "hybrid", "steps": 40, "seed": 4}
    off = small(**kw).run()
    on = small(**kw, pilots={"ngo_outsourcing": True}).run()
    share = on.scenario.pilots.outsourced_task_share
    total = off.government.admin_hours_total
    assert total > 0
    assert on.government.admin_hours_total == pytest.approx(total)
    assert off.committees[0].admin_hours == pytest.approx(total)
    assert on.committees[0].admin_hours == pytest.approx(total * (1 - share))
    assert on.government.outsourced_admin_hours == pytest.approx(total * share)
    assert off.government.outsourced_admin_hours == 0.0
    assert (on.government.assistants == 0).all()  # no temporary staff
    assert off.ledger.totals["ngo_contracts"] == 0.0
    assert on.ledger.totals["ngo_contracts"] > 0
    assert on.summary()["ngo_contract_spending"] == on.ledger.totals["ngo_contracts"]
    assert any(n.kind == "social_work" for n in on.ngos_by_community[0])
    assert sum(n.contract_income for n in on.ngos) == pytest.approx(on.ledger.totals["ngo_contracts"])
    assert "ngo" in on.institutions.data.chains["general"]


# --------------------------------------------------------------------------- volunteers


def _role_changes(m, days):
    """Step ``days`` times; count holders that left a role and vacancies that were filled."""
    part = m.volunteers
    prev = part.holder.copy()
    quits = fills = 0
    for _ in range(days):
        m.step()
        h = part.holder
        quits += int(((prev >= 0) & (h != prev)).sum())
        fills += int(((h >= 0) & (h != prev)).sum())
        # holders and the volunteer flag agree
        assert m.population.volunteer.sum() == (h >= 0).sum()
        assert m.population.volunteer[h[h >= 0]].all()
        assert len(np.unique(h[h >= 0])) == (h >= 0).sum()  # one role per person
        prev = h.copy()
    return quits, fills


def test_no_volunteer_quits_with_zero_quit_rate():
    m = small(steps=90, seed=1, behaviour={"volunteer_quit_rate": 0.0})
    start = m.volunteers.holder.copy()
    assert (start >= 0).sum() > 0
    quits, _ = _role_changes(m, 90)
    assert quits == 0
    held0 = start >= 0
    np.testing.assert_array_equal(m.volunteers.holder[held0], start[held0])


def test_high_quit_rate_churns_and_vacancies_are_refilled():
    m = small(steps=90, seed=1, behaviour={"volunteer_quit_rate": 20.0, "recruit_interval_days": 15})
    roles = len(m.volunteers.holder)
    quits, fills = _role_changes(m, 90)
    assert quits >= roles // 2
    assert fills >= quits // 3
    calm = small(steps=90, seed=1, behaviour={"volunteer_quit_rate": 0.5})
    calm_quits, _ = _role_changes(calm, 90)
    assert quits > 3 * max(calm_quits, 1)


# --------------------------------------------------------------------------- council


class PatternRng:
    """Stands in for the model's rng in the council's ``begin_day``: the first ``k`` draws
    of every ``random(n)`` call are 0 (always below a probability), the rest 1 (never)."""

    def __init__(self, k: int):
        self.k = k

    def random(self, n):
        out = np.ones(n)
        out[: self.k] = 0.0
        return out


def council_model(**committees):
    params = {"council_members": 15, "council_interval_days": 30, **committees}
    m = small(regime="hybrid", steps=1, seed=5, pilots={"deliberation_council": True},
              committees=params)
    m.queue_at = lambda level: np.array([4])  # cases waiting at the council
    return m


def council_of(m):
    (inst,) = [i for i in m.installed if i.name == "deliberation_council"]
    return inst


def sit(m, day, k):
    """Run the council's day with a pattern rng (``k`` directors ask and attend)."""
    rng = m.rng
    m.rng = PatternRng(k)
    try:
        council_of(m).begin_day(day)
    finally:
        m.rng = rng


def test_council_exists_only_with_pilot():
    assert small(steps=1).councils == {}
    m = council_model()
    assert len(m.councils[0].directors) == 15
    assert len(np.unique(m.councils[0].directors)) == 15


@pytest.mark.parametrize("asking, share, expect_extra", [
    (5, 1 / 3, True),   # exactly a third of 15
    (4, 1 / 3, False),
    (15, 1 / 3, True),
    (7, 0.5, False),
    (8, 0.5, True),
])
def test_extra_council_meeting_when_enough_directors_ask(asking, share, expect_extra):
    m = council_model(extra_meeting_share=share)
    council = m.councils[0]
    inst = council_of(m)
    sit(m, 10, asking)  # day 10: not a regular meeting day
    assert council.extra_meetings == int(expect_extra)
    assert council.meetings_held == int(expect_extra)
    cases = m.scenario.committees.council_cases_per_meeting
    if expect_extra:
        assert inst.capacity_today[0] == pytest.approx(cases * asking / 15)
        assert inst.last[0] == 10
    else:
        assert inst.capacity_today[0] == 0.0


def test_no_extra_meeting_within_a_week_or_with_empty_queue():
    m = council_model()
    council = m.councils[0]
    sit(m, 10, 15)
    assert council.extra_meetings == 1
    sit(m, 16, 15)  # only 6 days later
    assert council.extra_meetings == 1
    sit(m, 17, 15)
    assert council.extra_meetings == 2
    m.queue_at = lambda level: np.array([0])
    sit(m, 25, 15)
    assert council.extra_meetings == 2
    assert council.meetings_held == 2


def test_regular_council_meeting_needs_no_request():
    m = council_model()
    council, inst = m.councils[0], council_of(m)
    sit(m, 30, 0)  # (day - community) % 30 == 0; nobody asks
    assert council.meetings_held == 1
    assert council.extra_meetings == 0
    sit(m, 31, 0)
    assert inst.capacity_today[0] == 0.0  # capacity lasts the meeting day only


def test_council_capacity_reaches_the_council_handler():
    m = council_model()
    inst = council_of(m)
    sit(m, 30, 9)  # regular meeting, 9 of 15 present
    cap = np.zeros(m.handlers.total)
    skill = np.ones(m.handlers.total)
    inst.capacity(cap, skill)
    from govsim.regimes import COUNCIL

    expected = m.scenario.committees.council_cases_per_meeting * 9 / 15
    assert cap[m.handlers.slice(COUNCIL)].tolist() == pytest.approx([expected])
    assert cap.sum() == pytest.approx(expected)


def test_council_meetings_in_a_run_are_regular_plus_extra():
    m = small(regime="hybrid", steps=150, seed=1, pilots={"deliberation_council": True},
              committees={"council_interval_days": 365})
    council = m.councils[0]
    days, prev = [], 0
    for d in range(150):
        m.step()
        if council.meetings_held > prev:
            days.append(d)
            prev = council.meetings_held
    assert days[0] == 0  # the only regular meeting in the run
    assert council.meetings_held == 1 + council.extra_meetings
    assert council.extra_meetings == len(days) - 1
    assert council.extra_meetings >= 1
    assert (np.diff(days) >= 7).all()
