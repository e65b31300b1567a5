"""SLA attainment reports (issue 14)."""
