"""Endpoints: the description grammar, stream and process endpoints, the table of kinds."""
