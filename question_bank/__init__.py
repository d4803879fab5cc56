"""The course question bank as data: YAML item files, Markdown notes, and a Flask-free loader/validator."""

from question_bank.load import BANK_DIR, Bank, BankError, load_bank, load_notes, load_topics

__all__ = ["BANK_DIR", "Bank", "BankError", "load_bank", "load_notes", "load_topics"]
