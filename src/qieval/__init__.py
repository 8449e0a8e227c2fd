"""qieval: a reproducible evaluation workbook for healthcare quality-improvement projects."""

__version__ = "0.1.0"
