"""Backbone weights: the hub and its cache, and reading a weights file's architecture."""
