"""Content safety: detection (banks, the PDQ index, hashing, text rules, classifiers, the scanner)."""
