"""Tenants, plans and disputes: the billing changes and a tenant's story."""
