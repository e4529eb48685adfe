"""`python -m accelmap` runs the command line."""
from accelmap.cli import main_entry

main_entry()
