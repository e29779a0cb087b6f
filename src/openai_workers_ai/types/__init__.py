"""Pydantic models, one per API object, named as the API names them."""
