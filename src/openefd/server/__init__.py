"""The HTTP server: the InfluxDB 1.x-compatible API, openefd's native API, tokens.

Layout::

    state.py        ServerState: the open store, settings, token book (one per app)
    deps.py         FastAPI dependencies: the state, the caller's scopes
    app.py          create_app(): routes, limits, access log
    influx_*.py     /query, /write, /ping, /health (InfluxDB 1.x shapes)
    native_api.py   /api/v1/... (JSON and Arrow IPC) for openefd's HTTP client
    tokens.py       hashed tokens with scopes read / write / admin
"""
