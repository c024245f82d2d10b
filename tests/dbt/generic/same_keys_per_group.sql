{#- Every group of this model holds each key of `parent` exactly once: per
    group, the row count and the sum of the keys' hashes (a checksum of the key
    set) equal the parent's. With the key unique in the parent, this is the
    (key, group) primary key of an unpivot, checked in one streaming pass over
    the model with one aggregate per group, instead of a group-by on every
    (key, group) pair (70 million pairs for 10 million sessions). A key the
    parent does not have changes its group's count or checksum, so the test
    also stands for a relationships test of the key to the parent (a different
    key set of the same size has the same 64-bit checksum with a chance of
    about 2^-64). A `where` config filters the parent alike.

    With `groups` (a model) and `groups_column` (its column of group values,
    by default `group_by`), the groups are those of `groups`: a group the model
    has and `groups` has not is an unknown group (a relationships test of
    `group_by` to `groups`, in the same pass), and a group of `groups` the
    model lacks while the parent has keys is a missing group.

    Fails with one row per group that differs: group_key, key_rows,
    parent_key_rows and problem (keys differ, unknown group, missing
    group). -#}
{% test same_keys_per_group(
    model, column_name, group_by, parent, parent_column=none, groups=none, groups_column=none
) %}
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
),

{% if groups is not none %}
    expected_groups as (
        select distinct {{ groups_column or group_by }} as group_key
        from {{ groups }}
    ),

    compared as (
        select
            coalesce(model_groups.group_key, expected_groups.group_key) as group_key,
            coalesce(model_groups.key_rows, 0) as key_rows,
            coalesce(model_groups.key_checksum, 0) as key_checksum,
            expected_groups.group_key is not null as is_expected,
            model_groups.group_key is not null as is_present
        from model_groups
        full outer join expected_groups
            on model_groups.group_key = expected_groups.group_key
    ),
{% else %}
    compared as (
        select
            group_key,
            key_rows,
            key_checksum,
            true as is_expected,
            true as is_present
        from model_groups
    ),
{% endif %}

final as (
    select
        compared.group_key,
        compared.key_rows,
        parent_keys.key_rows as parent_key_rows,
        case
            when not compared.is_expected then 'unknown group'
            when not compared.is_present then 'missing group'
            else 'keys differ'
        end as problem
    from compared
    cross join parent_keys
    where not compared.is_expected
        or compared.key_rows <> parent_keys.key_rows
        or compared.key_checksum <> parent_keys.key_checksum
)

select * from final
{% endtest %}
