"""Connectors to systems we do not own: ERPs, the LLM, directories. One module each."""
