"""How each group's results look to a person: Rich tables and lines, one module per group.

Commands hand a result to these functions through ``Output.emit``; JSON output never passes through here.
"""
