{#- The 55 raw columns of the xDR export: [name in the file, staging name, kind].
    Kinds: id_decimal, integer, percent, timestamp, text.
    python/xdr_warehouse/columns.py holds the same list for the Python side;
    tests/python/test_columns.py checks that the two agree. -#}
{% macro xdr_raw_columns() %}
    {{ return([
        ["Bearer Id", "bearer_id", "id_decimal"],
        ["Start", "started_at", "timestamp"],
        ["Start ms", "start_ms_offset", "integer"],
        ["End", "ended_at", "timestamp"],
        ["End ms", "end_ms_offset", "integer"],
        ["Dur. (ms)", "duration_s", "integer"],
        ["IMSI", "imsi", "integer"],
        ["MSISDN/Number", "msisdn", "integer"],
        ["IMEI", "imei", "integer"],
        ["Last Location Name", "last_location_name", "text"],
        ["Avg RTT DL (ms)", "avg_rtt_dl_ms", "integer"],
        ["Avg RTT UL (ms)", "avg_rtt_ul_ms", "integer"],
        ["Avg Bearer TP DL (kbps)", "avg_bearer_tp_dl_kbps", "integer"],
        ["Avg Bearer TP UL (kbps)", "avg_bearer_tp_ul_kbps", "integer"],
        ["TCP DL Retrans. Vol (Bytes)", "tcp_dl_retrans_bytes", "integer"],
        ["TCP UL Retrans. Vol (Bytes)", "tcp_ul_retrans_bytes", "integer"],
        ["DL TP < 50 Kbps (%)", "dl_tp_lt_50_kbps_pct", "percent"],
        ["50 Kbps < DL TP < 250 Kbps (%)", "dl_tp_50_250_kbps_pct", "percent"],
        ["250 Kbps < DL TP < 1 Mbps (%)", "dl_tp_250_1000_kbps_pct", "percent"],
        ["DL TP > 1 Mbps (%)", "dl_tp_gt_1_mbps_pct", "percent"],
        ["UL TP < 10 Kbps (%)", "ul_tp_lt_10_kbps_pct", "percent"],
        ["10 Kbps < UL TP < 50 Kbps (%)", "ul_tp_10_50_kbps_pct", "percent"],
        ["50 Kbps < UL TP < 300 Kbps (%)", "ul_tp_50_300_kbps_pct", "percent"],
        ["UL TP > 300 Kbps (%)", "ul_tp_gt_300_kbps_pct", "percent"],
        ["HTTP DL (Bytes)", "http_dl_bytes", "integer"],
        ["HTTP UL (Bytes)", "http_ul_bytes", "integer"],
        ["Activity Duration DL (ms)", "activity_duration_dl_ms", "integer"],
        ["Activity Duration UL (ms)", "activity_duration_ul_ms", "integer"],
        ["Dur. (ms).1", "duration_ms", "integer"],
        ["Handset Manufacturer", "handset_manufacturer", "text"],
        ["Handset Type", "handset_type", "text"],
        ["Nb of sec with 125000B < Vol DL", "secs_dl_gt_125000b", "integer"],
        ["Nb of sec with 1250B < Vol UL < 6250B", "secs_ul_1250_6250b", "integer"],
        ["Nb of sec with 31250B < Vol DL < 125000B", "secs_dl_31250_125000b", "integer"],
        ["Nb of sec with 37500B < Vol UL", "secs_ul_gt_37500b", "integer"],
        ["Nb of sec with 6250B < Vol DL < 31250B", "secs_dl_6250_31250b", "integer"],
        ["Nb of sec with 6250B < Vol UL < 37500B", "secs_ul_6250_37500b", "integer"],
        ["Nb of sec with Vol DL < 6250B", "secs_dl_lt_6250b", "integer"],
        ["Nb of sec with Vol UL < 1250B", "secs_ul_lt_1250b", "integer"],
        ["Social Media DL (Bytes)", "social_media_dl_bytes", "integer"],
        ["Social Media UL (Bytes)", "social_media_ul_bytes", "integer"],
        ["Google DL (Bytes)", "google_dl_bytes", "integer"],
        ["Google UL (Bytes)", "google_ul_bytes", "integer"],
        ["Email DL (Bytes)", "email_dl_bytes", "integer"],
        ["Email UL (Bytes)", "email_ul_bytes", "integer"],
        ["Youtube DL (Bytes)", "youtube_dl_bytes", "integer"],
        ["Youtube UL (Bytes)", "youtube_ul_bytes", "integer"],
        ["Netflix DL (Bytes)", "netflix_dl_bytes", "integer"],
        ["Netflix UL (Bytes)", "netflix_ul_bytes", "integer"],
        ["Gaming DL (Bytes)", "gaming_dl_bytes", "integer"],
        ["Gaming UL (Bytes)", "gaming_ul_bytes", "integer"],
        ["Other DL (Bytes)", "other_dl_bytes", "integer"],
        ["Other UL (Bytes)", "other_ul_bytes", "integer"],
        ["Total UL (Bytes)", "total_ul_bytes", "integer"],
        ["Total DL (Bytes)", "total_dl_bytes", "integer"]
    ]) }}
{% endmacro %}

{#- The application columns, as [application_key, DL staging column, UL staging column].
    Keys and names agree with seeds/applications.csv (tested). -#}
{% macro xdr_application_columns() %}
    {{ return([
        ["social_media", "social_media_dl_bytes", "social_media_ul_bytes"],
        ["google", "google_dl_bytes", "google_ul_bytes"],
        ["email", "email_dl_bytes", "email_ul_bytes"],
        ["youtube", "youtube_dl_bytes", "youtube_ul_bytes"],
        ["netflix", "netflix_dl_bytes", "netflix_ul_bytes"],
        ["gaming", "gaming_dl_bytes", "gaming_ul_bytes"],
        ["other", "other_dl_bytes", "other_ul_bytes"]
    ]) }}
{% endmacro %}

{#- The application columns the export's totals add up: `Total DL (Bytes)` leaves
    out Other DL, `Total UL (Bytes)` includes Other UL (a warning test checks both on
    every session). -#}
{% macro xdr_total_dl_parts() %}
    {%- set parts = [] %}
    {%- for app in xdr_application_columns() if app[0] != "other" %}
        {%- do parts.append(app[1]) %}
    {%- endfor %}
    {{ return(parts) }}
{% endmacro %}

{% macro xdr_total_ul_parts() %}
    {{ return(xdr_application_columns() | map(attribute=2) | list) }}
{% endmacro %}

{#- The quarantine reasons in the order the checks apply (a record gets the
    first that fits). Descriptions live in seeds/quarantine_reasons.csv; the
    keys of the two agree (tested). -#}
{% macro xdr_quarantine_reasons() %}
    {{ return([
        "malformed_line", "summary_row", "invalid_value", "missing_value",
        "negative_value", "percent_out_of_range", "end_before_start", "duplicate_record"
    ]) }}
{% endmacro %}

{#- The engagement metrics, as [metric, customer_engagement column]; labels and
    units in seeds/engagement_metrics.csv (keys tested to agree). -#}
{% macro xdr_engagement_metrics() %}
    {{ return([
        ["sessions", "session_count"],
        ["duration_ms", "total_duration_ms"],
        ["traffic_bytes", "total_traffic_bytes"]
    ]) }}
{% endmacro %}

{#- Unpivot the seven applications' (DL, UL) column pairs of `relation` into
    rows of (application_key, dl_bytes, ul_bytes) plus the `keep` columns: one
    select per application, the same on every engine. -#}
{% macro xdr_unpivot_applications(relation, keep) %}
    {%- for app in xdr_application_columns() %}
    select
        {%- for column in keep %}
        {{ column }},
        {%- endfor %}
        {{ xdr_string_literal(app[0]) }} as application_key,
        {{ app[1] }} as dl_bytes,
        {{ app[2] }} as ul_bytes
    from {{ relation }}
    {{ "union all" if not loop.last }}
    {%- endfor %}
{% endmacro %}

{#- A vocabulary macro by name (for tests that compare it with its seed). -#}
{% macro xdr_vocabulary(name) %}
    {%- if name == "xdr_application_columns" -%}
        {{ return(xdr_application_columns()) }}
    {%- elif name == "xdr_quarantine_reasons" -%}
        {{ return(xdr_quarantine_reasons()) }}
    {%- elif name == "xdr_engagement_metrics" -%}
        {{ return(xdr_engagement_metrics()) }}
    {%- endif -%}
    {{ exceptions.raise_compiler_error("unknown vocabulary macro " ~ name) }}
{% endmacro %}
