"""Money: the double-entry ledger, and that whole runs keep their books straight."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govsim.finance import CATEGORIES, SINKS, SOURCES, Ledger

from conftest import small

# Categories only the government pays (its spending is the sum of these): its own wage
# bills, the payroll staff institutions put on it (``Government.add_staff_cost``), the
# quarterly operating funds, and what institutions buy through its purse.
GOVERNMENT_CATEGORIES = (
    "staff_wages",
    "street_staff",
    "delegated_task_funds",
    "dispatched_staff",
    "grid_workers",
    "centre_staff",
    "operating_funds",
    "ngo_contracts",
    "ngo_grants",
    "participatory_budget",
    "case_operations",
    "incident_response",
    "association_grants",
    "government_programmes",
    "drills",
    "performance_pay",
)
# Paid into the labour sink: government payroll, NGO staff, the management company's staff,
# helper hours committees buy with their operating fund.
WAGE_CATEGORIES = (
    "staff_wages",
    "street_staff",
    "delegated_task_funds",
    "dispatched_staff",
    "grid_workers",
    "centre_staff",
    "performance_pay",
    "ngo_wages",
    "company_wages",
    "helper_wages",
)
OPERATIONS_CATEGORIES = ("case_operations", "incident_response")
SUPPLIER_CATEGORIES = ("committee_spending", "projects", "association_spending", "government_programmes",
                       "drills", "board_fixes")


def ledger_with(**balances) -> Ledger:
    """A ledger where the named accounts were funded from the treasury."""
    led = Ledger()
    for name, amount in balances.items():
        acct = led.open(name.replace("__", ":"))
        led.transfer(led.index["treasury"], acct, amount, "appropriation")
    return led


# --------------------------------------------------------------------------- unit


def test_fresh_ledger_accounts_and_zero_balances():
    led = Ledger()
    for name in (*SOURCES, "government", *SINKS):
        assert name in led.index
        assert led[name] == 0.0
    assert led.open("government") == led.index["government"]  # opening twice is a no-op
    ids = led.open_many("committee", 3)
    assert [led.names[i] for i in ids] == ["committee:0", "committee:1", "committee:2"]
    assert len(set(ids.tolist())) == 3


def test_transfer_moves_money_and_conserves():
    led = Ledger()
    t, g, lab = led.index["treasury"], led.index["government"], led.index["labour"]
    paid = led.transfer(t, g, 1000.0, "appropriation")
    assert paid.tolist() == [1000.0]
    assert led["treasury"] == -1000.0 and led["government"] == 1000.0
    led.transfer(g, lab, 400.0, "staff_wages")
    assert led["government"] == 600.0 and led["labour"] == 400.0
    assert led.balance.sum() == pytest.approx(0.0)
    assert led.shortfall == 0.0
    led.check()


def test_non_source_payer_is_capped_and_shortfall_recorded():
    led = ledger_with(government=100.0)
    g, lab = led.index["government"], led.index["labour"]
    paid = led.transfer(g, lab, 150.0, "staff_wages")
    assert paid.tolist() == [100.0]
    assert led["government"] == 0.0
    assert led["labour"] == 100.0
    assert led.shortfall == pytest.approx(50.0)
    assert led.totals["staff_wages"] == 100.0  # totals record what was paid
    # an empty account pays nothing
    paid = led.transfer(g, lab, 10.0, "staff_wages")
    assert paid.tolist() == [0.0]
    assert led.shortfall == pytest.approx(60.0)
    led.check()


@pytest.mark.parametrize("source", SOURCES)
def test_sources_may_overdraw(source):
    led = Ledger()
    paid = led.transfer(led.index[source], led.index["government"], 5e6, "appropriation")
    assert paid.tolist() == [5e6]
    assert led[source] == -5e6
    assert led.shortfall == 0.0
    led.check()  # sources are allowed to be negative


def test_allow_overdraft_lets_a_non_source_go_negative_and_check_catches_it():
    led = Ledger()
    led.transfer(led.index["government"], led.index["labour"], 10.0, "staff_wages",
                 allow_overdraft=True)
    assert led["government"] == -10.0
    with pytest.raises(AssertionError, match="negative balance"):
        led.check()


def test_check_catches_created_money():
    led = ledger_with(government=10.0)
    led.balance[led.index["labour"]] += 5.0  # money out of thin air
    with pytest.raises(AssertionError, match="not conserved"):
        led.check()


@pytest.mark.parametrize("amount", [-1.0, [3.0, -0.5]])
def test_negative_amounts_raise_and_change_nothing(amount):
    led = ledger_with(government=100.0)
    before = led.balance.copy()
    g, lab = led.index["government"], led.index["labour"]
    with pytest.raises(ValueError):
        led.transfer(g, lab, amount, "staff_wages")
    np.testing.assert_array_equal(led.balance, before)
    assert led.totals["staff_wages"] == 0.0


def test_vectorised_repeated_payer_is_capped_in_order():
    led = ledger_with(government=10.0, committee__0=3.0)
    g, c = led.index["government"], led.index["committee:0"]
    lab, ops, sup = led.index["labour"], led.index["operations"], led.index["suppliers"]
    paid = led.transfer([g, c, g, c, g], [lab, ops, sup, lab, ops], [6.0, 2.0, 6.0, 2.0, 1.0],
                        "committee_spending")
    np.testing.assert_allclose(paid, [6.0, 2.0, 4.0, 1.0, 0.0])
    assert led["government"] == 0.0 and led["committee:0"] == 0.0
    assert led["labour"] == 7.0 and led["operations"] == 2.0 and led["suppliers"] == 4.0
    assert led.shortfall == pytest.approx(4.0)
    assert led.totals["committee_spending"] == pytest.approx(13.0)
    assert led.paid_by[("government", "committee_spending")] == pytest.approx(10.0)
    assert led.paid_by[("committee", "committee_spending")] == pytest.approx(3.0)
    led.check()


@pytest.mark.parametrize("kinds", [("committee",), ("committee", "ngo")])
def test_transfer_each_is_transfer_scalar_in_turn(kinds):
    """Ledger.transfer_each: the same books, bit for bit, as one transfer_scalar per payer."""
    rng = np.random.default_rng(3)
    n = 7 * len(kinds)
    balances = rng.random(n) * 10.0 - 1.0  # some cannot pay in full
    amounts = rng.random(n) * 5.0
    books = []
    for vectorised in (False, True):
        led = Ledger()
        payers = np.concatenate([led.open_many(kind, 7) for kind in kinds])
        led.balance[payers] = balances
        led.balance[led.index["labour"]] = 0.1
        led.totals["helper_wages"] = 1.0 / 3.0
        if vectorised:
            paid = led.transfer_each(payers, led.index["labour"], amounts, "helper_wages").tolist()
        else:
            paid = [led.transfer_scalar(int(p), led.index["labour"], float(a), "helper_wages")
                    for p, a in zip(payers, amounts, strict=True)]
        books.append((paid, led.balance.tobytes(), dict(led.totals), dict(led.paid_by), led.shortfall))
    assert books[0] == books[1]
    assert books[0][4] > 0  # some payer was capped


@pytest.mark.parametrize("overdraft", [False, True])
def test_transfer_of_payers_in_account_order_is_the_general_case(overdraft):
    """Ledger.transfer's shortcut for payers paying once each, in account order (NGO wages):
    the same books, bit for bit, as its general (sorting, grouping) case."""
    rng = np.random.default_rng(5)
    balances = rng.random(9) * 10.0 - 1.0
    amounts = rng.random(9) * 5.0
    books = []
    for general in (False, True):
        led = Ledger()
        payers = np.concatenate([led.open_many("ngo", 6), led.open_many("committee", 3)])
        led.balance[payers] = balances
        led.totals["ngo_wages"] = 1.0 / 3.0
        if general:
            paid = led._transfer_general(payers, np.full(9, led.index["labour"]), amounts.copy(), "ngo_wages",
                                         overdraft)
        else:
            paid = led.transfer(payers, led.index["labour"], amounts, "ngo_wages", allow_overdraft=overdraft)
        books.append((paid.tolist(), led.balance.tobytes(), dict(led.totals), dict(led.paid_by), led.shortfall))
    assert books[0] == books[1]


def test_transfer_each_rejects_repeated_or_source_payers():
    led = ledger_with(committee__0=3.0)
    c = led.index["committee:0"]
    with pytest.raises(ValueError):
        led.transfer_each([c, c], led.index["labour"], [1.0, 1.0], "helper_wages")
    with pytest.raises(ValueError):
        led.transfer_each([led.index["treasury"]], led.index["labour"], [1.0], "helper_wages")


def test_scalar_payer_broadcasts_over_payees():
    led = ledger_with(government=100.0)
    accts = led.open_many("committee", 4)
    paid = led.transfer(led.index["government"], accts, [10.0, 20.0, 30.0, 50.0], "operating_funds")
    np.testing.assert_allclose(paid, [10.0, 20.0, 30.0, 40.0])
    np.testing.assert_allclose(led.balance[accts], [10.0, 20.0, 30.0, 40.0])
    assert led["government"] == 0.0


def test_totals_and_spent_by_add_up():
    led = ledger_with(government=1000.0, ngo__0=200.0)
    g, n, lab, ops = (led.index[k] for k in ("government", "ngo:0", "labour", "operations"))
    led.transfer(g, lab, 300.0, "staff_wages")
    led.transfer(g, ops, 100.0, "case_operations")
    led.transfer(n, lab, 150.0, "ngo_wages")
    assert led.spent_by("government") == pytest.approx(400.0)
    assert led.spent_by("government", exclude=("case_operations",)) == pytest.approx(300.0)
    assert led.spent_by("ngo") == pytest.approx(150.0)
    assert led.spent_by("treasury") == pytest.approx(1200.0)
    assert sum(led.paid_by.values()) == pytest.approx(sum(led.totals.values()))
    assert led["labour"] == pytest.approx(led.totals["staff_wages"] + led.totals["ngo_wages"])


def test_nan_amount_is_rejected_or_caught_by_check():
    led = ledger_with(government=100.0)
    with pytest.raises((ValueError, AssertionError)):
        led.transfer(led.index["government"], led.index["labour"], float("nan"), "staff_wages")
        led.check()


# --------------------------------------------------------------------------- property

N_EXTRA = 4


def _reference_paid(balance, payer, amount, sources):
    """Sequential reference: each payment capped by what its payer has left (pre-call)."""
    left = balance.copy()
    paid = []
    for p, a in zip(payer, amount, strict=True):
        x = a if p in sources else min(a, max(left[p], 0.0))
        left[p] -= x
        paid.append(x)
    return np.array(paid)


transfer_st = st.lists(
    st.tuples(
        st.integers(0, 5 + N_EXTRA),  # payer
        st.integers(0, 5 + N_EXTRA),  # payee
        st.floats(0.0, 1e6, allow_nan=False, allow_infinity=False),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=150, deadline=None, database=None)
@given(st.lists(transfer_st, min_size=1, max_size=25))
def test_random_transfers_conserve_and_never_overdraw(batches):
    led = Ledger()
    led.open_many("ngo", N_EXTRA)
    sources = {led.index[s] for s in SOURCES}
    requested = paid_total = 0.0
    for k, batch in enumerate(batches):
        payer = [b[0] for b in batch]
        payee = [b[1] for b in batch]
        amount = [b[2] for b in batch]
        before = led.balance.copy()
        expect = _reference_paid(before, payer, amount, sources)
        paid = led.transfer(payer, payee, amount, CATEGORIES[k % len(CATEGORIES)])
        np.testing.assert_allclose(paid, expect, rtol=1e-9, atol=1e-6)
        requested += sum(amount)
        paid_total += float(paid.sum())
        scale = max(1.0, float(np.abs(led.balance).sum()))
        assert abs(led.balance.sum()) <= 1e-9 * scale
        non_source = [i for i in range(len(led.names)) if i not in sources]
        assert (led.balance[non_source] >= -1e-6 * scale).all()
        led.check()
    assert led.shortfall == pytest.approx(requested - paid_total, rel=1e-9, abs=1e-3)
    assert sum(led.totals.values()) == pytest.approx(paid_total, rel=1e-9, abs=1e-3)
    assert sum(led.paid_by.values()) == pytest.approx(paid_total, rel=1e-9, abs=1e-3)


# --------------------------------------------------------------------------- whole model

MODEL_CASES = [
    ("self_governing", {}),
    ("government_led", {}),
    ("hybrid", {}),
    ("hybrid", {"grid_management": True, "ngo_outsourcing": True, "deliberation_council": True,
                "participatory_budget": True, "party_co_governance": True}),
]


def _total(led, categories):
    return sum(led.totals[c] for c in categories)


def _held_by(led, kind):
    return float(sum(led.balance[i] for i, k in enumerate(led.kinds) if k == kind))


@pytest.mark.parametrize("regime, pilots", MODEL_CASES,
                         ids=["self_governing", "government_led", "hybrid", "hybrid+all_pilots"])
def test_whole_model_books_balance(regime, pilots):
    m = small(regime=regime, steps=200, seed=4, pilots=pilots,
              population={"households": 300}).run()
    led = m.ledger
    led.check()
    assert np.isfinite(led.balance).all()
    gov = led.spent_by("government")
    assert gov > 0
    assert gov == pytest.approx(_total(led, GOVERNMENT_CATEGORIES), rel=1e-9)
    assert gov == pytest.approx(sum(led.paid_by[("government", c)] for c in GOVERNMENT_CATEGORIES),
                                rel=1e-9)
    # the government spends only what the treasury appropriated
    assert led["government"] == pytest.approx(led.totals["appropriation"] - gov, abs=1e-3)
    assert led["government"] >= -1e-6
    assert led["treasury"] == pytest.approx(-led.totals["appropriation"])
    assert led["donors"] == pytest.approx(-led.totals["donation"])
    assert led["residents"] == pytest.approx(-(led.totals["resident_dues"] + led.totals["association_dues"]
                                               + led.totals["company_fees"]),
                                             abs=1e-6)
    # every sink holds exactly what was paid into it under its categories
    assert led["labour"] == pytest.approx(_total(led, WAGE_CATEGORIES), rel=1e-9)
    assert led["operations"] == pytest.approx(_total(led, OPERATIONS_CATEGORIES), rel=1e-9, abs=1e-6)
    assert led["suppliers"] == pytest.approx(_total(led, SUPPLIER_CATEGORIES), rel=1e-9, abs=1e-6)
    # and every other kind of account holds its inflows less its outflows
    t = led.totals
    assert _held_by(led, "committee") == pytest.approx(
        t["operating_funds"] + t["resident_dues"] - t["helper_wages"] - t["committee_spending"]
        - t["board_fixes"], rel=1e-9, abs=1e-6)
    assert _held_by(led, "ngo") == pytest.approx(
        t["donation"] + t["ngo_grants"] + t["ngo_contracts"] - t["ngo_wages"], rel=1e-9, abs=1e-6)
    assert _held_by(led, "company") == pytest.approx(t["company_fees"] - t["company_wages"], abs=1e-6)
    assert _held_by(led, "association") == pytest.approx(
        t["association_dues"] + t["association_grants"] - t["association_spending"], abs=1e-6)
    assert _held_by(led, "fund") == pytest.approx(t["participatory_budget"] - t["projects"], abs=1e-6)
    # committees hire helpers with what their fund holds above the reserve they keep back
    # (a self-governing board keeps back what the fixes it decides at meetings will cost)
    assert t["operating_funds"] > 0
    quarter = m.government.operating_funds / 4.0
    if any(q > c.reserve for q, c in zip(quarter, m.committees, strict=True)):
        assert t["helper_wages"] > 0
    assert led.paid_by[("committee", "helper_wages")] == pytest.approx(t["helper_wages"])
    s = m.summary()
    assert s["fiscal_spending"] == pytest.approx(gov)
    assert sum(s.get(f"spend_{c}", 0.0) for c in GOVERNMENT_CATEGORIES) == pytest.approx(gov)


def test_every_category_moved_in_a_run_is_listed():
    m = small(regime="self_governing", steps=120, seed=4, pilots={"grid_management": True},
              population={"households": 300}).run()
    h = small(regime="hybrid", steps=120, seed=4, population={"households": 300}).run()
    used = {c for led in (m.ledger, h.ledger) for c, v in led.totals.items() if v > 0}
    accounted = {"appropriation", "donation", "resident_dues", "association_dues", "company_fees",
                 *GOVERNMENT_CATEGORIES, *WAGE_CATEGORIES, *OPERATIONS_CATEGORIES, *SUPPLIER_CATEGORIES}
    assert used <= accounted, used - accounted


def test_finance_categories_list_every_category_the_model_uses():
    m = small(regime="self_governing", steps=120, seed=4, population={"households": 300}).run()
    h = small(regime="hybrid", steps=30, seed=4, population={"households": 300}).run()
    used = {c for led in (m.ledger, h.ledger) for c, v in led.totals.items() if v > 0}
    assert used <= set(CATEGORIES), used - set(CATEGORIES)


def _expected_daily_wages(m):
    """Each wage bill from its definition: posts funded by the counted population, the share
    of street and district time spent on community cases, and the payroll staff each
    institution installs."""
    from govsim.agents.government import DISTRICT_CASE_SHARE, STREET_CASE_SHARE

    g, p, s = m.government, m.scenario.government, m.structure
    data = m.institutions.data
    counted = g.rule.counted(s.community_people().astype(float), s.community_registered().astype(float))
    workers = counted / p.people_per_worker
    assistants = 0.0 if m.institutions.has("ngo_outsourcing") else counted * p.assistants_per_10k / 1e4
    street_staff = counted.sum() * data.street_staff_per_10k / 1e4  # one street here
    district_staff = counted.sum() * data.district_staff_per_10k / 1e4
    out = {
        "staff_wages": float((workers + assistants).sum()) * p.worker_wage_per_day,
        "street_staff": (street_staff * STREET_CASE_SHARE + district_staff * DISTRICT_CASE_SHARE)
        * p.street_wage_per_day,
    }
    C = s.n_communities
    for inst in m.installed:
        if inst.name == "dispatched_agencies":
            share = g.outsourced_share
            out["dispatched_staff"] = inst.s.staff_per_community * (1 - share) * C * p.street_wage_per_day
        elif inst.name == "regional_centre":
            out["centre_staff"] = inst.s.staff * C * p.worker_wage_per_day
        elif inst.name == "grid_management":
            out["grid_workers"] = s.n_grids * m.scenario.pilots.grid_staff_per_grid * p.grid_wage_per_day
    return out


@pytest.mark.parametrize("regime, pilots", [
    ("government_led", {}),
    ("hybrid", {}),
    ("self_governing", {"grid_management": True}),
], ids=["government_led", "hybrid", "self_governing+grid"])
def test_one_day_of_wages_matches_staffing(regime, pilots):
    m = small(regime=regime, steps=1, pilots=pilots, population={"households": 300}).run()
    assert m.structure.n_communities == 1
    g = m.government
    t = m.ledger.totals
    expected = _expected_daily_wages(m)
    payroll = {"dispatched_staff", "centre_staff", "grid_workers"}
    assert payroll & set(expected)  # every case exercises an institution's payroll staff
    for category, amount in expected.items():
        assert amount > 0, category
        assert t[category] == pytest.approx(amount), category
    for category in payroll - set(expected):
        assert t[category] == 0.0, category
    assert t["delegated_task_funds"] == 0.0  # power and money do not follow the task by default
    assert g.daily_wages() == pytest.approx({**expected, "delegated_task_funds": 0.0})
    # a quarter of each community's yearly tier fund, at its funding factor (1 at the start)
    assert [c.fund_factor for c in m.committees] == [1.0]
    assert t["operating_funds"] == pytest.approx(float(g.operating_funds.sum()) / 4)


def test_planned_yearly_spending_counts_payroll_staff():
    m = small(regime="hybrid", steps=1, pilots={"grid_management": True}, population={"households": 300})
    g = m.government
    assert {"grid_workers", "centre_staff"} <= set(g.extra_staff)
    wages = sum(g.daily_wages().values())  # no delegated tasks: every wage is planned
    assert g.planned_yearly_spending() == pytest.approx(365 * wages + float(g.operating_funds.sum()))


def _grants(m):
    (inst,) = [i for i in m.installed if i.name == "ngo_grants"]
    return inst.grants


def test_zero_staff_ngos_start_with_zero_staff_and_receive_grants():
    """Precondition of the test below: the scenario is valid and grants are due on day 0."""
    m = small(regime="hybrid", steps=1, seed=2, ngos={"initial_staff": 0.0,
                                                       "initial_per_community": 5.0},
              institutions={"ngo_grants": {"per_household": 40.0}})
    assert len(m.ngos) > 0
    assert all(n.staff == 0.0 for n in m.ngos)
    assert _grants(m).sum() == pytest.approx(40.0 * m.government.counted_households.sum())
    m.step()
    assert m.ledger.totals["ngo_grants"] == pytest.approx(_grants(m).sum())


def test_zero_staff_ngos_do_not_poison_the_ledger():
    m = small(regime="hybrid", steps=40, seed=2, ngos={"initial_staff": 0.0,
                                                        "initial_per_community": 5.0},
              institutions={"ngo_grants": {"per_household": 40.0}}).run()
    assert np.isfinite(m.ledger.balance).all()
    m.ledger.check()
    assert math.isfinite(m.summary()["fiscal_spending"])


def test_ngo_contracts_are_the_contract_share_of_all_planned_spending():
    m = small(regime="hybrid", steps=1, pilots={"ngo_outsourcing": True, "grid_management": True},
              population={"households": 300})
    g = m.government
    assert g.extra_staff  # payroll staff are part of the government's planned spending
    share = m.scenario.pilots.contract_share
    contracts = float(g.contract_budget.sum())
    assert contracts / (contracts + g.planned_yearly_spending()) == pytest.approx(share)
