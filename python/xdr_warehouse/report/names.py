"""The report's file names (light: ``xdr run`` checks them without loading the report)."""

REPORT_FILE = "engagement_report.html"
NO_DATA_FILE = "engagement_report_no_data.html"
