"""Rendering: reports and plans as text (and JSON/YAML). Pure: strings in, strings out.

``report`` renders explain's results (``FORMATS`` maps each ``-o`` value to a
function); ``plan`` renders fix plans, diffs and what the engine did.
"""
