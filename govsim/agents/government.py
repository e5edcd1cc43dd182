"""Government: street office and district departments.

Staffs and funds communities under its funding rule (registered or resident population),
pushes administrative tasks down to committees (with their budget when "power and money
follow the task"), pays grid workers when grid management is on, buys services from NGOs
(contracts) and gives grants, funds participatory budgets, and handles escalated cases.
All its money moves through the ledger.
"""

from __future__ import annotations

import mesa
import numpy as np

from govsim.agents.committee import STAFF_HOURS
from govsim.finance import is_month_start
from govsim.regimes import DISTRICT, HOURS_PER_CASE, STREET, FundingRule, operating_fund

STREET_CASE_SHARE = 0.5  # share of street-office staff time spent on community cases
DISTRICT_CASE_SHARE = 0.25  # share of district department staff time spent on community cases
GRID_CASE_SHARE = 0.4  # share of grid workers' time spent handling cases (the rest screens)


class Government(mesa.Agent):
    """The street office(s) and district departments of the simulated area."""

    def __init__(self, model: mesa.Model):
        super().__init__(model)
        sc = model.scenario
        g = sc.government
        s = model.structure
        inst = model.institutions
        data = inst.data
        self.params = g
        self.rule = FundingRule(g.funding_rule)
        self.counted_people = self.rule.counted(s.community_people().astype(float),
                                                s.community_registered().astype(float))
        self.counted_households = self.rule.counted(s.community_households.astype(float),
                                                    s.community_registered_households().astype(float))
        outsourcing = inst.has("ngo_outsourcing")
        task_share = sc.pilots.outsourced_task_share if outsourcing else 0.0
        self.workers = self.counted_people / g.people_per_worker
        # De-administration removes temporary staff; contracts replace them.
        self.assistants = np.zeros_like(self.workers) if outsourcing else self.counted_people * g.assistants_per_10k / 1e4
        self.dispatched = np.full_like(self.workers, data.dispatched_staff_per_community * (1.0 - task_share))
        self.admin_hours_total = g.task_types * data.admin_pushdown * g.admin_hours_per_task_type
        self.admin_hours = self.admin_hours_total * (1.0 - task_share)  # stays with the committee
        self.outsourced_admin_hours = self.admin_hours_total * task_share  # done by the contracted NGO
        self.street_of = np.arange(s.n_communities) // g.communities_per_street
        n_streets = int(self.street_of.max()) + 1
        street_people = np.bincount(self.street_of, weights=self.counted_people, minlength=n_streets)
        self.street_staff = street_people * data.street_staff_per_10k / 1e4
        self.district_staff = float(self.counted_people.sum()) * data.district_staff_per_10k / 1e4
        self.grid_workers = s.n_grids * sc.pilots.grid_staff_per_grid if inst.has("grid_management") else 0.0
        self.operating_funds = operating_fund(self.counted_households, g.operating_fund_tiers)
        self.grants = self.counted_households * data.ngo_grant_per_household
        self.budget_funds = (
            self.counted_households * sc.pilots.budget_per_household
            if inst.has("participatory_budget") else np.zeros(s.n_communities)
        )
        self.contract_budget = np.zeros(s.n_communities)  # yuan/year per community, set below
        if outsourcing and sc.pilots.contract_share > 0:
            fixed = self.planned_yearly_spending()
            total = sc.pilots.contract_share / (1.0 - sc.pilots.contract_share) * fixed
            self.contract_budget = total * self.counted_people / max(self.counted_people.sum(), 1e-9)
        self.account = model.ledger.index["government"]

    # ------------------------------------------------------------------ staffing
    def staff_committees(self, committees) -> None:
        delegated = self.params.power_and_money_follow_task
        for c, com in enumerate(committees):
            com.workers = float(self.workers[c])
            com.assistants = float(self.assistants[c])
            com.dispatched = float(self.dispatched[c])
            com.admin_hours = float(self.admin_hours)
            com.delegated_hours = float(self.admin_hours) if delegated else 0.0

    def street_capacity(self) -> np.ndarray:
        return self.street_staff * STAFF_HOURS * STREET_CASE_SHARE / HOURS_PER_CASE[STREET]

    def district_capacity(self) -> float:
        return self.district_staff * STAFF_HOURS * DISTRICT_CASE_SHARE / HOURS_PER_CASE[DISTRICT]

    def grid_capacity(self, n_grids: int) -> np.ndarray:
        if not self.grid_workers:
            return np.zeros(n_grids)
        per_grid = self.grid_workers / max(n_grids, 1)
        return np.full(n_grids, per_grid * STAFF_HOURS * GRID_CASE_SHARE / HOURS_PER_CASE[1])

    def grid_screening(self) -> float:
        """Daily chance a grid finds a pending case: the scenario's screening intensity for a
        field-pilot grid (3 staff, 364 households), more with more staff, less per household
        in bigger grids."""
        p = self.model.scenario.pilots
        return float(min(1.0, p.grid_screening * (p.grid_staff_per_grid / 3.0) * (364.0 / p.households_per_grid)))

    # ------------------------------------------------------------------ money
    def daily_wages(self) -> dict[str, float]:
        g = self.params
        m = self.model
        delegated = sum(c.delegated_hours for c in m.committees) / STAFF_HOURS
        return {
            "staff_wages": float((self.workers + self.assistants).sum()) * g.worker_wage_per_day,
            "dispatched_staff": float(self.dispatched.sum()) * g.street_wage_per_day,
            "grid_workers": float(self.grid_workers) * g.grid_wage_per_day,
            # Only the share of street and district staff time spent on community cases.
            "street_staff": (float(self.street_staff.sum()) * STREET_CASE_SHARE
                             + self.district_staff * DISTRICT_CASE_SHARE) * g.street_wage_per_day,
            "delegated_task_funds": delegated * g.worker_wage_per_day,
        }

    def planned_yearly_spending(self) -> float:
        g = self.params
        wages = float((self.workers + self.assistants).sum()) * g.worker_wage_per_day + (
            float(self.dispatched.sum())
            + float(self.street_staff.sum()) * STREET_CASE_SHARE + self.district_staff * DISTRICT_CASE_SHARE
        ) * g.street_wage_per_day + float(self.grid_workers) * g.grid_wage_per_day
        return 365.0 * wages + float(self.operating_funds.sum())

    def pay(self, amount: float, payee: int | np.ndarray, category: str) -> np.ndarray:
        """Pay from the government account; the treasury appropriates what is needed."""
        ledger = self.model.ledger
        total = float(np.sum(amount))
        short = total - ledger.balance[self.account]
        if short > 0:
            ledger.transfer(ledger.index["treasury"], self.account, short, "appropriation", allow_overdraft=True)
        return ledger.transfer(self.account, payee, amount, category)

    def step_day(self, day: int) -> None:
        """Daily wages; yearly funds and grants; monthly contracts."""
        m = self.model
        labour = m.ledger.index["labour"]
        for category, amount in self.daily_wages().items():
            if amount > 0:
                self.pay(amount, labour, category)
        if day % 365 == 0:
            accts = np.array([c.account for c in m.committees])
            self.pay(self.operating_funds, accts, "operating_funds")
            if self.budget_funds.any():
                self.pay(self.budget_funds, m.fund_accounts, "participatory_budget")
            self._to_ngos(self.grants, "ngo_grants", "grant_income")
        if is_month_start(day) and self.contract_budget.any():
            self._to_ngos(self.contract_budget / 12.0, "ngo_contracts", "contract_income")

    def _to_ngos(self, per_community: np.ndarray, category: str, attr: str) -> None:
        m = self.model
        for c, ngos in m.ngos_by_community.items():
            if not ngos or per_community[c] <= 0:
                continue
            staff = np.array([n.staff for n in ngos])
            weights = staff / staff.sum() if staff.sum() > 0 else np.full(len(ngos), 1.0 / len(ngos))
            share = per_community[c] * weights
            paid = self.pay(share, np.array([n.account for n in ngos]), category)
            for n, amt in zip(ngos, paid, strict=True):
                setattr(n, attr, getattr(n, attr) + float(amt))
                if category == "ngo_contracts":
                    n.income_month += float(amt)
                else:  # yearly grants are spread over the year's months
                    n.grant_monthly = float(amt) / 12.0

    def case_operations(self, street_cases: int, district_cases: int) -> None:
        g = self.params
        ops = self.model.ledger.index["operations"]
        cost = street_cases * g.street_case_cost + district_cases * g.district_case_cost
        if cost > 0:
            self.pay(cost, ops, "case_operations")

    def __repr__(self) -> str:
        return (f"Government(rule={self.rule.basis}, workers={self.workers.sum():.0f}, "
                f"street_staff={self.street_staff.sum():.0f}, grid_workers={self.grid_workers:.0f})")
