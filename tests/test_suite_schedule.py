"""How ``make test`` spreads the suite over its workers (``-n auto --dist loadgroup``)."""

import pytest


@pytest.mark.xdist_group("schedule-probe")
def test_the_xdist_group_reaches_the_node_id_the_scheduler_reads(request):
    # the scheduler groups tests by the text after "@" in their node ids, nothing else: without it the tests of
    # one release are spread over the workers, which then wait on each other's builds and build some twice
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("only under pytest-xdist with --dist loadgroup (make test)")
    assert request.node.nodeid.endswith("@schedule-probe"), request.node.nodeid
