"""One module per API resource; ``app.py`` holds the route table."""
