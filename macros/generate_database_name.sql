{#- The public marts (access: public, the BI contract) go to the DuckDB file a
    target attaches as `bi` (profiles.yml, target dev), which the publish step
    copies byte for byte; every other relation, and every relation of a target
    without that file (spark, published), gets dbt's own database name (on Spark
    none: returned as a value, not rendered as text). -#}
{% macro generate_database_name(custom_database_name=none, node=none) -%}
    {%- set attached = (target.get('attach') or [])
        | selectattr('alias', 'equalto', 'bi') | list -%}
    {%- if attached and node is not none
        and node.resource_type == 'model' and node.access == 'public' -%}
        {% do return('bi') %}
    {%- endif -%}
    {% do return(adapter.dispatch('generate_database_name', 'dbt')(custom_database_name, node)) %}
{%- endmacro %}
