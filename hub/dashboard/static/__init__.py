"""The dashboard's script and style sheet, served at /barometre/static (a package so that they ship with the wheel)."""
