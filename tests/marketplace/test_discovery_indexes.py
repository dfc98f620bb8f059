"""Discovery reads an index, not every group: newest first, and `?search=` through the
trigram indexes (PostgreSQL). The planner is told to avoid sequential scans, as it would
on a large table, so that a small test table shows which index the query can use."""

import pytest
from django.db import connection

from marketplace.core.selectors import group_list
from tests.factories import GroupFactory

pytestmark = pytest.mark.django_db


def plan(queryset, *, bitmap_only: bool = False) -> str:
    """The plan with sequential scans priced out; with `bitmap_only` plain index scans
    too, so only an index that can answer the WHERE clause itself is worth using."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        if bitmap_only:
            cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_search_uses_the_trigram_indexes_on_name_and_description():
    GroupFactory(name="Pixel Crafters", description="Shops and brands")

    explained = plan(group_list(search="craft")[:20], bitmap_only=True)

    assert "groups_name_trgm" in explained
    assert "groups_description_trgm" in explained


def test_the_newest_first_page_reads_the_index_and_counts_members_per_row():
    for _ in range(3):
        GroupFactory()

    explained = plan(group_list()[:20])

    assert "groups_newest_first" in explained
    assert "Sort" not in explained  # the order comes from the index, page by page
    # Members are counted in a subplan, run for the page's rows only.
    outer_plan = explained.split("SubPlan")[0]
    assert "Aggregate" not in outer_plan


def test_member_counts_stay_right(django_assert_max_num_queries):
    crowded = GroupFactory(members=[GroupFactory().leader, GroupFactory().leader])

    with django_assert_max_num_queries(1):
        counts = {group.pk: group.member_count for group in group_list()}

    assert counts[crowded.pk] == 3  # the leader and two members
