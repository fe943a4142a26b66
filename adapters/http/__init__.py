"""The registry's HTTP API (docs/http.md): Starlette routes served by Hypercorn on trio."""
