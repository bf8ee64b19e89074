"""Finance's back office: month end, reconciliation and the audit log."""
