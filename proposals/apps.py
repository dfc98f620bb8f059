from django.apps import AppConfig


class ProposalsConfig(AppConfig):
    name = "proposals"
    verbose_name = "Proposals and tasks"

    def ready(self):
        from escrow.reconcile import register_check
        from marketplace.signals import member_left

        from .invariants import proposal_escrow_problems
        from .task_services import unassign_tasks_of_leaving_member

        register_check(proposal_escrow_problems)
        member_left.connect(
            unassign_tasks_of_leaving_member,
            dispatch_uid="proposals.unassign_tasks_of_leaving_member",
        )
