"""`python -m simulation.cli`: the alertsim command without its console script."""

from simulation.cli import main

main()
