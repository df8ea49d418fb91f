"""One thin Typer sub-app per command group: parse, call the library, render."""
