"""Research harnesses: benchmarks over public data and the simulated teacher. Not part of the product:
they import the engine like any user, and nothing here ships in the wheel."""
