"""/memberadd/0.2: the member add of /memberadd/0.1, with the refusal's reason carried back.

/memberadd/0.1 (the Go original's) answers the initial-cluster string, or resets
the stream on refusal, which tells the newcomer nothing. /memberadd/0.2 takes the
same request and always answers a JSON ``MemberAddAnswer``.
"""

from __future__ import annotations

import msgspec

MEMBER_ADD_WITH_REASON = "/memberadd/0.2"


class MemberAddAnswer(
    msgspec.Struct, rename="pascal", forbid_unknown_fields=False, omit_defaults=True
):
    """Exactly one field is set: ``InitialCluster`` on success, ``Error`` on refusal."""

    initial_cluster: str = ""
    error: str = ""
