"""The design library: rank events, model constraints, variants and their versioned YAML store."""
