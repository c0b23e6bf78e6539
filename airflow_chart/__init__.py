"""Facts about the official Airflow chart and the values we give it (pure: no Pulumi resources).

`chart` holds the chart's coordinates and the ports other wiring relies on; `shape` the topology of
one release (which workloads exist, what the chart names its objects); `values` the Helm values
as a pure function of the stack config and the resolved wiring.
"""
