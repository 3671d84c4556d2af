"""Racing buyers across processes' worth of connection pools: each code is sold exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from application.commands import Actor
from application.pools import SoldOut
from infrastructure.bootstrap import Container
from tests.pools.helpers import code, pool_campaign, sold_codes, upload

BUYERS_PER_CONTAINER = 6
CONTAINERS = 3


def race(containers: list[Container], actor: Actor, buyers: int) -> tuple[list[Any], list[str]]:
    """`buyers` threads spread over `containers`, released together; each buys one code."""
    gate = threading.Barrier(buyers)
    results: list[Any] = []
    failures: list[str] = []
    lock = threading.Lock()

    def buy(i: int) -> None:
        container = containers[i % len(containers)]
        gate.wait()
        try:
            outcome: Any = container.pools.sell(actor, "oishi", f"order-{i}", customer_id=f"c-{i}")
        except SoldOut as exc:
            outcome = exc
        except Exception as exc:  # anything else is a failure the test reports
            with lock:
                failures.append(f"{type(exc).__name__}: {exc}")
            return
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=buy, args=(i,)) for i in range(buyers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results, failures


def test_racing_for_the_last_codes_gives_exactly_k_sales_and_sold_out_to_the_rest(
    make_container: Callable[..., Container], admin: Actor
) -> None:
    # arrange: 30 codes, 25 sold already; 18 buyers in 3 containers race for the last 5
    containers = [make_container() for _ in range(CONTAINERS)]
    first = containers[0]
    pool_campaign(first, admin)
    upload(first, admin, [code(i) for i in range(30)])
    earlier = [c for i in range(5) for c in sold_codes(first.pools.sell(admin, "oishi", f"early-{i}",
                                                                        quantity=5))]

    # act
    results, failures = race(containers, admin, CONTAINERS * BUYERS_PER_CONTAINER)

    # assert: 5 sales of 5 distinct codes, a clear sold_out for the other 13, no code twice
    assert not failures, failures
    sales = [r for r in results if not isinstance(r, SoldOut)]
    refusals = [r for r in results if isinstance(r, SoldOut)]
    assert len(sales) == 5 and len(refusals) == 13
    assert {r.code for r in refusals} == {"sold_out"}
    every = earlier + [c for r in sales for c in sold_codes(r)]
    assert Counter(every).most_common(1)[0][1] == 1
    assert sorted(every) == sorted(code(i) for i in range(30))
