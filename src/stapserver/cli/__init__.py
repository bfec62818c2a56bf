"""The command-line layer: argument parsing and printing, over the library."""
