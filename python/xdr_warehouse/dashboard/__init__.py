"""The interactive dashboard (Streamlit) over the published BI file.

``queries`` is the only module that holds SQL: it reads schema ``marts`` of the
published DuckDB file read-only, following BI contract v2. ``views`` draws the
pages, ``charts`` builds their Altair charts and ``app`` is the script that
``streamlit run`` starts (``make dashboard``). See docs/dashboard.md.
"""
