-- The customers the cluster model is fitted on: every customer up to
-- var('cluster_fit_sample_size'), above that a uniform sample of about that
-- many, drawn by the MD5 of seed and MSISDN (xdr_sample_key), so every engine
-- draws the same customers. Small enough for one machine's memory.

{{ xdr_customer_sample(var('cluster_fit_sample_size')) }}
