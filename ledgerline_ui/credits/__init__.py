"""Service credits and credit notes: forms, requests and the approver's review."""
