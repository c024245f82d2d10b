"""When the cluster model is fitted again, and when the stored one labels new customers.

Daily loads change a few percent of the customers. Refitting k-means every day
would move every customer's label a little for no reason, and cost a fit. The
rule (``engagement_cluster_model`` applies it on every build):

- fit when there is no model yet, on ``--full-refresh``, or when a setting that
  shapes the model changed (k, scaler, seed, n_init, max_iter, fit sample size);
- fit when the customers this build touches are more than
  ``cluster_refit_share`` (default 5 %) of all customers;
- otherwise keep the stored model: ``customer_clusters`` labels the new and
  changed customers with its scaler and centroids, and every other customer
  keeps its label. Each row of ``customer_clusters`` names the model that
  labelled it; a new model relabels every customer.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from xdr_warehouse.clustering.settings import ClusterSettings

#: Model table columns that hold a setting, and the setting's field.
SETTING_COLUMNS = {
    "k": "k",
    "scaler": "scaler",
    "seed": "seed",
    "n_init": "n_init",
    "max_iter": "max_iter",
    "fit_sample_size": "fit_sample_size",
}


@dataclass(frozen=True)
class RefitDecision:
    """Whether to fit a new model, and why (stored with the model)."""

    refit: bool
    reason: str


def refit_decision(
    current: pa.Table | None,
    settings: ClusterSettings,
    changed_customers: int,
    customers: int,
    refit_share: float,
) -> RefitDecision:
    """Apply the rule above to the current model (its rows, or None when there is none)."""
    if current is None or current.num_rows == 0:
        return RefitDecision(True, "first fit")
    row = current.slice(0, 1).to_pylist()[0]
    for column, field in SETTING_COLUMNS.items():
        if column in row and row[column] != getattr(settings, field):
            return RefitDecision(True, f"setting {column} changed")
    share = changed_customers / customers if customers else 0.0
    if share > refit_share:
        return RefitDecision(
            True, f"{share:.1%} of the customers changed (more than {refit_share:.1%})"
        )
    return RefitDecision(False, f"{share:.1%} of the customers changed (at most {refit_share:.1%})")
