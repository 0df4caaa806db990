"""Templates of the barometer dashboard (a package so that they ship with the wheel)."""
