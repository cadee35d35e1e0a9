"""Renderers: each reads a result document and renders it; none computes statistics."""
