{#- Loading file versions into int_records_loaded: which ones, and finishing the load. -#}

{#- The ids of the file versions this build loads: on a full build every file
    version of the current input; on an incremental build the current ones
    not completely loaded yet. Asked at compile time (the ids become
    constants, so the engine reads only those files); an empty list before
    ingest has created the raw layer. -#}
{% macro xdr_pending_file_ids() %}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set files = source('xdr', 'files') -%}
    {%- if adapter.get_relation(files.database, files.schema, files.identifier) is none -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set query -%}
        select file_id from {{ files }}
        where is_current
        {%- if is_incremental() %}
            and file_id not in (
                select distinct file_id from {{ this }} where record_number is not null
            )
        {%- endif %}
        order by file_id
    {%- endset -%}
    {{ return(run_query(query).columns[0].values() | map('int') | list) }}
{% endmacro %}

{#- Pre-hook: rows an interrupted load left without record numbers go, so
    their files load again (xdr_pending_file_ids). -#}
{% macro xdr_delete_unfinished_load() %}
    {{ return(adapter.dispatch('xdr_delete_unfinished_load', 'xdr_warehouse')()) }}
{% endmacro %}
{% macro default__xdr_delete_unfinished_load() %}
    {%- if is_incremental() -%}
        delete from {{ this }} where record_number is null
    {%- else -%}
        select 1
    {%- endif -%}
{% endmacro %}
{% macro spark__xdr_delete_unfinished_load() %}
    select 1
{% endmacro %}

{#- Post-hook, after the insert committed (DuckDB):
    1. the lines this build inserted (record_number NULL) are numbered per file
       in row-id order: the insert keeps the reader's order
       (preserve_insertion_order, profiles.yml), so a file's lines are stored
       in its line order and contiguously; the numbering fails the build if
       they are not contiguous. Header = line 1, so line = record + 1.
    2. lines the pre-scan noted get what it found: a line too long to read is
       malformed_line with its length and first bytes; a re-encoded line is
       flagged text_reencoded.
    Numbering in the insert itself (row_number() over ()) would run the whole
    read on one thread. -#}
{% macro xdr_finish_load() %}
    {{ return(adapter.dispatch('xdr_finish_load', 'xdr_warehouse')()) }}
{% endmacro %}
{% macro spark__xdr_finish_load() %}
    select 1
{% endmacro %}
{% macro duckdb__xdr_finish_load() %}
    {%- if not execute -%}
        {{ return("select 1") }}
    {%- endif -%}
    begin transaction;
    create temporary table xdr_new_lines as
    select
        file_id,
        min(rowid) as first_row_id,
        count(*) = max(rowid) - min(rowid) + 1 as is_contiguous
    from {{ this }}
    where record_number is null
    group by file_id;
    select error('lines of file ' || file_id || ' were not stored contiguously; load again')
    from xdr_new_lines
    where not is_contiguous;
    update {{ this }} as records
    set
        record_number = records.rowid - new_lines.first_row_id + 1,
        line_number = records.rowid - new_lines.first_row_id + 2
    from xdr_new_lines as new_lines
    where records.file_id = new_lines.file_id
        and records.record_number is null;
    update {{ this }} as records
    set
        quarantine_detail = notes.detail,
        raw_line = notes.raw_text
    from {{ source('xdr', 'line_notes') }} as notes
    where records.file_id = notes.file_id
        and records.line_number = notes.line_number
        and notes.note = 'line_too_long'
        and records.file_id in (select file_id from xdr_new_lines);
    update {{ this }} as records
    set is_text_reencoded = true
    from {{ source('xdr', 'line_notes') }} as notes
    where records.file_id = notes.file_id
        and records.line_number = notes.line_number
        and notes.note = 'text_reencoded'
        and records.file_id in (select file_id from xdr_new_lines);
    drop table xdr_new_lines;
    commit
{% endmacro %}

{#- The file versions of `records` (a relation with a file_id column) that the
    incremental model being built has no row of yet, as a list of numbers, read
    when the model runs. A filter on constants lets DuckDB skip the stored
    records of every other version by their row groups' min/max; a `not in`
    subquery made it read all of them (1.2 s of 10M records to find one file). -#}
{% macro xdr_file_ids_not_in_this(records) %}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set query -%}
        select distinct file_id from {{ records }}
        where file_id not in (select file_id from {{ this }})
        order by file_id
    {%- endset -%}
    {{ return(run_query(query).columns[0].values() | map('int') | list) }}
{% endmacro %}
