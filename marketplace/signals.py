"""Events the core domain announces to the apps above it, which it must not import.

`member_left` is sent inside the transaction of `group_leave`, with `group` and `user`:
proposals use it to unassign the member's open tasks in that same transaction.
"""

from django.dispatch import Signal

member_left = Signal()
