"""The endpoints under /v1, one module per resource; each is a thin call through `api.door`."""
