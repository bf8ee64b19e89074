"""Forms: field errors, upload limits, idempotent submits."""
