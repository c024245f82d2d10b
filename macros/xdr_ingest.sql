{#- Reading the input files listed by stg_xdr__files (see python/xdr_warehouse/ingest.py). -#}

{#- The files this run must read: all of them on a full build; on an incremental
    build only files whose (path, size:mtime signature) is not loaded yet. A file
    changed under the same name gets a new signature: its old rows are deleted
    (unique_key source_file) and it is read again once. -#}
{% macro xdr_files_to_load() %}
    {%- set files_relation = ref('stg_xdr__files') -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set query -%}
        select source_file, file_format, read_expression, file_signature, column_map
        from {{ files_relation }}
        {%- if is_incremental() %}
        where (source_file, file_signature) not in (
            select distinct source_file, file_signature from {{ this }}
        )
        {%- endif %}
        order by source_file
    {%- endset -%}
    {%- set files = [] -%}
    {%- for row in run_query(query).rows -%}
        {%- do files.append({
            "source_file": row[0],
            "file_format": row[1],
            "read_expression": row[2],
            "file_signature": row[3],
            "column_map": fromjson(row[4]),
        }) -%}
    {%- endfor -%}
    {{ return(files) }}
{% endmacro %}

{#- One select per file, unioned: every raw column as text under its canonical
    name, plus the file and the record's position among the file's parsed
    records. CSV lines the reader cannot parse go to per-file rejects tables
    (DuckDB store_rejects) that xdr_insert_rejected_lines() turns into
    quarantined records. -#}
{% macro xdr_read_files(files) %}
    {%- for file in files %}
    select
        {{ dbt.string_literal(file.source_file) }} as source_file,
        {{ dbt.string_literal(file.file_signature) }} as file_signature,
        cast(row_number() over () as bigint) as record_number,
        {%- if file.file_format in ("csv", "xlsx") %}
        -- header on line 1; corrected below for files with rejected lines
        cast(row_number() over () + 1 as bigint) as line_number,
        {%- else %}
        cast(null as bigint) as line_number,
        {%- endif %}
        {%- for column in xdr_raw_columns() %}
        cast({{ adapter.quote(file.column_map[column[0]]) }} as varchar) as {{ adapter.quote(column[0]) }}{{ "," if not loop.last }}
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

{#- Post-hook of stg_xdr__records: every CSV line DuckDB's reader rejected
    (wrong number of fields, broken quoting, invalid UTF-8) becomes one
    quarantined record with its file, line number and the reader's reason. -#}
{% macro xdr_insert_rejected_lines() %}
    {%- if not execute -%}
        {{ return("select 1") }}
    {%- endif -%}
    {%- set scans = run_query(
        "select table_name from duckdb_tables() where temporary and table_name like 'xdr_reject_scans_%'"
    ).columns[0].values() -%}
    {%- set statements = [] -%}
    {%- for scan_table in scans -%}
        {%- set rejects_table = scan_table | replace("xdr_reject_scans_", "xdr_rejects_") -%}
        {%- set statement -%}
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
        -- Parsed records after a rejected line sit further down the file: the
        -- j-th rejected line (in line order) at line l has l - 1 - j parsed
        -- records before it.
        update {{ this }} as records
        set line_number = records.record_number + 1 + (
            select count(*)
            from (
                select
                    line,
                    row_number() over (order by line) as rejected_before
                from (select distinct line from {{ rejects_table }})
            ) as rejected
            where rejected.line - 1 - rejected.rejected_before < records.record_number
        )
        where records.record_number is not null
            and records.source_file in (
                select files.source_file
                from {{ scan_table }} as scans
                inner join {{ ref('stg_xdr__files') }} as files
                    on scans.file_path = files.read_path
            );
        drop table {{ rejects_table }};
        drop table {{ scan_table }}
        {%- endset -%}
        {%- do statements.append(statement) -%}
    {%- endfor -%}
    {{ return(statements | join(";\n") if statements else "select 1") }}
{% endmacro %}
