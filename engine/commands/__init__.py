"""The CLI's commands beyond evaluate / explain / serve, one module per concern; cli.py registers them.

Same layer as the CLI (rank 7): may import everything; nothing but cli.py imports it."""
