"""How much text people may write into each field, so no request stores (and no list,
discovery included, later carries) megabytes. Forms, API serializers and models share
these numbers; chat messages and dispute texts have theirs where they are defined."""

GROUP_DESCRIPTION_MAX_LENGTH = 2000
# Proposals, tasks and the old projects.
DESCRIPTION_MAX_LENGTH = 5000
# Discovery's filters.
SEARCH_MAX_LENGTH = 100
SKILL_MAX_LENGTH = 50
