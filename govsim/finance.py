"""Money: a double-entry ledger through which every yuan moves.

Accounts are rows of a balance array: ``treasury`` (the source of public money, goes
negative as it appropriates), ``donors`` (source of donations), ``residents`` (source of
the dues and fees households pay), the ``government``,
each community's ``committee`` and participatory-budget ``fund``, each NGO, and the
sinks ``labour`` (wages), ``operations`` (case-handling costs of departments) and
``suppliers`` (goods and projects bought). A transfer debits the payer and credits the
payee by the same amount, so the sum of all balances is always zero: conservation is a
one-line test. Payers never go below zero: what they cannot pay is not paid (and is
recorded as a shortfall).
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

SOURCES = ("treasury", "donors", "residents")
SINKS = ("labour", "operations", "suppliers")
# Spending categories reported as costs.
CATEGORIES = (
    "appropriation",
    "donation",
    "staff_wages",
    "dispatched_staff",
    "grid_workers",
    "street_staff",
    "operating_funds",
    "delegated_task_funds",
    "ngo_contracts",
    "ngo_grants",
    "participatory_budget",
    "case_operations",
    "incident_response",
    "committee_spending",
    "ngo_wages",
    "projects",
    "resident_dues",
    "company_fees",
    "company_wages",
    "association_dues",
    "association_grants",
    "association_spending",
    "government_programmes",
    "drills",
    "performance_pay",
    "helper_wages",
    "board_fixes",
    "centre_staff",
    "dispatched_staff",
    "grid_workers",
)


# Twelve payment days a year (0, 30, 60, 91, ...): monthly payments happen 12 times in 365 days.
MONTH_STARTS = frozenset(int(k * 365 / 12) for k in range(12))


def is_month_start(day: int) -> bool:
    return day % 365 in MONTH_STARTS


class Ledger:
    """Balances of all accounts and the totals moved per spending category."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.index: dict[str, int] = {}
        self.balance = np.zeros(0)
        self.totals: dict[str, float] = defaultdict(float)
        self.paid_by: dict[tuple[str, str], float] = defaultdict(float)  # (payer kind, category)
        self.shortfall = 0.0
        self.kinds: list[str] = []  # account kind ("committee", "ngo", ...) by account id
        for name in (*SOURCES, "government", *SINKS):
            self.open(name)
        self._sources = frozenset(self.index[s] for s in SOURCES)

    def open(self, name: str) -> int:
        if name in self.index:
            return self.index[name]
        self.index[name] = len(self.names)
        self.names.append(name)
        self.kinds.append(name.split(":", 1)[0])
        self.balance = np.append(self.balance, 0.0)
        return self.index[name]

    def open_many(self, prefix: str, n: int) -> np.ndarray:
        return np.array([self.open(f"{prefix}:{i}") for i in range(n)], dtype=np.int64)

    def __getitem__(self, name: str) -> float:
        return float(self.balance[self.index[name]])

    def transfer(self, payer, payee, amount, category: str, allow_overdraft: bool = False) -> np.ndarray:
        """Move ``amount`` from ``payer`` to ``payee`` (scalars or arrays of account ids).

        Returns the amounts actually paid. Sources (treasury, donors) may overdraw.
        """
        if isinstance(payer, (int, np.integer)) and isinstance(payee, (int, np.integer)) and isinstance(
            amount, (int, float, np.integer, np.floating)
        ):
            return self._transfer_one(int(payer), int(payee), float(amount), category, allow_overdraft)
        payer = np.atleast_1d(np.asarray(payer, dtype=np.int64))
        payee = np.atleast_1d(np.asarray(payee, dtype=np.int64))
        amount = np.atleast_1d(np.asarray(amount, dtype=float))
        if not payer.shape == payee.shape == amount.shape:
            n = max(len(payer), len(payee), len(amount))
            if payer.ndim == payee.ndim == amount.ndim == 1 and all(len(a) in (1, n) for a in (payer, payee, amount)):
                # A scalar side repeated into an array of its own (np.broadcast_arrays is slow to
                # call, and np.add.at is several times slower on its stride-0 views).
                payer, payee, amount = (a if len(a) == n else np.full(n, a[0]) for a in (payer, payee, amount))
            else:
                payer, payee, amount = np.broadcast_arrays(payer, payee, amount)
        if not np.isfinite(amount).all() or (amount < 0).any():
            raise ValueError(f"transfer amounts must be finite and >= 0 ({category})")
        amount = amount.copy()
        if len(payer) < 2 or (payer[1:] > payer[:-1]).all():
            return self._transfer_sorted(payer, payee, amount, category, allow_overdraft)
        return self._transfer_general(payer, payee, amount, category, allow_overdraft)

    def _transfer_general(self, payer: np.ndarray, payee: np.ndarray, amount: np.ndarray, category: str,
                          allow_overdraft: bool) -> np.ndarray:
        """The array case of :meth:`transfer` (arrays of one shape; ``amount`` its own copy)."""
        # Payers sorted (stable), and where each payer's run starts: the balance limits below
        # and the per-payer totals (the ids and inverse of np.unique(payer)) both use them.
        order = np.argsort(payer, kind="stable")
        p_sorted = payer[order]
        first = np.empty(len(payer), dtype=bool)
        first[:1] = True
        np.not_equal(p_sorted[1:], p_sorted[:-1], out=first[1:])
        if not allow_overdraft:
            src = self._from_source(payer)
            # Pay in order; each payer limited to its balance.
            a_sorted = amount[order]
            cum = np.cumsum(a_sorted)
            start = np.maximum.accumulate(np.where(first, np.arange(len(cum)), 0))
            before = cum - a_sorted - np.where(start > 0, cum[start - 1], 0.0)
            avail = np.maximum(self.balance[p_sorted] - before, 0.0)
            paid_sorted = np.where(src[order], a_sorted, np.minimum(a_sorted, avail))
            paid = np.empty_like(amount)
            paid[order] = paid_sorted
            self.shortfall += float((amount - paid).sum())
            amount = paid
        self._move(payer, payee, amount, category)
        if len(payer):
            ids = p_sorted[first]  # = np.unique(payer, return_inverse=True)
            inv = np.empty(len(payer), dtype=np.intp)
            inv[order] = np.cumsum(first) - 1
            kinds = self.kinds
            for k, v in zip(ids.tolist(), np.bincount(inv, weights=amount).tolist(), strict=True):
                self.paid_by[(kinds[k], category)] += v
        return amount

    def _from_source(self, payer: np.ndarray) -> np.ndarray:
        """Which payers are sources (may overdraw): the same mask as np.isin(payer, sources)."""
        src = np.zeros(len(payer), dtype=bool)
        for s in self._sources:
            src |= payer == s
        return src

    def _move(self, payer: np.ndarray, payee: np.ndarray, amount: np.ndarray, category: str) -> None:
        """Debit the payers, credit the payees, add the amounts to the category's total."""
        np.subtract.at(self.balance, payer, amount)
        np.add.at(self.balance, payee, amount)
        self.totals[category] += float(amount.sum())

    def _transfer_sorted(self, payer: np.ndarray, payee: np.ndarray, amount: np.ndarray, category: str,
                         allow_overdraft: bool) -> np.ndarray:
        """The array case of :meth:`transfer` where every payer pays once, in account order (NGO
        wages, committees' funds): the same operations with nothing to sort or group (the
        general case's order is the identity, every payer starts its own run)."""
        if not allow_overdraft:
            src = self._from_source(payer)
            cum = np.cumsum(amount)
            prev = np.empty_like(cum)  # the cumulative sum before each payer's run: 0, cum[:-1]
            prev[:1] = 0.0
            prev[1:] = cum[:-1]
            before = cum - amount - prev
            avail = np.maximum(self.balance[payer] - before, 0.0)
            paid = np.where(src, amount, np.minimum(amount, avail))
            self.shortfall += float((amount - paid).sum())
            amount = paid
        self._move(payer, payee, amount, category)
        # Per payer: its one amount, as a bincount adds it (0.0 + amount), to its kind's total
        # in turn.
        self._add_paid_by(payer.tolist(), (amount + 0.0).tolist(), category)
        return amount

    def _add_paid_by(self, payers: list[int], amounts: list[float], category: str) -> None:
        """``paid_by[(kind of payers[k], category)] += amounts[k]`` for k = 0, 1, ... in turn
        (payers of one kind, as all NGOs or all committees: one running sum)."""
        kinds = {self.kinds[k] for k in payers}
        if len(kinds) == 1:
            key = (kinds.pop(), category)
            spent = self.paid_by[key]
            for v in amounts:
                spent += v
            self.paid_by[key] = spent
        else:
            for k, v in zip(payers, amounts, strict=True):
                self.paid_by[(self.kinds[k], category)] += v

    def _transfer_one(self, payer: int, payee: int, amount: float, category: str,
                      allow_overdraft: bool) -> np.ndarray:
        """The scalar case of :meth:`transfer` (most daily payments), without array overhead."""
        return np.array([self.transfer_scalar(payer, payee, amount, category, allow_overdraft)])

    def transfer_scalar(self, payer: int, payee: int, amount: float, category: str,
                        allow_overdraft: bool = False) -> float:
        """:meth:`transfer` of one Python ``float`` between two ``int`` accounts; returns the
        amount paid as a float (for daily loops that need no array)."""
        if not math.isfinite(amount) or amount < 0:
            raise ValueError(f"transfer amounts must be finite and >= 0 ({category})")
        paid = amount
        if not allow_overdraft and payer not in self._sources:
            paid = min(amount, max(float(self.balance[payer]), 0.0))
            self.shortfall += amount - paid
        self.balance[payer] -= paid
        self.balance[payee] += paid
        self.totals[category] += paid
        self.paid_by[(self.kinds[payer], category)] += paid
        return paid

    def transfer_each(self, payers: np.ndarray, payee: int, amounts: np.ndarray, category: str) -> np.ndarray:
        """``transfer_scalar(payers[k], payee, amounts[k], category)`` for k = 0, 1, ... in
        turn, vectorised over the payers (which must all differ, none a source): the same
        amounts paid and the same balances and totals bit for bit (the payee's balance, the
        category total and the payers' kinds' totals take each payment in turn, as the loop
        does). Returns the amounts paid."""
        amounts = np.asarray(amounts, dtype=float)
        if len(amounts) == 0:
            return amounts
        if not np.isfinite(amounts).all() or (amounts < 0).any():
            raise ValueError(f"transfer amounts must be finite and >= 0 ({category})")
        payers = np.asarray(payers, dtype=np.int64)
        ids = payers.tolist()
        if len(set(ids)) < len(ids) or self._sources.intersection(ids) or payee in ids:
            raise ValueError(f"transfer_each: payers must differ, and be neither a source nor the payee ({category})")
        bal = self.balance
        paid = np.minimum(amounts, np.maximum(bal[payers], 0.0))  # min(amount, max(balance, 0.0))
        for short in (amounts - paid)[paid != amounts].tolist():
            self.shortfall += short
        bal[payers] -= paid  # distinct payers: one subtraction each
        # Running sums, each taking the payments in turn: the payee's balance, the category's
        # total and the payers' kinds' totals.
        received = float(bal[payee])
        total = self.totals[category]
        amounts_paid = paid.tolist()
        for p in amounts_paid:
            received += p
            total += p
        self._add_paid_by(ids, amounts_paid, category)
        bal[payee] = received
        self.totals[category] = total
        return paid

    def spent_by(self, kind: str, exclude: tuple[str, ...] = ()) -> float:
        return sum(v for (k, c), v in self.paid_by.items() if k == kind and c not in exclude)

    def check(self) -> None:
        """Raise if money was created or destroyed, or a non-source account is negative."""
        if not np.isfinite(self.balance).all():
            raise AssertionError("ledger holds a non-finite balance")
        total = float(self.balance.sum())
        if abs(total) > 1e-6 * max(1.0, float(np.abs(self.balance).sum())):
            raise AssertionError(f"ledger not conserved: sum of balances = {total}")
        neg = [
            self.names[i]
            for i in np.flatnonzero(self.balance < -1e-6)
            if self.names[i].split(":")[0] not in SOURCES
        ]
        if neg:
            raise AssertionError(f"negative balance in {neg[:3]}")
