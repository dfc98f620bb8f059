"""A wallet's entries read side by side on the embedded default, where SQLite takes no
LIMIT inside a UNION and the sides are merged in Python instead
(`WalletEntries._newest_keys`): the same checks as on PostgreSQL."""

import pytest

from tests.escrow.test_wallet_entries import (  # noqa: F401 (the fixture, by name)
    busy_buyer,
    test_balances_before_any_entry_add_up_to_the_statement,
    test_every_entry_once_in_order_on_every_page,
)

pytestmark = [pytest.mark.embedded, pytest.mark.django_db]
