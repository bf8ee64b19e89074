"""Text and tables: formatting, money columns, plain text, CSV exports."""
