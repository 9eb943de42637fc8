"""Readers, vocabularies, input pipelines and the embedded sample datasets."""

from seqrecipes.datasets._samples import sample_names, sample_path
from seqrecipes.datasets.conll import TaggedSentences, load_conll
from seqrecipes.datasets.tabular import LabelledTexts, load_table
from seqrecipes.datasets.text import load_series, load_text, split_text
