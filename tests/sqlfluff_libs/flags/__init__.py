"""Stand-in for dbt's ``flags`` when sqlfluff renders the Jinja (an ordinary build)."""

FULL_REFRESH = False
