"""Recipes: each takes a file to a trained, evaluated, saved model (`run(...)` and a CLI)."""
