"""The commands a user runs through `make`: each a script (`python commands/stack.py up`,
...), with the modules they share."""
