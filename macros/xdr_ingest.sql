{#- Reading the input files listed by stg_xdr__files (see python/xdr_warehouse/ingest.py). -#}

{#- The files this run must read: all of them on a full build; on an incremental
    build every file of the input whose current version (path + "size:mtime"
    signature) is not completely loaded yet. A version is completely loaded
    when it has staged rows and all its parsed rows are numbered: rows left
    unnumbered by an interrupted run (see xdr_finish_load) make the file load
    again. A file changed or delivered again under the same name gets a new
    signature: xdr_delete_reloaded_files() deletes all its staged rows and it is
    read again, once. -#}
{% macro xdr_files_to_load() %}
    {%- set files_relation = ref('stg_xdr__files') -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set query -%}
        select source_file, file_format, read_expression, file_signature, column_map
        from {{ files_relation }} as files
        {%- if is_incremental() %}
        where not exists (
            select 1
            from {{ this }} as staged
            where staged.source_file = files.source_file
                and staged.file_signature = files.file_signature
        )
        or exists (
            select 1
            from {{ this }} as staged
            where staged.source_file = files.source_file
                and staged.record_number is null
                and staged.quarantine_reason is distinct from 'malformed_line'
        )
        {%- endif %}
        order by source_file
    {%- endset -%}
    {%- set files = [] -%}
    {%- for row in run_query(query).rows -%}
        {%- set column_types = {} -%}
        {%- if row[1] != "csv" -%}
            {%- for described in run_query("describe select * from " ~ row[2]).rows -%}
                {%- do column_types.update({described[0]: described[1]}) -%}
            {%- endfor -%}
        {%- endif -%}
        {%- do files.append({
            "source_file": row[0],
            "file_format": row[1],
            "read_expression": row[2],
            "file_signature": row[3],
            "column_map": fromjson(row[4]),
            "column_types": column_types,
        }) -%}
    {%- endfor -%}
    {{ return(files) }}
{% endmacro %}

{#- One select per file, unioned: every raw column as text under its canonical
    name, plus the file. A whole number in a float column of a Parquet file
    (as pandas writes integers with missing values) becomes its integer text.
    record_number and line_number stay NULL here: the post-hook
    xdr_finish_load() sets them from the order the rows were stored in, which
    is the file's order. CSV lines the reader cannot parse go to per-file
    rejects tables (DuckDB store_rejects) that xdr_finish_load() turns into
    quarantined records. -#}
{% macro xdr_read_files(files) %}
    {%- for file in files %}
    select
        {{ dbt.string_literal(file.source_file) }} as source_file,
        {{ dbt.string_literal(file.file_signature) }} as file_signature,
        cast(null as bigint) as record_number,
        cast(null as bigint) as line_number,
        {%- for column in xdr_raw_columns() %}
        {%- set name = file.column_map[column[0]] %}
        {%- if column[2] in ("integer", "percent")
            and file.column_types.get(name) in ("DOUBLE", "FLOAT") %}
        -- a whole float as the integer text the export writes (770.0 -> 770):
        -- much cheaper than formatting the float, then parsing its text
        case
            when {{ adapter.quote(name) }} = floor({{ adapter.quote(name) }})
                and abs({{ adapter.quote(name) }}) < 1e18
                then cast(cast({{ adapter.quote(name) }} as bigint) as varchar)
            else cast({{ adapter.quote(name) }} as varchar)
        end as {{ adapter.quote(column[0]) }}{{ "," if not loop.last }}
        {%- else %}
        cast({{ adapter.quote(name) }} as varchar) as {{ adapter.quote(column[0]) }}{{ "," if not loop.last }}
        {%- endif %}
        {%- endfor %}
    {%- if file.file_format == "csv" %}
    from {{ file.read_expression[:-1] }}, ignore_errors=true, store_rejects=true,
        rejects_table='xdr_rejects_{{ loop.index }}', rejects_scan='xdr_reject_scans_{{ loop.index }}')
    {%- else %}
    from {{ file.read_expression }}
    {%- endif %}
    {{ "union all" if not loop.last }}
    {%- else %}
    select
        cast(null as varchar) as source_file,
        cast(null as varchar) as file_signature,
        cast(null as bigint) as record_number,
        cast(null as bigint) as line_number,
        {%- for column in xdr_raw_columns() %}
        cast(null as varchar) as {{ adapter.quote(column[0]) }}{{ "," if not loop.last }}
        {%- endfor %}
    where false
    {%- endfor %}
{% endmacro %}

{#- Pre-hook of stg_xdr__records on an incremental build: every staged row of
    the files this run reads again (changed or re-delivered under the same
    name, or left unnumbered by an interrupted run) is deleted first, parsed
    and rejected lines alike, so a file is reloaded once and never doubled,
    even when its new version has no parseable record. Files that left the
    input folder keep their rows (int_xdr__records leaves them out). -#}
{% macro xdr_delete_reloaded_files() %}
    {%- if not execute or not is_incremental() -%}
        {{ return("select 1") }}
    {%- endif -%}
    {%- set files = xdr_files_to_load() -%}
    {%- if not files -%}
        {{ return("select 1") }}
    {%- endif -%}
    delete from {{ this }}
    where source_file in (
        {%- for file in files %}
        {{ dbt.string_literal(file.source_file) }}{{ "," if not loop.last }}
        {%- endfor %}
    )
{% endmacro %}

{#- Post-hook of stg_xdr__records, run after the model's transaction committed,
    in one transaction of its own:

    1. every CSV line DuckDB's reader rejected (wrong number of fields, broken
       quoting, invalid UTF-8) becomes one quarantined record with its file,
       line number and the reader's reason (from the per-file rejects tables of
       read_csv's store_rejects);
    2. the records this run inserted (record_number NULL) are numbered 1..n per
       file in row-id order. The insert preserves the reader's order
       (preserve_insertion_order = true in profiles.yml), so a file's rows are
       stored in its line order; numbering them in the read query with
       row_number() over () would force DuckDB to read, cast and write the
       whole file on one thread. Files whose rows are contiguous (always, so
       far) are numbered from their first row id, any other by a window;
    3. line_number = record_number + 1 (header on line 1) for CSV and XLSX,
       plus the rejected lines before the record; NULL for Parquet.

    Updating the rows in the transaction that wrote them would make DuckDB
    rewrite the whole new table at commit, hence after_commit. If the run stops
    before this commits, the rows stay unnumbered and the next run loads those
    files again (xdr_files_to_load). -#}
{% macro xdr_finish_load() %}
    {%- if not execute -%}
        {{ return("select 1") }}
    {%- endif -%}
    {%- set scans = run_query(
        "select table_name from duckdb_tables() where temporary and table_name like 'xdr_reject_scans_%'"
    ).columns[0].values() -%}
    begin transaction;
    {%- for scan_table in scans %}
    {%- set rejects_table = scan_table | replace("xdr_reject_scans_", "xdr_rejects_") %}
    insert into {{ this }} (
        source_file, file_signature, record_number, line_number,
        record_status, quarantine_reason, quarantine_detail, raw_line
    )
    select
        files.source_file,
        files.file_signature,
        null,
        rejects.line,
        'quarantined',
        'malformed_line',
        arg_min(lower(rejects.error_type) || ': ' || rejects.error_message, rejects.column_idx),
        min(rejects.csv_line)
    from {{ rejects_table }} as rejects
    inner join {{ scan_table }} as scans
        on rejects.scan_id = scans.scan_id and rejects.file_id = scans.file_id
    inner join {{ ref('stg_xdr__files') }} as files
        on scans.file_path = files.read_path
    group by files.source_file, files.file_signature, rejects.line;
    drop table {{ rejects_table }};
    drop table {{ scan_table }};
    {%- endfor %}
    create temporary table xdr_new_files as
    select
        staged.source_file,
        any_value(files.file_format in ('csv', 'xlsx')) as has_lines,
        min(staged.rowid) as first_row_id,
        count(*) = max(staged.rowid) - min(staged.rowid) + 1 as is_contiguous
    from {{ this }} as staged
    inner join {{ ref('stg_xdr__files') }} as files
        on staged.source_file = files.source_file
    where staged.record_number is null
        and staged.quarantine_reason is distinct from 'malformed_line'
    group by staged.source_file;
    update {{ this }} as records
    set
        record_number = records.rowid - new_files.first_row_id + 1,
        line_number = case
            when new_files.has_lines then records.rowid - new_files.first_row_id + 2
        end
    from xdr_new_files as new_files
    where records.source_file = new_files.source_file
        and new_files.is_contiguous
        and records.record_number is null
        and records.quarantine_reason is distinct from 'malformed_line';
    update {{ this }} as records
    set
        record_number = numbered.record_number,
        line_number = case when numbered.has_lines then numbered.record_number + 1 end
    from (
        select
            staged.rowid as row_id,
            new_files.has_lines,
            row_number() over (
                partition by staged.source_file order by staged.rowid
            ) as record_number
        from {{ this }} as staged
        inner join xdr_new_files as new_files
            on staged.source_file = new_files.source_file
        where not new_files.is_contiguous
            and staged.record_number is null
            and staged.quarantine_reason is distinct from 'malformed_line'
    ) as numbered
    where records.rowid = numbered.row_id;
    -- Files with rejected lines: the j-th rejected line (in line order) at line
    -- l has l - 1 - j parsed records before it; each one shifts the records
    -- after it one line down.
    create temporary table xdr_rejected_lines as
    select
        source_file,
        line_number - 1 - row_number() over (
            partition by source_file order by line_number
        ) as parsed_before
    from {{ this }}
    where quarantine_reason = 'malformed_line'
        and source_file in (select source_file from xdr_new_files where has_lines);
    update {{ this }} as records
    set line_number = records.record_number + 1 + (
        select count(*)
        from xdr_rejected_lines as rejected
        where rejected.source_file = records.source_file
            and rejected.parsed_before < records.record_number
    )
    where records.source_file in (select source_file from xdr_rejected_lines)
        and records.quarantine_reason is distinct from 'malformed_line';
    drop table xdr_new_files;
    drop table xdr_rejected_lines;
    commit
{% endmacro %}
