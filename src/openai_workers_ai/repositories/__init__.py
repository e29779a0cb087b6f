"""Data access: one small module per stored resource, plain parameterised SQL."""
