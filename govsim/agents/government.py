"""Government: street office and district departments.

Staffs and funds communities under its funding rule (registered or resident population),
pushes administrative tasks down to committees (with their budget when "power and money
follow the task"), pays the staff institutions put on its payroll (grid workers, dispatched
agencies, centre staff), pays operating funds quarterly at each community's funding-tier
factor, and handles escalated cases. Institutions set its policies (outsourcing) and use
its purse (grants, contracts, programmes). All its money moves through the ledger.
"""

from __future__ import annotations

import mesa
import numpy as np

from govsim.agents.committee import STAFF_HOURS
from govsim.regimes import DISTRICT, HOURS_PER_CASE, STREET, FundingRule, operating_fund

QUARTER = 91
STREET_CASE_SHARE = 0.5  # share of street-office staff time spent on community cases
DISTRICT_CASE_SHARE = 0.25  # share of district department staff time spent on community cases


class Government(mesa.Agent):
    """The street office(s) and district departments of the simulated area."""

    def __init__(self, model: mesa.Model):
        super().__init__(model)
        sc = model.scenario
        g = sc.government
        s = model.structure
        data = model.institutions.data
        self.params = g
        self.rule = FundingRule(g.funding_rule)
        self.counted_people = self.rule.counted(s.community_people().astype(float),
                                                s.community_registered().astype(float))
        self.counted_households = self.rule.counted(s.community_households.astype(float),
                                                    s.community_registered_households().astype(float))
        self.workers = self.counted_people / g.people_per_worker
        self.assistants = self.counted_people * g.assistants_per_10k / 1e4
        self.base_assistants = self.assistants.copy()  # before any outsourcing lets them go
        self.admin_hours_total = g.task_types * data.admin_pushdown * g.admin_hours_per_task_type
        self.admin_hours = self.admin_hours_total  # stays with the committee
        self.outsourced_admin_hours = 0.0  # done by a contracted NGO (NGO outsourcing)
        self.outsourced_share = 0.0
        self.street_of = np.arange(s.n_communities) // g.communities_per_street
        n_streets = int(self.street_of.max()) + 1
        street_people = np.bincount(self.street_of, weights=self.counted_people, minlength=n_streets)
        self.street_staff = street_people * data.street_staff_per_10k / 1e4
        self.district_staff = float(self.counted_people.sum()) * data.district_staff_per_10k / 1e4
        self.operating_funds = operating_fund(self.counted_households, g.operating_fund_tiers)
        self.contract_budget = np.zeros(s.n_communities)  # yuan/year per community (outsourcing)
        self.extra_staff: dict[str, tuple[float, float]] = {}  # category -> (staff, wage/day)
        self.account = model.ledger.index["government"]

    # ------------------------------------------------------------------ policies set by institutions
    def outsource(self, task_share: float) -> None:
        """De-administration: a share of the push-down (and of dispatched staff) goes to a
        contracted NGO; temporary staff are let go."""
        self.outsourced_share = task_share
        self.assistants = np.zeros_like(self.workers)
        self.admin_hours = self.admin_hours_total * (1.0 - task_share)
        self.outsourced_admin_hours = self.admin_hours_total * task_share

    def outsource_in(self, task_share: float, on: np.ndarray, committees) -> None:
        """De-administration in the communities ``on`` only (a timeline switched NGO
        outsourcing there): their temporary staff go and their push-down share goes to the
        contracted NGO; the other communities keep (or get back) their own."""
        share = np.where(on, task_share, 0.0)
        self.outsourced_share = share
        self.assistants = np.where(on, 0.0, self.base_assistants)
        self.admin_hours = self.admin_hours_total * (1.0 - share)
        self.outsourced_admin_hours = self.admin_hours_total * share
        delegated = self.params.power_and_money_follow_task
        for c, com in enumerate(committees):
            com.assistants = float(self.assistants[c])
            com.admin_hours = float(self.admin_hours[c])
            com.delegated_hours = com.admin_hours if delegated else 0.0

    def set_contract_share(self, contract_share: float) -> None:
        """Contracts take ``contract_share`` of all planned spending (call once every
        institution has put its staff on the payroll)."""
        if contract_share > 0:
            fixed = self.planned_yearly_spending()
            total = contract_share / (1.0 - contract_share) * fixed
            self.contract_budget = total * self.counted_people / max(self.counted_people.sum(), 1e-9)

    def add_staff_cost(self, category: str, staff: float, wage_per_day: float) -> None:
        """Staff an institution employs on the government's payroll (paid daily)."""
        self.extra_staff[category] = (float(staff), float(wage_per_day))

    # ------------------------------------------------------------------ staffing
    def restaff(self, data, committees) -> None:
        """A regime switch mid-run: street and district staff per 10k people and the
        administrative push-down follow the new regime data (the payroll from the next day's
        wages on); committees get the new push-down."""
        g = self.params
        n_streets = int(self.street_of.max()) + 1
        street_people = np.bincount(self.street_of, weights=self.counted_people, minlength=n_streets)
        self.street_staff = street_people * data.street_staff_per_10k / 1e4
        self.district_staff = float(self.counted_people.sum()) * data.district_staff_per_10k / 1e4
        self.admin_hours_total = g.task_types * data.admin_pushdown * g.admin_hours_per_task_type
        self.admin_hours = self.admin_hours_total * (1.0 - self.outsourced_share)
        self.outsourced_admin_hours = self.admin_hours_total * self.outsourced_share
        delegated = self.params.power_and_money_follow_task
        for c, com in enumerate(committees):
            com.admin_hours = float(self.admin_hours_in(c))
            com.delegated_hours = com.admin_hours if delegated else 0.0

    def admin_hours_in(self, c: int) -> float:
        """Push-down hours that stay with community ``c``'s committee."""
        return self.admin_hours[c] if np.ndim(self.admin_hours) else self.admin_hours

    def staff_committees(self, committees) -> None:
        delegated = self.params.power_and_money_follow_task
        for c, com in enumerate(committees):
            com.workers = float(self.workers[c])
            com.assistants = float(self.assistants[c])
            com.admin_hours = float(self.admin_hours)
            com.delegated_hours = float(self.admin_hours) if delegated else 0.0

    def street_capacity(self) -> np.ndarray:
        return self.street_staff * STAFF_HOURS * STREET_CASE_SHARE / HOURS_PER_CASE[STREET]

    def district_capacity(self) -> float:
        return self.district_staff * STAFF_HOURS * DISTRICT_CASE_SHARE / HOURS_PER_CASE[DISTRICT]

    # ------------------------------------------------------------------ money
    def daily_wages(self) -> dict[str, float]:
        g = self.params
        m = self.model
        delegated = sum(c.delegated_hours for c in m.committees) / STAFF_HOURS
        out = {
            "staff_wages": float((self.workers + self.assistants).sum()) * g.worker_wage_per_day,
            # Only the share of street and district staff time spent on community cases.
            "street_staff": (float(self.street_staff.sum()) * STREET_CASE_SHARE
                             + self.district_staff * DISTRICT_CASE_SHARE) * g.street_wage_per_day,
            "delegated_task_funds": delegated * g.worker_wage_per_day,
        }
        for category, (staff, wage) in self.extra_staff.items():
            out[category] = staff * wage
        return out

    def planned_yearly_spending(self) -> float:
        g = self.params
        wages = float((self.workers + self.assistants).sum()) * g.worker_wage_per_day + (
            float(self.street_staff.sum()) * STREET_CASE_SHARE + self.district_staff * DISTRICT_CASE_SHARE
        ) * g.street_wage_per_day + sum(s * w for s, w in self.extra_staff.values())
        return 365.0 * wages + float(self.operating_funds.sum())

    def pay(self, amount: float, payee: int | np.ndarray, category: str) -> np.ndarray:
        """Pay from the government account; the treasury appropriates what is needed."""
        ledger = self.model.ledger
        total = float(amount) if isinstance(amount, float | int) else float(np.sum(amount))  # (np.sum of a scalar is itself)
        short = total - ledger.balance[self.account]
        if short > 0:
            ledger.transfer(ledger.index["treasury"], self.account, short, "appropriation", allow_overdraft=True)
        return ledger.transfer(self.account, payee, amount, category)

    def step_day(self, day: int) -> None:
        """Daily wages; quarterly operating funds (at each community's funding-tier factor)."""
        m = self.model
        labour = m.ledger.index["labour"]
        for category, amount in self.daily_wages().items():
            if amount > 0:
                self.pay(amount, labour, category)
        if day % QUARTER == 0 and day % 365 < 4 * QUARTER:
            accts = np.array([c.account for c in m.committees])
            factor = np.array([c.fund_factor for c in m.committees])
            self.pay(self.operating_funds / 4.0 * factor, accts, "operating_funds")

    def to_ngos(self, per_community: np.ndarray, category: str, attr: str) -> float:
        """Pay each community's NGOs in proportion to their staff; returns the total paid."""
        m = self.model
        total = 0.0
        for c, ngos in m.ngos_by_community.items():
            if not ngos or per_community[c] <= 0:
                continue
            staff = np.array([n.staff for n in ngos])
            weights = staff / staff.sum() if staff.sum() > 0 else np.full(len(ngos), 1.0 / len(ngos))
            paid = self.pay(per_community[c] * weights, np.array([n.account for n in ngos]), category)
            for n, amt in zip(ngos, paid, strict=True):
                setattr(n, attr, getattr(n, attr) + float(amt))
                n.grant_monthly = float(amt) / 12.0
            total += float(paid.sum())
        return total

    def case_operations(self, street_cases: int, district_cases: int) -> None:
        g = self.params
        ops = self.model.ledger.index["operations"]
        cost = street_cases * g.street_case_cost + district_cases * g.district_case_cost
        if cost > 0:
            self.pay(cost, ops, "case_operations")

    def __repr__(self) -> str:
        return (f"Government(rule={self.rule.basis}, workers={self.workers.sum():.0f}, "
                f"street_staff={self.street_staff.sum():.0f}, other staff={sum(s for s, _ in self.extra_staff.values()):.0f})")
