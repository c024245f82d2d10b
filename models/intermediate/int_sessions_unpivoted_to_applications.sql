-- One row per (session, application): that application's DL, UL and DL + UL.

with

sessions as (
    select * from {{ ref('int_sessions_deduplicated') }}
),

unpivoted as (
    {{ xdr_unpivot_applications('sessions', ['session_id', 'msisdn', 'is_unattributed']) }}
),

final as (
    select
        session_id,
        msisdn,
        is_unattributed,
        application_key,
        dl_bytes,
        ul_bytes,
        dl_bytes + ul_bytes as total_bytes
    from unpivoted
)

select * from final
