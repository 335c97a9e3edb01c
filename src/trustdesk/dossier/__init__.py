"""Responsiveness dossiers: for an agency or a country and a period, every request received and how it was
answered, each line proven against one signed head of the transparency log (docs/dossier.md)."""
