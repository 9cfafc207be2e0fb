"""What every layer of fupin shares: errors with row problems, cell parsing, tabular reading,
terminal tables, atomic files and run folders, numbers and rounding. Imports nothing of fupin."""
