{#- The level name matches the cluster id: low / medium / high for k = 3,
    level_1 .. level_k (level_1 = id 0, the lowest engagement) for any other k.
    Fails on every row with another name. -#}
{% test engagement_level_name(model, column_name, cluster_id_column, k) %}
select {{ cluster_id_column }}, {{ column_name }}
from {{ model }}
where {{ column_name }} is distinct from (
    case
        when {{ k }} = 3 then {{ xdr_list_element(
            xdr_string_list(['low', 'medium', 'high']), cluster_id_column ~ ' + 1'
        ) }}
        else 'level_' || ({{ cluster_id_column }} + 1)
    end
)
{% endtest %}
