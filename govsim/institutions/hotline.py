"""Government hotline (12345-style): residents call government instead of the community.

A resident who trusts government more than the community calls the hotline; the call lands
on the desk of the chain's first street/district level, so the case leaves the community
at once. Complaints counted by government appraisal include hotline calls.
"""

from __future__ import annotations

from govsim.institutions.base import Institution
from govsim.population import sigmoid


class Hotline(Institution):
    name = "hotline"
    label = "Government hotline"
    label_zh = "政务服务热线（12345）"
    per_community = True  # the model passes it only the cases of communities where it is on

    def arrival(self, new) -> None:
        m = self.m
        pop, book = m.population, m.cases
        r = book.resident[new]
        tilt = pop.w.trust * (pop.trust_gov[r] - pop.trust_comm[r])
        sev = 0.3 * book.severity[new]
        book.p_hotline[new] = sigmoid(pop.logit(r, m.scenario.cases.hotline_report_base) + tilt + sev)
