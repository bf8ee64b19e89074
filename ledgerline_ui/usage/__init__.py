"""Usage: imports, late usage and the daily chart."""
