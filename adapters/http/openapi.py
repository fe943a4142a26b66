"""The OpenAPI 3 document served at ``/v1/openapi.json`` (docs/http.md is the prose)."""

from __future__ import annotations

from typing import Any

_JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{name}"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {_JSON: {"schema": _ref("schemas/Error")}}}


_INDEX_HEADER = {"X-Registry-Index": _ref("headers/Index")}
_READ_HEADERS = {**_INDEX_HEADER, "X-Registry-Stale": _ref("headers/Stale")}
_AUTH_ERRORS = {"401": _ref("responses/Unauthorized"), "403": _ref("responses/Forbidden")}
_BLOCKING = [_ref("parameters/Index"), _ref("parameters/Wait")]
_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"},
         "description": "The service name (1 to 256 bytes of UTF-8, no control characters)."}
_CAS = {"name": "cas", "in": "query", "required": False,
        "schema": {"type": "integer", "minimum": 0},
        "description": "Write only if the record is at this revision; 0: only if absent."}
_WRITTEN = {
    "description": "Written; the new revision",
    "headers": _INDEX_HEADER,
    "content": {_JSON: {"schema": _ref("schemas/Written")}},
}
_WRITE_ERRORS = {
    "400": _error("The name or the record breaks the record rules (the message names the field)"),
    **_AUTH_ERRORS,
    "409": {"description": "The cas condition failed; Revision is the record's current one",
            "content": {_JSON: {"schema": _ref("schemas/Conflict")}}},
    "503": _error("No quorum: nothing was written"),
}

