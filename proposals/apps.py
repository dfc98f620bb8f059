from django.apps import AppConfig


class ProposalsConfig(AppConfig):
    name = "proposals"
    verbose_name = "Proposals and tasks"

    def ready(self):
        from escrow.reconcile import register_check
        from marketplace.core.signals import member_left
        from marketplace.core.views import chat_panels

        from .invariants import proposal_escrow_problems
        from .services import unassign_tasks_of_leaving_member
        from .views import proposal_panel_context

        register_check(proposal_escrow_problems)
        chat_panels.append(proposal_panel_context)
        member_left.connect(
            unassign_tasks_of_leaving_member,
            dispatch_uid="proposals.unassign_tasks_of_leaving_member",
        )
