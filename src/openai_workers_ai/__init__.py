"""The OpenAI and Ollama APIs over Workers AI: the runtime-neutral core (composed by :func:`.app.create_app`)."""
