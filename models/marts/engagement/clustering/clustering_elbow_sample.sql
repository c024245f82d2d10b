-- The customers the elbow curve is fitted on: about var('elbow_sample_size')
-- customers drawn like the fit sample (all of them when there are fewer).

{{ xdr_customer_sample(var('elbow_sample_size')) }}