OPENAPI_DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "physarum-registry HTTP API",
        "version": "1",
        "description": "The registry's records, writes, change events, status and health. "
                       "See docs/http.md.",
    },
    "paths": {
        "/v1/services": {"get": {
            "summary": "Every record (or those whose name starts with prefix), keyed by name",
            "parameters": [
                {"name": "prefix", "in": "query", "required": False,
                 "schema": {"type": "string"}},
                *_BLOCKING,
            ],
            "responses": {
                "200": {"description": "name -> record in the Go JSON shape",
                        "headers": {**_READ_HEADERS,
                                    "X-Registry-Unreadable": {
                                        "description": "Names of stored records that are not "
                                                       "JSON objects, left out",
                                        "schema": {"type": "string"}}},
                        "content": {_JSON: {"schema": {
                            "type": "object",
                            "additionalProperties": _ref("schemas/ServiceInfo")}}}},
                "400": _error("A bad query parameter"),
                **_AUTH_ERRORS,
                "503": _error("The registry cannot answer now"),
            },
        }},
        "/v1/services/{name}": {
            "parameters": [_NAME],
            "get": {
                "summary": "One record",
                "parameters": [
                    *_BLOCKING,
                    {"name": "If-None-Match", "in": "header", "required": False,
                     "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": {"description": "The record in the Go JSON shape",
                            "headers": {**_READ_HEADERS,
                                        "X-Registry-Revision": _ref("headers/Revision"),
                                        "ETag": {"schema": {"type": "string"},
                                                 "description": "The revision, quoted"}},
                            "content": {_JSON: {"schema": _ref("schemas/ServiceInfo")}}},
                    "304": {"description": "Not modified (If-None-Match)"},
                    "400": _error("A bad name or query parameter"),
                    **_AUTH_ERRORS,
                    "404": _error("No such service"),
                    "422": _error("The stored record is not a JSON object"),
                    "503": _error("The registry cannot answer now"),
                },
            },
            "put": {
                "summary": "Store a record (needs a write token)",
                "security": [{"bearer": []}],
                "parameters": [_CAS],
                "requestBody": {"required": True, "content": {
                    _JSON: {"schema": _ref("schemas/ServiceInfo")}}},
                "responses": {
                    "200": _WRITTEN, **_WRITE_ERRORS,
                    "408": _error("The body did not arrive in time"),
                    "413": _error("The body is over 1 MiB"),
                },
            },
            "delete": {
                "summary": "Remove a record (needs a write token)",
                "security": [{"bearer": []}],
                "parameters": [_CAS],
                "responses": {"200": _WRITTEN, **_WRITE_ERRORS},
            },
        },
        "/v1/events": {"get": {
            "summary": "Server-Sent Events of the /watch/0.1 feed",
            "parameters": [
                {"name": "prefix", "in": "query", "required": False,
                 "schema": {"type": "string"}},
                {"name": "names", "in": "query", "required": False,
                 "schema": {"type": "string"}, "description": "Comma-separated names"},
                {"name": "Last-Event-ID", "in": "header", "required": False,
                 "schema": {"type": "integer", "minimum": 0},
                 "description": "Resume after this revision"},
                {"name": "index", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 0},
                 "description": "As Last-Event-ID, for clients that cannot set headers"},
            ],
            "responses": {
                "200": {"description": "event: PUT|DELETE|SYNCED|RESET|PROGRESS|ERROR; "
                                       "id: revision; data: the /watch/0.1 JSON object",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                "400": _error("A bad name or revision"),
                **_AUTH_ERRORS,
                "503": _error("This instance cannot follow changes now; try another"),
            },
        }},
        "/v1/status": {"get": {
            "summary": "This instance and its cluster (registry-service status --json)",
            "responses": {
                "200": {"description": "The status", "headers": _INDEX_HEADER,
                        "content": {_JSON: {"schema": {"type": "object"}}}},
                **_AUTH_ERRORS,
                "503": _error("This instance's etcd member does not answer"),
            },
        }},
        "/v1/health": {"get": {
            "summary": "For load balancers: 200 with quorum, 503 without",
            "parameters": [{"name": "stale", "in": "query", "required": False,
                            "allowEmptyValue": True, "schema": {"type": "string"},
                            "description": "Also answer 200 when serving stale reads"}],
            "responses": {
                "200": {"description": "Serving", "headers": _READ_HEADERS,
                        "content": {_JSON: {"schema": _ref("schemas/Health")}}},
                "503": {"description": "No quorum (Status stale: still serving stale reads) "
                                       "or not serving (Status unavailable)",
                        "headers": _READ_HEADERS,
                        "content": {_JSON: {"schema": _ref("schemas/Health")}}},
            },
        }},
        "/v1/prometheus/targets": {"get": {
            "summary": "Every instance's metrics address, in Prometheus http_sd_config format",
            "responses": {
                "200": {"description": "Target groups",
                        "content": {_JSON: {"schema": {
                            "type": "array", "items": _ref("schemas/TargetGroup")}}}},
                **_AUTH_ERRORS,
            },
        }},
        "/v1/openapi.json": {"get": {
            "summary": "This document",
            "responses": {"200": {"description": "OpenAPI 3",
                                  "content": {_JSON: {"schema": {"type": "object"}}}}},
        }},
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "parameters": {
            "Index": {"name": "index", "in": "query", "required": False,
                      "schema": {"type": "integer", "minimum": 0},
                      "description": "Blocking query: answer once a matching change passes "
                                     "this revision, or when wait ends"},
            "Wait": {"name": "wait", "in": "query", "required": False,
                     "schema": {"type": "string", "example": "30s"},
                     "description": "Longest wait of a blocking query (default 5m, max 10m)"},
        },
        "headers": {
            "Index": {"description": "The registry revision the answer reflects",
                      "schema": {"type": "integer"}},
            "Stale": {"description": "true: answered from this member's own copy without "
                                     "quorum (it may miss recent writes)",
                      "schema": {"type": "string", "enum": ["true"]}},
            "Revision": {"description": "The record's own revision",
                         "schema": {"type": "integer"}},
        },
        "responses": {
            "Unauthorized": _error("No valid bearer token (WWW-Authenticate: Bearer)"),
            "Forbidden": _error("The token's role does not allow this"),
        },
        "schemas": {
            "Error": {"type": "object", "required": ["Error"],
                      "properties": {"Error": {"type": "string"}}},
            "Conflict": {"type": "object", "required": ["Error", "Revision"],
                         "properties": {"Error": {"type": "string"},
                                        "Revision": {"type": "integer"}}},
            "Written": {"type": "object", "required": ["Revision"],
                        "properties": {"Revision": {"type": "integer"},
                                       "Deleted": {"type": "integer",
                                                   "description": "DELETE: 0 or 1"}}},
            "Health": {"type": "object", "required": ["Status"],
                       "properties": {"Status": {"type": "string",
                                                 "enum": ["ok", "stale", "unavailable"]}}},
            "TargetGroup": {"type": "object", "required": ["targets", "labels"],
                            "properties": {
                                "targets": {"type": "array", "items": {"type": "string"}},
                                "labels": {"type": "object",
                                           "additionalProperties": {"type": "string"}}}},
            "ServiceInfo": {
                "type": "object",
                "description": "The Go original's ServiceInfo; RTTs in nanoseconds. Unknown "
                               "fields are kept.",
                "properties": {
                    "ContentHash": {"type": "string"},
                    "DockerHash": {"type": "string"},
                    "NetworkSoftReq": _ref("schemas/PerfInd"),
                    "NetworkHardReq": _ref("schemas/PerfInd"),
                    "CpuReq": {"type": "integer"},
                    "MemoryReq": {"type": "integer"},
                },
                "additionalProperties": True,
            },
            "PerfInd": {"type": "object", "additionalProperties": True,
                        "properties": {"RTT": {"type": "integer",
                                               "description": "nanoseconds"}}},
        },
    },
}
