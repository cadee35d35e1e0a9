"""Production monitoring: SLO rules for Prometheus, the synthetic monitor and its exporter."""
