"""Capacity model of the metadata DB: RDS instance-class facts and the connection budget (pure arithmetic)."""
