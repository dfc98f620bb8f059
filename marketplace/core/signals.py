"""Events the core domain announces to the apps above it, which it must not import.

All are sent inside the transaction of the change they describe, so a receiver's writes
commit or roll back with it, and a receiver may refuse the change by raising a
`DomainError` (sent with `send`, not `send_robust`).

- `user_registered(user)`: a new account; escrow opens its wallet.
- `group_created(group)`: a new group; escrow opens its group wallet.
- `group_deleting(group)`: the leader deletes the group (its row is locked); escrow
  refuses while money is held or has moved for it, and removes its empty wallet.
- `member_left(group, user)`: proposals unassign the member's open tasks.
"""

from django.dispatch import Signal

user_registered = Signal()
group_created = Signal()
group_deleting = Signal()
member_left = Signal()
