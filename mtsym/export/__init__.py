"""Exports of a piece table: LaTeX, JSON, notebook displays and plots."""

__all__ = []
