{#- Every group of this model holds each key of `parent` exactly once: per
    group, the row count and the sum of the keys' hashes (a checksum of the key
    set) equal the parent's. With the key unique in the parent, this is the
    (key, group) primary key of an unpivot, checked in one streaming pass over
    the model with one aggregate per group, instead of a group-by on every
    (key, group) pair (70 million pairs for 10 million sessions). A `where`
    config filters the parent alike. Fails with one row per group that
    differs. -#}
{% test same_keys_per_group(model, column_name, group_by, parent, parent_column=none) %}
with

parent_keys as (
    select
        count(*) as key_rows,
        coalesce(sum({{ xdr_key_hash(parent_column or column_name) }}), 0) as key_checksum
    from {{ get_where_subquery(parent) }}
),

model_groups as (
    select
        {{ group_by }} as group_key,
        count(*) as key_rows,
        coalesce(sum({{ xdr_key_hash(column_name) }}), 0) as key_checksum
    from {{ model }}
    group by {{ group_by }}
)

select
    model_groups.group_key,
    model_groups.key_rows,
    parent_keys.key_rows as parent_key_rows
from model_groups
cross join parent_keys
where model_groups.key_rows <> parent_keys.key_rows
    or model_groups.key_checksum <> parent_keys.key_checksum
{% endtest %}
