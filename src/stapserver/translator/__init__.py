"""The SystemTap translator: lexer, parser (pass 1), semantic pass (pass 2) and the
Python code generator (pass 3)."""
