"""Pure translation between the OpenAI / Ollama APIs and Workers AI (no I/O)."""
