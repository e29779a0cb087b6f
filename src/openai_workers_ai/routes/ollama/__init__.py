"""The Ollama API (``/api/*``, also under ``/llm/ollama``): one module per resource."""
