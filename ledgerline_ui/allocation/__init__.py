"""Cost allocation: the split, its charts, trend and weights files."""
