"""etcd 3.4's Cluster service with learners, which cslab-etcd3's protobufs predate.

cslab-etcd3 was generated from etcd 3.3's rpc.proto: its Member has no
``isLearner`` and its Cluster service no ``MemberPromote``. We declare just
the messages we need, field numbers as in etcd 3.4's ``etcdserverpb/rpc.proto``,
and call the RPCs by their method paths on the same gRPC channel. Protobuf
matches fields by number, so these decode etcd's answers exactly.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
_PACKAGE = "physarum.etcdcluster"

# name -> [(field name, number, type, repeated, message type name)]
_MESSAGES: dict[str, list[tuple[str, int, int, bool, str]]] = {
    "ResponseHeader": [
        ("cluster_id", 1, _F.TYPE_UINT64, False, ""),
        ("member_id", 2, _F.TYPE_UINT64, False, ""),
        ("revision", 3, _F.TYPE_INT64, False, ""),
        ("raft_term", 4, _F.TYPE_UINT64, False, ""),
    ],
    "Member": [
        ("ID", 1, _F.TYPE_UINT64, False, ""),
        ("name", 2, _F.TYPE_STRING, False, ""),
        ("peerURLs", 3, _F.TYPE_STRING, True, ""),
        ("clientURLs", 4, _F.TYPE_STRING, True, ""),
        ("isLearner", 5, _F.TYPE_BOOL, False, ""),
    ],
    "MemberAddRequest": [
        ("peerURLs", 1, _F.TYPE_STRING, True, ""),
        ("isLearner", 2, _F.TYPE_BOOL, False, ""),
    ],
    "MemberAddResponse": [
        ("header", 1, _F.TYPE_MESSAGE, False, "ResponseHeader"),
        ("member", 2, _F.TYPE_MESSAGE, False, "Member"),
        ("members", 3, _F.TYPE_MESSAGE, True, "Member"),
    ],
    "MemberRemoveRequest": [("ID", 1, _F.TYPE_UINT64, False, "")],
    "MemberPromoteRequest": [("ID", 1, _F.TYPE_UINT64, False, "")],
    "MemberUpdateRequest": [
        ("ID", 1, _F.TYPE_UINT64, False, ""),
        ("peerURLs", 2, _F.TYPE_STRING, True, ""),
    ],
    "MemberListRequest": [],
    # MemberRemove/Promote/Update/List responses share this shape.
    "MembersResponse": [
        ("header", 1, _F.TYPE_MESSAGE, False, "ResponseHeader"),
        ("members", 2, _F.TYPE_MESSAGE, True, "Member"),
    ],
}


def _build() -> dict[str, Any]:
    file = descriptor_pb2.FileDescriptorProto(
        name="physarum_etcd_cluster.proto", package=_PACKAGE, syntax="proto3"
    )
    for name, fields in _MESSAGES.items():
        message = file.message_type.add(name=name)
        for field_name, number, kind, repeated, type_name in fields:
            field = message.field.add(
                name=field_name,
                number=number,
                type=kind,
                label=_F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL,
            )
            if type_name:  # (an empty type_name would still count as set)
                field.type_name = f".{_PACKAGE}.{type_name}"
    # A private pool: nothing else in the process can clash with these names.
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.{name}"))
        for name in _MESSAGES
    }


messages = _build()
MemberAddRequest = messages["MemberAddRequest"]
MemberRemoveRequest = messages["MemberRemoveRequest"]
MemberPromoteRequest = messages["MemberPromoteRequest"]
MemberListRequest = messages["MemberListRequest"]
MemberUpdateRequest = messages["MemberUpdateRequest"]


class ClusterStub:
    """The five Cluster RPCs of etcd >= 3.4, usable with ``EtcdConnection.call``."""

    def __init__(self, channel: grpc.Channel) -> None:
        def rpc(method: str, request: str, response: str) -> Any:
            return channel.unary_unary(
                f"/etcdserverpb.Cluster/{method}",
                request_serializer=messages[request].SerializeToString,
                response_deserializer=messages[response].FromString,
            )

        self.MemberAdd = rpc("MemberAdd", "MemberAddRequest", "MemberAddResponse")
        self.MemberRemove = rpc("MemberRemove", "MemberRemoveRequest", "MembersResponse")
        self.MemberPromote = rpc("MemberPromote", "MemberPromoteRequest", "MembersResponse")
        self.MemberUpdate = rpc("MemberUpdate", "MemberUpdateRequest", "MembersResponse")
        self.MemberList = rpc("MemberList", "MemberListRequest", "MembersResponse")
