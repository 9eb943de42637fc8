"""Readers, vocabularies, input pipelines and the embedded sample datasets."""
