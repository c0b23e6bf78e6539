"""Pulumi policy pack of airflow-platform: rules in `policy.rules`, assembled by `__main__.py`.

Run with `pulumi preview --policy-pack policy`. Tests import `policy.rules` only: building the
pack starts a gRPC server that never returns.
"""
